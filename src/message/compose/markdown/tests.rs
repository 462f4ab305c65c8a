//! Unit tests of the Markdown rendering.

use super::*;

fn rendered(markdown: &str, allow_html: bool) -> String {
    let html = render(markdown, allow_html, &mut |_| Ok(None)).unwrap();
    let start = document_start();
    assert!(
        html.starts_with(&start) && html.ends_with(DOCUMENT_END),
        "{html}"
    );
    html[start.len()..html.len() - DOCUMENT_END.len()].to_string()
}

#[test]
fn raw_html_is_shown_escaped_unless_allowed() {
    let markdown = "<script>alert(1)</script>\n\nA <b>bold</b> word.\n";
    let escaped = rendered(markdown, false);
    assert!(
        !escaped.contains("<script>") && !escaped.contains("<b>"),
        "{escaped}"
    );
    assert!(
        escaped.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{escaped}"
    );
    assert!(
        escaped.contains("A &lt;b&gt;bold&lt;/b&gt; word."),
        "{escaped}"
    );
    let kept = rendered(markdown, true);
    assert!(kept.contains("<script>alert(1)</script>") && kept.contains("<b>bold</b>"));
}

#[test]
fn tables_get_a_head_a_body_and_aligned_cells() {
    let html = rendered("| a | b |\n|:-:|--:|\n| 1 | 2 |\n| 3 | 4 |\n", false);
    assert_eq!(html.matches("<tr>").count(), 3, "{html}");
    assert_eq!(html.matches("<th ").count(), 2);
    assert_eq!(html.matches("<td ").count(), 4);
    assert!(html.contains("<thead>") && html.contains("<tbody>") && html.contains("</tbody>"));
    assert!(html.contains("text-align:center\">1</td>"), "{html}");
    assert!(html.contains("text-align:right\">4</td>"), "{html}");
    let head_only = rendered("| a |\n|---|\n", false);
    assert!(!head_only.contains("tbody") && head_only.contains("</thead>\n</table>"));
}

#[test]
fn task_lists_strikethrough_code_and_links() {
    let html = rendered(
        "- [x] done\n- [ ] open\n\n~~gone~~ `a<b` <me@example.com> [x](https://e.x/?a=1&b=\"2\")\n",
        false,
    );
    assert!(
        html.contains("\u{2611} done") && html.contains("\u{2610} open"),
        "{html}"
    );
    assert!(html.contains("<del>gone</del>"), "{html}");
    assert!(html.contains(">a&lt;b</code>"), "{html}");
    assert!(html.contains("href=\"mailto:me@example.com\""), "{html}");
    assert!(
        html.contains("href=\"https://e.x/?a=1&amp;b=%222%22\""),
        "{html}"
    );
}

#[test]
fn images_are_given_to_local_image_and_shown_by_its_answer() {
    let mut asked = Vec::new();
    let html = render(
        "![a *chart*](chart.png \"T\") ![logo](https://e.x/l.png)",
        false,
        &mut |written| {
            asked.push(written.to_string());
            Ok((written == "chart.png").then(|| "chart.png".to_string()))
        },
    )
    .unwrap();
    assert_eq!(asked, ["chart.png", "https://e.x/l.png"]);
    assert!(
        html.contains("<img src=\"cid:chart.png\" alt=\"a chart\" title=\"T\""),
        "{html}"
    );
    assert!(
        html.contains("<img src=\"https://e.x/l.png\" alt=\"logo\""),
        "{html}"
    );
}
