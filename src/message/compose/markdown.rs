//! `--markdown`: CommonMark with tables, strikethrough and task lists (pulldown-cmark), written
//! as an HTML document whose elements carry their style inline. Mail programs drop `<style>`
//! blocks (Gmail, Outlook) or ignore them in part, but keep a `style` attribute, so tables get
//! borders and padding, code blocks a background and a monospace font, in Gmail, Outlook and
//! Apple Mail alike.
//!
//! Raw HTML in the Markdown is shown as text, escaped, unless `--markdown-allow-html`. Each
//! image is given to `local_image`, which makes a local file an inline part and returns the
//! Content-ID to show it by (`cid:`); a URL stays as it is.

use pulldown_cmark::{
    Alignment, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};
use pulldown_cmark_escape::{escape_href, escape_html};

mod style;

/// The start of the document, up to the wrapper of the rendered Markdown.
fn document_start() -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n</head>\n<body>\n<div style=\"{}\">\n",
        style::BODY
    )
}

const DOCUMENT_END: &str = "</div>\n</body>\n</html>\n";

/// What is made of an image (`local_image` returns the Content-ID of a local file, `None` to
/// leave the URL as it is).
pub(super) type LocalImage<'f> = dyn FnMut(&str) -> anyhow::Result<Option<String>> + 'f;

/// Renders `markdown` as the HTML document of the message.
pub(super) fn render(
    markdown: &str,
    allow_html: bool,
    local_image: &mut LocalImage,
) -> anyhow::Result<String> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut styled = Styled {
        allow_html,
        out: Vec::new(),
        image: None,
        table: Table::default(),
    };
    for event in Parser::new_ext(markdown, options) {
        styled.event(event, local_image)?;
    }
    let mut html = document_start();
    pulldown_cmark::html::push_html(&mut html, styled.out.into_iter());
    if !html.ends_with('\n') {
        html.push('\n');
    }
    html.push_str(DOCUMENT_END);
    Ok(html)
}

/// An image being read: its `<img>` is written at its end, once its text (the `alt`) is known.
struct Image {
    src: String,
    title: String,
    alt: String,
    /// Images inside its text (CommonMark allows them; their text joins the `alt`).
    depth: usize,
}

/// Where a table is: the cells' alignments, in the head or the body, the cell's index.
#[derive(Default)]
struct Table {
    alignments: Vec<Alignment>,
    in_head: bool,
    body_started: bool,
    cell: usize,
}

/// The events of the Markdown, the styled elements as HTML of their own.
struct Styled<'a> {
    allow_html: bool,
    out: Vec<Event<'a>>,
    image: Option<Image>,
    table: Table,
}

impl<'a> Styled<'a> {
    fn raw(&mut self, html: String) {
        self.out.push(Event::InlineHtml(CowStr::from(html)));
    }

    fn event(&mut self, event: Event<'a>, local_image: &mut LocalImage) -> anyhow::Result<()> {
        if self.image.is_some() {
            self.in_image(event);
            return Ok(());
        }
        match event {
            Event::Start(tag) => self.start(tag, local_image)?,
            Event::End(end) => self.end(end),
            Event::Code(code) => {
                let code = escaped(&code);
                self.raw(format!("<code style=\"{}\">{code}</code>", style::CODE));
            }
            Event::Html(html) | Event::InlineHtml(html) if !self.allow_html => {
                self.out.push(Event::Text(html));
            }
            Event::TaskListMarker(done) => {
                let mark = if done { "\u{2611} " } else { "\u{2610} " };
                self.out.push(Event::Text(CowStr::from(mark)));
            }
            Event::Rule => self.raw(format!("<hr style=\"{}\">\n", style::RULE)),
            other => self.out.push(other),
        }
        Ok(())
    }

    fn start(&mut self, tag: Tag<'a>, local_image: &mut LocalImage) -> anyhow::Result<()> {
        let html = match tag {
            Tag::Paragraph => format!("<p style=\"{}\">", style::PARAGRAPH),
            Tag::Heading { level, .. } => {
                format!("<{} style=\"{}\">", heading(level), style::heading(level))
            }
            Tag::BlockQuote(_) => format!("<blockquote style=\"{}\">\n", style::QUOTE),
            Tag::CodeBlock(_) => format!("<pre style=\"{}\"><code>", style::PRE),
            Tag::HtmlBlock if self.allow_html => {
                self.out.push(Event::Start(Tag::HtmlBlock));
                return Ok(());
            }
            Tag::HtmlBlock => format!("<p style=\"{}\">", style::PARAGRAPH),
            Tag::List(Some(first)) if first != 1 => {
                format!("<ol start=\"{first}\" style=\"{}\">\n", style::LIST)
            }
            Tag::List(Some(_)) => format!("<ol style=\"{}\">\n", style::LIST),
            Tag::List(None) => format!("<ul style=\"{}\">\n", style::LIST),
            Tag::Item => format!("<li style=\"{}\">", style::ITEM),
            Tag::Table(alignments) => {
                self.table = Table {
                    alignments,
                    ..Table::default()
                };
                format!("<table style=\"{}\">\n", style::TABLE)
            }
            Tag::TableHead | Tag::TableRow | Tag::TableCell => self.table_start(&tag),
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => link(link_type, &dest_url, &title),
            Tag::Image {
                dest_url, title, ..
            } => {
                let src = match local_image(&dest_url)? {
                    Some(id) => format!("cid:{id}"),
                    None => dest_url.to_string(),
                };
                self.image = Some(Image {
                    src,
                    title: title.to_string(),
                    alt: String::new(),
                    depth: 0,
                });
                return Ok(());
            }
            other => {
                self.out.push(Event::Start(other));
                return Ok(());
            }
        };
        self.raw(html);
        Ok(())
    }

    fn table_start(&mut self, tag: &Tag) -> String {
        match tag {
            Tag::TableHead => {
                self.table.in_head = true;
                self.table.cell = 0;
                "<thead>\n<tr>".to_string()
            }
            Tag::TableRow => {
                self.table.cell = 0;
                match std::mem::replace(&mut self.table.body_started, true) {
                    false => "<tbody>\n<tr>".to_string(),
                    true => "<tr>".to_string(),
                }
            }
            _ => {
                let alignment = self.table.alignments.get(self.table.cell);
                let (element, base) = match self.table.in_head {
                    true => ("th", style::HEAD_CELL),
                    false => ("td", style::CELL),
                };
                format!("<{element} style=\"{base}{}\">", style::align(alignment))
            }
        }
    }

    fn end(&mut self, end: TagEnd) {
        let html = match end {
            TagEnd::Paragraph => "</p>\n".to_string(),
            TagEnd::Heading(level) => format!("</{}>\n", heading(level)),
            TagEnd::BlockQuote(_) => "</blockquote>\n".to_string(),
            TagEnd::CodeBlock => "</code></pre>\n".to_string(),
            TagEnd::HtmlBlock if self.allow_html => {
                self.out.push(Event::End(TagEnd::HtmlBlock));
                return;
            }
            TagEnd::HtmlBlock => "</p>\n".to_string(),
            TagEnd::List(true) => "</ol>\n".to_string(),
            TagEnd::List(false) => "</ul>\n".to_string(),
            TagEnd::Item => "</li>\n".to_string(),
            TagEnd::Table if self.table.body_started => "</tbody>\n</table>\n".to_string(),
            TagEnd::Table => "</table>\n".to_string(),
            TagEnd::TableHead => {
                self.table.in_head = false;
                "</tr>\n</thead>\n".to_string()
            }
            TagEnd::TableRow => "</tr>\n".to_string(),
            TagEnd::TableCell => {
                self.table.cell += 1;
                match self.table.in_head {
                    true => "</th>".to_string(),
                    false => "</td>".to_string(),
                }
            }
            TagEnd::Link => "</a>".to_string(),
            other => {
                self.out.push(Event::End(other));
                return;
            }
        };
        self.raw(html);
    }

    /// Inside an image: its text makes the `alt`; at its end, the `<img>`.
    fn in_image(&mut self, event: Event<'a>) {
        let Some(image) = &mut self.image else { return };
        match event {
            Event::Start(Tag::Image { .. }) => image.depth += 1,
            Event::End(TagEnd::Image) if image.depth > 0 => image.depth -= 1,
            Event::End(TagEnd::Image) => {
                let Some(image) = self.image.take() else {
                    return;
                };
                let title = match image.title.is_empty() {
                    true => String::new(),
                    false => format!(" title=\"{}\"", escaped(&image.title)),
                };
                self.raw(format!(
                    "<img src=\"{}\" alt=\"{}\"{title} style=\"{}\">",
                    href(&image.src),
                    escaped(&image.alt),
                    style::IMAGE
                ));
            }
            Event::Text(text) | Event::Code(text) => image.alt.push_str(&text),
            Event::SoftBreak | Event::HardBreak => image.alt.push(' '),
            _ => {}
        }
    }
}

fn heading(level: HeadingLevel) -> String {
    level.to_string()
}

/// `<a href=… title=…>`; an autolinked address gets its `mailto:`.
fn link(link_type: LinkType, dest_url: &str, title: &str) -> String {
    let url = match link_type {
        LinkType::Email => format!("mailto:{dest_url}"),
        _ => dest_url.to_string(),
    };
    let title = match title.is_empty() {
        true => String::new(),
        false => format!(" title=\"{}\"", escaped(title)),
    };
    format!(
        "<a href=\"{}\"{title} style=\"{}\">",
        href(&url),
        style::LINK
    )
}

/// Text escaped for HTML (element content and attribute values).
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let _ = escape_html(&mut out, text);
    out
}

/// A URL escaped for an `href` or `src` attribute.
fn href(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let _ = escape_href(&mut out, url);
    out
}

#[cfg(test)]
mod tests;
