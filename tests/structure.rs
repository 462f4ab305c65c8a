//! The MIME structure of composed messages, as it reaches the server: each structure parsed
//! back with mail-parser and compared part by part, inline images and attachments byte for
//! byte, stdin attached through its private copy (exact SIZE= and BDAT sizes, resent as it
//! was by a retry), names and types given, and the refusals of what cannot be composed.

use crate::support::*;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use std::path::{Path, PathBuf};

/// The folder of the fixed report: report.md, which shows chart.png.
pub fn report_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/report")
}

/// The structure of a message as one line: `multipart/mixed(text/plain, image/png)`.
pub fn tree(message: &Message) -> String {
    fn describe(message: &Message, id: u32) -> String {
        let part = &message.parts[id as usize];
        let media_type = part.content_type().map_or("text/plain".to_string(), |t| {
            format!("{}/{}", t.ctype(), t.subtype().unwrap_or(""))
        });
        match &part.body {
            PartType::Multipart(children) => {
                let inner: Vec<String> = children.iter().map(|c| describe(message, *c)).collect();
                format!("{media_type}({})", inner.join(", "))
            }
            _ => media_type,
        }
    }
    describe(message, 0)
}

/// One part that is not a multipart, as a mail program sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Leaf {
    pub media_type: String,
    /// `inline`, `attachment` or empty.
    pub disposition: String,
    pub name: String,
    pub content_id: String,
    /// Decoded.
    pub bytes: Vec<u8>,
}

/// The leaf parts in order.
pub fn leaves(message: &Message) -> Vec<Leaf> {
    message
        .parts
        .iter()
        .filter(|part| !matches!(part.body, PartType::Multipart(_)))
        .map(|part| {
            let media_type = part.content_type().map_or("text/plain".to_string(), |t| {
                format!("{}/{}", t.ctype(), t.subtype().unwrap_or(""))
            });
            let disposition = part
                .content_disposition()
                .map_or(String::new(), |d| d.ctype().to_string());
            Leaf {
                media_type,
                disposition,
                name: part.attachment_name().unwrap_or("").to_string(),
                content_id: part.content_id().unwrap_or("").to_string(),
                bytes: part.contents().to_vec(),
            }
        })
        .collect()
}

fn crlf(text: &[u8]) -> Vec<u8> {
    String::from_utf8(text.to_vec())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes()
}

/// What the `git log -1 --stat` of the closing note pipes in: text with a NUL-free mix of
/// lines, long and short, without a final line break.
const STAT: &[u8] = b"commit 5795000\nAuthor: CI <ci@example.com>\n\n    Compose reports\n\n \
    src/message/compose.rs | 120 ++++++----\n 1 file changed, 80 insertions(+), 40 deletions(-)";

#[test]
fn a_report_with_markdown_an_inline_chart_and_stdin_attached_arrives_part_by_part() {
    let dir = report_dir();
    let server = Server::start();
    let out = Run::new(["--from", "ci@example.com", "--to", "ops@example.com"])
        .args(["--subject", "Nightly build 1432", "--markdown", "report.md"])
        .args([
            "--inline",
            "chart.png",
            "-a",
            "-",
            "--attach-name",
            "stat.txt",
        ])
        .cwd(&dir)
        .server(&server)
        .stdin(STAT)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let record = server.finish();
    let message = MessageParser::default()
        .parse(&record.only_completed().message)
        .unwrap();
    assert_eq!(
        tree(&message),
        "multipart/mixed(multipart/alternative(text/plain, multipart/related(text/html, \
         image/png)), text/plain)"
    );
    let parts = leaves(&message);
    let markdown = std::fs::read(dir.join("report.md")).unwrap();
    assert_eq!(parts[0].media_type, "text/plain");
    assert_eq!(
        parts[0].bytes,
        crlf(&markdown),
        "the text part is the Markdown itself"
    );
    let html = String::from_utf8(parts[1].bytes.clone()).unwrap();
    assert_eq!(parts[1].media_type, "text/html");
    assert!(html.contains("<img src=\"cid:chart.png\""), "{html}");
    let chart = Leaf {
        media_type: "image/png".into(),
        disposition: "inline".into(),
        name: "chart.png".into(),
        content_id: "chart.png".into(),
        bytes: std::fs::read(dir.join("chart.png")).unwrap(),
    };
    assert_eq!(
        parts[2], chart,
        "one inline part for the image that --inline and the Markdown both give"
    );
    let stat = Leaf {
        media_type: "text/plain".into(),
        disposition: "attachment".into(),
        name: "stat.txt".into(),
        content_id: String::new(),
        bytes: STAT.to_vec(),
    };
    assert_eq!(parts[3], stat, "stdin attached byte for byte");
    assert_eq!(parts.len(), 4);
}

/// Each structure has only the multiparts it needs.
#[test]
fn no_multipart_wraps_a_single_part() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    std::fs::write(&page, "<p>hi <img src=\"cid:chart.png\"></p>\n").unwrap();
    let plain = dir.path().join("plain.html");
    std::fs::write(&plain, "<p>hi</p>\n").unwrap();
    let chart = report_dir().join("chart.png");
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n").unwrap();
    let (page, plain, chart, pdf) = (
        page.to_str().unwrap(),
        plain.to_str().unwrap(),
        chart.to_str().unwrap(),
        pdf.to_str().unwrap(),
    );
    let cases: [(&[&str], &str); 8] = [
        (&["--body", "x"], "text/plain"),
        (&["--html", plain], "text/html"),
        (
            &["--body", "x", "--html", plain],
            "multipart/alternative(text/plain, text/html)",
        ),
        (
            &["--html", page, "--inline", chart],
            "multipart/related(text/html, image/png)",
        ),
        (&["-a", pdf], "application/pdf"),
        (
            &["--body", "x", "-a", pdf],
            "multipart/mixed(text/plain, application/pdf)",
        ),
        (
            &["--html", page, "--inline", chart, "-a", pdf],
            "multipart/mixed(multipart/related(text/html, image/png), application/pdf)",
        ),
        (
            &["--body", "x", "--html", page, "--inline", chart, "-a", pdf],
            "multipart/mixed(multipart/alternative(text/plain, multipart/related(text/html, \
             image/png)), application/pdf)",
        ),
    ];
    for (flags, expected) in cases {
        let out = Run::new(["--dry-run", "--to", "b@example.com"])
            .args(flags)
            .output();
        assert_eq!(out.code, 0, "{flags:?}: {}", out.stderr);
        let message = MessageParser::default().parse(&out.stdout_bytes).unwrap();
        assert_eq!(tree(&message), expected, "{flags:?}");
    }
}

/// 300 KB of binary from a pipe, over BDAT and over DATA: SIZE= and the BDAT size are the
/// exact length of what was sent, and the attachment decodes to the bytes given.
#[test]
fn stdin_attached_from_a_pipe_has_exact_sizes_over_bdat_and_data() {
    let data: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    for chunking in [true, false] {
        let mut builder = Server::builder().capabilities(&["PIPELINING", "SIZE 10000000"]);
        if chunking {
            builder = builder.capability("CHUNKING");
        }
        let server = builder.start();
        let out = Run::new(["--to", "b@example.com", "--body", "the data"])
            .args(["-a", "-", "--attach-name", "data.bin"])
            .server(&server)
            .stdin(&data)
            .output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let record = server.finish();
        let sent = record.only_completed();
        let size = format!("SIZE={}", sent.message.len());
        assert_eq!(sent.mail_params(), [size.as_str()], "chunking {chunking}");
        if chunking {
            assert_eq!(sent.bdat_chunks, [sent.message.len()]);
        }
        let message = MessageParser::default().parse(&sent.message).unwrap();
        let attachment = message.attachment(0).unwrap();
        assert_eq!(attachment.attachment_name(), Some("data.bin"));
        let media_type = attachment.content_type().unwrap();
        assert_eq!(
            (media_type.ctype(), media_type.subtype()),
            ("application", Some("octet-stream"))
        );
        assert!(attachment.contents() == data.as_slice(), "byte for byte");
    }
}

/// Unnamed, stdin is `stdin`: text/plain when it is UTF-8 text, else
/// application/octet-stream; `--attach-type` and `--attach-name` apply to the file just
/// before them, a path or stdin.
#[test]
fn names_and_types_describe_the_file_before_them() {
    let type_of = |message: &Message, index: u32| {
        let part = message.attachment(index).unwrap();
        let media_type = part.content_type().unwrap();
        format!("{}/{}", media_type.ctype(), media_type.subtype().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tmp1234");
    std::fs::write(&file, b"a,b\n1,2\n").unwrap();
    for (stdin, expected) in [
        (&b"Gr\xc3\xbc\xc3\x9fe\n"[..], "text/plain"),
        (b"\x00\xff", "application/octet-stream"),
    ] {
        let out = Run::new([
            "--dry-run",
            "--to",
            "b@example.com",
            "--body",
            "x",
            "-a",
            "-",
        ])
        .stdin(stdin)
        .output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let message = MessageParser::default().parse(&out.stdout_bytes).unwrap();
        assert_eq!(
            message.attachment(0).unwrap().attachment_name(),
            Some("stdin")
        );
        assert_eq!(type_of(&message, 0), expected);
        assert_eq!(message.attachment(0).unwrap().contents(), stdin);
    }
    let out = Run::new(["--dry-run", "--to", "b@example.com", "--body", "x"])
        .arg("-a")
        .arg(&file)
        .args([
            "--attach-name",
            "Zahlen März.csv",
            "-a",
            "-",
            "--attach-type",
        ])
        .args(["application/x-ndjson", "--attach-name", "log.json"])
        .stdin(b"{\"a\":1}\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let message = MessageParser::default().parse(&out.stdout_bytes).unwrap();
    let first = message.attachment(0).unwrap();
    assert_eq!(first.attachment_name(), Some("Zahlen März.csv"));
    assert_eq!(
        type_of(&message, 0),
        "text/csv",
        "the type follows the name given"
    );
    assert_eq!(first.contents(), b"a,b\n1,2\n");
    assert_eq!(
        message.attachment(1).unwrap().attachment_name(),
        Some("log.json")
    );
    assert_eq!(type_of(&message, 1), "application/x-ndjson");
}

/// The copy of stdin is read again for a retry: both attempts carry the same bytes.
#[test]
fn a_retry_resends_stdin_from_its_copy() {
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let server = Server::builder()
        .on_first(1, Verb::EndOfData, Action::reply(451, "4.3.0 try again"))
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "x", "-a", "-"])
        .args(["--retries", "1"])
        .server(&server)
        .stdin(&data)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let attempts = record.transactions();
    assert_eq!(attempts.len(), 2);
    assert!(!attempts[0].completed && attempts[1].completed);
    assert_eq!(attempts[0].message, attempts[1].message);
    let message = MessageParser::default()
        .parse(&attempts[1].message)
        .unwrap();
    assert!(message.attachment(0).unwrap().contents() == data.as_slice());
}

/// A 100 MiB inline image, and 100 MiB attached from a pipe: the peak memory stays within
/// 4 MiB of the same command with 1 KiB of each.
#[test]
fn big_inline_images_and_stdin_attachments_stream_in_constant_memory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("page.html"), "<img src=\"cid:big.png\">\n").unwrap();
    let run = |image_size: usize, stdin_size: usize| {
        let image: Vec<u8> = (0..image_size).map(|i| (i % 253) as u8).collect();
        std::fs::write(dir.path().join("big.png"), &image).unwrap();
        let server = Server::builder()
            .capabilities(&["PIPELINING", "SIZE 300000000", "CHUNKING"])
            .start();
        let out = Run::new([
            "--to",
            "b@example.com",
            "--body",
            "x",
            "--html",
            "page.html",
        ])
        .args(["--inline", "big.png", "-a", "-", "--max-input-size", "200M"])
        .cwd(dir.path())
        .server(&server)
        .stdin(vec![b'z'; stdin_size])
        .output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let record = server.finish();
        let sent = record.only_completed();
        assert_eq!(sent.bdat_chunks.iter().sum::<usize>(), sent.message.len());
        assert!(sent.message.len() > (image_size + stdin_size) * 4 / 3);
        out.peak_rss_kib()
    };
    let small = run(1024, 1024);
    let inline = run(100 << 20, 1024);
    let piped = run(1024, 100 << 20);
    for (what, peak) in [("inline image", inline), ("-a - from a pipe", piped)] {
        assert!(
            peak <= small + 4096,
            "a 100 MiB {what}: {peak} KiB at the peak, {small} KiB for 1 KiB"
        );
    }
}

/// Whatever cannot be composed is refused before anything is read or sent, with the exit
/// code of its kind and one line that says what to do.
#[test]
fn what_cannot_be_composed_is_refused_with_one_line() {
    let dir = report_dir();
    let server = Server::start();
    let cases: [(&[&str], i32, &str); 12] = [
        (
            &["-a", "-"],
            64,
            "-a - reads stdin, so the text cannot come from it: give it with --body, --body-file or --markdown",
        ),
        (
            &["--body", "x", "--attach-name", "a.txt", "-a", "report.md"],
            64,
            "--attach-name a.txt comes before any -a or --inline: it describes the file given just before it",
        ),
        (
            &[
                "--body",
                "x",
                "-a",
                "report.md",
                "--attach-type",
                "text/plain",
                "--attach-type",
                "text/csv",
            ],
            64,
            "-a report.md has two --attach-type",
        ),
        (
            &["--body", "x", "-a", "report.md", "--attach-type", "text"],
            64,
            "give a media type such as text/plain",
        ),
        (
            &[
                "--body",
                "x",
                "-a",
                "report.md",
                "--attach-type",
                "message/rfc822",
            ],
            64,
            "RFC 2046 forbids",
        ),
        (
            &["--body", "x", "-a", "report.md", "--attach-name", "a\nb"],
            64,
            "give a file name, on one line, without /",
        ),
        (
            &["--body", "x", "--inline", "chart.png"],
            64,
            "--inline chart.png: an inline image is shown by the HTML: give --html or --markdown",
        ),
        (
            &["--markdown", "report.md", "--inline", "report.md"],
            64,
            "an inline part must be an image",
        ),
        (
            &[
                "--markdown",
                "report.md",
                "--inline",
                "chart.png",
                "--attach-name",
                "my chart",
            ],
            64,
            "\"my chart\" cannot be a Content-ID",
        ),
        (
            &["--markdown", "-", "-a", "-"],
            64,
            "-a - and --markdown - both read stdin; only one input can come from it",
        ),
        (
            &["--html", "<p>hi</p>"],
            64,
            "\"<p>hi</p>\" looks like HTML itself: pipe it in",
        ),
        (
            &[
                "--body",
                "x",
                "--html",
                "report.md",
                "--inline",
                "chart.png",
                "--attach-name",
                "other.png",
            ],
            0,
            "",
        ),
    ];
    for (flags, code, says) in cases {
        let out = Run::new(["--to", "b@example.com"])
            .args(flags)
            .cwd(&dir)
            .server(&server)
            .stdin(b"stdin\n")
            .output();
        assert_eq!(out.code, code, "{flags:?}: {}", out.stderr);
        if code != 0 {
            assert!(
                out.stderr.starts_with("smtpsend: "),
                "{flags:?}: {}",
                out.stderr
            );
            assert!(out.stderr.contains(says), "{flags:?}: {}", out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        }
    }
    assert_eq!(server.finish().completed().len(), 1);
}

/// The HTML must provide every `cid:` it shows (65, nothing sent); an inline image it does
/// not show is said on stderr.
#[test]
fn every_cid_the_html_shows_must_be_an_inline_part() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("page.html");
    std::fs::write(
        &html,
        "<p><img src=\"cid:chart.png\"><img src='CID:missing%20one.png'></p>",
    )
    .unwrap();
    let chart = report_dir().join("chart.png");
    let server = Server::start();
    let out = Run::new(["--to", "b@example.com", "--body", "x", "--html"])
        .arg(&html)
        .arg("--inline")
        .arg(&chart)
        .server(&server)
        .output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: the HTML shows cid:missing one.png, which no inline part provides: give the \
         image with --inline PATH (its Content-ID is its file name, or --attach-name NAME)\n"
    );
    std::fs::write(&html, "<p>no image</p>").unwrap();
    let out = Run::new(["--to", "b@example.com", "--body", "x", "--html"])
        .arg(&html)
        .arg("--inline")
        .arg(&chart)
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: warning: the HTML does not show the inline image chart.png (cid:chart.png); \
         mail programs list it as an attachment\n"
    );
    assert_eq!(server.finish().completed().len(), 1);
}

/// stdin attached to a message the server could not take now is kept by the outbox, and a
/// flush sends it byte for byte; the flush's JSON names the Message-ID.
#[test]
fn stdin_attached_is_kept_by_the_outbox_and_sent_by_a_flush() {
    let home = Home::new();
    let data: Vec<u8> = (0..90_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let server = Server::builder()
        .on_first(1, Verb::Rcpt, Action::reply(451, "4.3.0 try later"))
        .start();
    let out = home
        .run([
            "--to",
            "b@example.com",
            "--body",
            "x",
            "-a",
            "-",
            "--attach-name",
            "d.bin",
        ])
        .args(["--queue", "on-failure", "--message-id", "kept@example.com"])
        .server(&server)
        .stdin(&data)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(home.ids().len(), 1);
    let out = home.run(["-q", "--json"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report[0]["status"], "sent");
    assert_eq!(report[0]["message_id"], "<kept@example.com>");
    let record = server.finish();
    let message = MessageParser::default()
        .parse(&record.only_completed().message)
        .unwrap();
    let attachment = message.attachment(0).unwrap();
    assert_eq!(attachment.attachment_name(), Some("d.bin"));
    assert!(attachment.contents() == data.as_slice());
    assert!(home.ids().is_empty());
}
