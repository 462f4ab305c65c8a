//! `--markdown`: the HTML part rendered with inline styles, the text part the Markdown itself,
//! raw HTML escaped unless allowed, the local images it shows attached inline (and only those
//! inside its folder, of an image type), from a file or from stdin. The rendering of the fixed
//! report is compared in full in `golden::markdown_report_renders_as_committed`.

use crate::structure::{Leaf, leaves, report_dir, tree};
use crate::support::*;
use mail_parser::MessageParser;

/// The dry run of `--markdown` with these files in a new folder: (exit code, stderr, the
/// decoded HTML, the leaf parts).
fn render(files: &[(&str, &[u8])], flags: &[&str]) -> (i32, String, String, Vec<Leaf>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let out = Run::new(["--dry-run", "--to", "b@example.com"])
        .args(flags)
        .cwd(dir.path())
        .output();
    if out.code != 0 {
        return (out.code, out.stderr, String::new(), Vec::new());
    }
    let message = MessageParser::default().parse(&out.stdout_bytes).unwrap();
    let html = message.body_html(0).unwrap().replace("\r\n", "\n");
    (out.code, out.stderr, html, leaves(&message))
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really";

#[test]
fn raw_html_is_shown_as_text_unless_allowed() {
    let markdown: &[u8] = b"Hello <b onclick=\"x()\">you</b>\n\n<script>alert(1)</script>\n";
    let (code, _, html, _) = render(&[("r.md", markdown)], &["--markdown", "r.md"]);
    assert_eq!(code, 0);
    assert!(
        html.contains("Hello &lt;b onclick=\"x()\"&gt;you&lt;/b&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains("<b "),
        "{html}"
    );
    let (code, _, html, _) = render(
        &[("r.md", markdown)],
        &["--markdown", "r.md", "--markdown-allow-html"],
    );
    assert_eq!(code, 0);
    assert!(html.contains("Hello <b onclick=\"x()\">you</b>"), "{html}");
    assert!(html.contains("<script>alert(1)</script>"), "{html}");
}

#[test]
fn the_local_images_it_shows_go_inline_once_each() {
    let markdown: &[u8] = b"![a](img/chart.png) ![again](./img/chart.png)\n\
        ![other](more/chart.png) ![spaced](img/my%20plot.png) ![web](https://example.com/x.png)\n";
    let (code, stderr, html, parts) = render(
        &[
            ("r.md", markdown),
            ("img/chart.png", PNG),
            ("more/chart.png", b"GIF89a"),
            ("img/my plot.png", b"plot"),
        ],
        &["--markdown", "r.md"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    for src in [
        "cid:chart.png",
        "cid:chart-2.png",
        "cid:my_plot.png",
        "https://example.com/x.png",
    ] {
        assert!(html.contains(&format!("src=\"{src}\"")), "{src}: {html}");
    }
    assert_eq!(html.matches("src=\"cid:chart.png\"").count(), 2);
    let inline: Vec<(&str, &str, &[u8])> = parts
        .iter()
        .filter(|part| part.disposition == "inline")
        .map(|part| {
            let name = part.name.as_str();
            (name, part.content_id.as_str(), part.bytes.as_slice())
        })
        .collect();
    assert_eq!(
        inline,
        [
            ("chart.png", "chart.png", PNG),
            ("chart.png", "chart-2.png", &b"GIF89a"[..]),
            ("my plot.png", "my_plot.png", &b"plot"[..]),
        ]
    );
}

#[test]
fn markdown_from_stdin_finds_its_images_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chart.png"), PNG).unwrap();
    let out = Run::new(["--dry-run", "--to", "b@example.com", "--markdown", "-"])
        .cwd(dir.path())
        .stdin(b"# Report\n\n![chart](chart.png)\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let message = MessageParser::default().parse(&out.stdout_bytes).unwrap();
    assert_eq!(
        tree(&message),
        "multipart/alternative(text/plain, multipart/related(text/html, image/png))"
    );
    assert_eq!(
        message.body_text(0).unwrap(),
        "# Report\r\n\r\n![chart](chart.png)\r\n"
    );
    assert_eq!(leaves(&message)[2].bytes, PNG);
}

/// Markdown may come from elsewhere (a CI summary, a commit message): it can attach only
/// images in its own folder or below it.
#[test]
fn images_outside_its_folder_or_not_images_are_refused() {
    let cases: [(&str, i32, &str); 5] = [
        (
            "![x](../secret.png)",
            65,
            "the Markdown shows the image \"../secret.png\", which is outside its folder",
        ),
        (
            "![x](/etc/passwd.png)",
            65,
            "the Markdown shows the image \"/etc/passwd.png\", which is outside its folder",
        ),
        (
            "![x](notes.txt)",
            65,
            "the Markdown shows \"notes.txt\" as an image, but by its name it is not one (text/plain)",
        ),
        (
            "![x](missing.png)",
            66,
            "cannot read Markdown image sub/missing.png: No such file or directory",
        ),
        (
            "![x](folder.png)",
            66,
            "Markdown image sub/folder.png is a directory, not a regular file",
        ),
    ];
    for (markdown, code, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.png"), PNG).unwrap();
        std::fs::create_dir_all(dir.path().join("sub/folder.png")).unwrap();
        std::fs::write(dir.path().join("sub/notes.txt"), "notes").unwrap();
        std::fs::write(dir.path().join("sub/r.md"), markdown).unwrap();
        let out = Run::new(["--to", "b@example.com", "--markdown", "sub/r.md"])
            .server("127.0.0.1:1")
            .cwd(dir.path())
            .output();
        assert_eq!(out.code, code, "{markdown}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{markdown}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
}

#[test]
fn markdown_is_not_utf8_or_too_large_is_refused() {
    let (code, stderr, _, _) = render(&[("r.md", b"caf\xe9\n")], &["--markdown", "r.md"]);
    assert_eq!(
        (code, stderr.as_str()),
        (65, "smtpsend: the Markdown is not UTF-8 text\n")
    );
    let (code, stderr, _, _) = render(
        &[("r.md", &[b'x'; 2048])],
        &["--markdown", "r.md", "--max-input-size", "1K"],
    );
    assert_eq!(code, 65);
    assert!(
        stderr.contains("Markdown file r.md is larger than 1 KiB"),
        "{stderr}"
    );
}

#[test]
fn the_fixed_report_has_its_table_code_list_link_and_image() {
    let dir = report_dir();
    let out = Run::new([
        "--dry-run",
        "--to",
        "b@example.com",
        "--markdown",
        "report.md",
    ])
    .cwd(&dir)
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let message = MessageParser::default().parse(&out.stdout_bytes).unwrap();
    let html = message.body_html(0).unwrap();
    assert_eq!(html.matches("<tr>").count(), 4, "a head row and three rows");
    assert_eq!(html.matches("<td style=").count(), 12);
    assert!(html.contains("text-align:right\">1204</td>"), "{html}");
    assert!(html.contains("<pre style="), "{html}");
    assert!(
        html.contains("<ol style=") && html.contains("\u{2611} build"),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://ci.example.com/pipelines/1432?tab=tests&amp;view=all\""),
        "{html}"
    );
    assert!(html.contains(
        "<img src=\"cid:chart.png\" alt=\"test durations by suite\" title=\"Durations\""
    ));
    for tag in [
        "<table", "<th ", "<td ", "<pre", "<code ", "<h1", "<h2", "<p ", "<a ", "<li",
    ] {
        for at in html.match_indices(tag).map(|(at, _)| at) {
            let element = &html[at..at + html[at..].find('>').unwrap()];
            assert!(
                element.contains(" style=\""),
                "{element} has no inline style"
            );
        }
    }
    assert!(!html.contains("<style"), "mail programs drop style blocks");
}
