//! The MIME structure of a composed message:
//! `mixed( alternative( text, related( html, inline… ) ), attachments… )`, where each
//! multipart is there only when it has more than one part to hold: a text alone is the whole
//! message, an HTML part without images is not wrapped in a `related`, and a message without
//! attachments has no `mixed`. Parts in memory are laid out as mail-builder lays out the same
//! parts; files are streamed (see [`FilePart`]).

use super::*;

/// A text part: `text/plain` or `text/html`, UTF-8.
pub(super) struct TextPart {
    pub(super) media_type: &'static str,
    pub(super) body: TextBody,
}

/// A file of the message as composing found it: an attachment, or an inline image.
pub(super) struct FileEntry {
    pub(super) part: FilePart,
    /// Its file name (the `filename` parameter).
    pub(super) name: String,
    pub(super) media_type: String,
    /// An inline image's Content-ID, without angle brackets.
    pub(super) cid: Option<String>,
    /// The file it was read from, resolved (an image the Markdown shows and `--inline`
    /// gives is one part); none for stdin.
    pub(super) canonical: Option<PathBuf>,
}

/// One node of the structure.
pub(super) enum Part {
    Text(TextPart),
    File(FileEntry),
    Multipart {
        subtype: &'static str,
        boundary: String,
        parts: Vec<Part>,
    },
}

/// What a composed message holds, before it is given its structure.
pub(super) struct Parts {
    pub(super) text: Option<TextBody>,
    pub(super) html: Option<TextBody>,
    pub(super) inline: Vec<FileEntry>,
    pub(super) attachments: Vec<FileEntry>,
}

impl Parts {
    /// The structure (see the module's documentation); `None` for a message with no part
    /// at all. Boundaries are drawn from `stamp` inner first.
    pub(super) fn tree(self, stamp: &mut Stamp) -> Option<Part> {
        let text = self.text.map(|body| {
            Part::Text(TextPart {
                media_type: "text/plain",
                body,
            })
        });
        let html = self.html.map(|body| {
            let html = Part::Text(TextPart {
                media_type: "text/html",
                body,
            });
            let inline = self.inline.into_iter().map(Part::File);
            multipart(
                "related",
                std::iter::once(html).chain(inline).collect(),
                stamp,
            )
        });
        let main = match (text, html) {
            (Some(text), Some(html)) => Some(multipart("alternative", vec![text, html], stamp)),
            (text, html) => text.or(html),
        };
        let attachments = self.attachments.into_iter().map(Part::File);
        let mut all: Vec<Part> = main.into_iter().chain(attachments).collect();
        match all.len() {
            0 => None,
            1 => all.pop(),
            _ => Some(multipart("mixed", all, stamp)),
        }
    }
}

/// `parts` in a `multipart/subtype`, or the one part itself.
fn multipart(subtype: &'static str, mut parts: Vec<Part>, stamp: &mut Stamp) -> Part {
    if parts.len() == 1 {
        return parts.pop().expect("one part");
    }
    Part::Multipart {
        subtype,
        boundary: stamp.boundary(),
        parts,
    }
}

impl Part {
    /// Its header fields, the blank line and its body (the parts of a multipart with their
    /// delimiters).
    pub(super) fn push_to(self, content: &mut Content) {
        match self {
            Part::Text(part) => part.push_to(content),
            Part::File(file) => file.push_to(content),
            Part::Multipart {
                subtype,
                boundary,
                parts,
            } => {
                let mut media_type = ContentType::new(format!("multipart/{subtype}"))
                    .attribute("boundary", boundary.as_str());
                if subtype == "related" {
                    // RFC 2387: the type of the root part, which is the first.
                    media_type = media_type.attribute("type", "text/html");
                }
                let mut head = b"Content-Type: ".to_vec();
                media_type.write_header(&mut head, 14);
                content.push_bytes(&head);
                let delimiter = format!("\r\n--{boundary}\r\n");
                for part in parts {
                    content.push_bytes(delimiter.as_bytes());
                    part.push_to(content);
                }
                content.push_bytes(format!("\r\n--{boundary}--\r\n").as_bytes());
            }
        }
    }
}

impl TextPart {
    /// Its header fields and the blank line, then its body.
    pub(super) fn push_to(self, content: &mut Content) {
        let mut head = Vec::new();
        MimePart::new(
            ContentType::new(self.media_type).attribute("charset", "utf-8"),
            BodyPart::Binary(Cow::Borrowed(b"")),
        )
        .transfer_encoding(self.body.encoding().name())
        .write_part(&mut head);
        content.push_bytes(&head);
        match self.body {
            TextBody::Memory { bytes, .. } => content.push_owned(bytes),
            TextBody::File(part) => content.push_file(part),
        }
    }
}

impl FileEntry {
    /// Content-Type, Content-Disposition (`attachment` or `inline`, with the file name),
    /// Content-ID for an inline image, base64; then the file, streamed.
    fn push_to(self, content: &mut Content) {
        let disposition = match self.cid {
            Some(_) => "inline",
            None => "attachment",
        };
        let mut part = MimePart::new(
            ContentType::new(self.media_type.as_str()),
            BodyPart::Binary(Cow::Borrowed(b"")),
        )
        .header(
            "Content-Disposition",
            ContentType::new(disposition).attribute("filename", self.name.as_str()),
        );
        if let Some(cid) = &self.cid {
            part = part.cid(cid.as_str());
        }
        let mut head = Vec::new();
        part.transfer_encoding("base64").write_part(&mut head);
        content.push_bytes(&head);
        content.push_file(self.part);
    }
}

/// The content: the header block from `builder` (MIME-Version last), then the structure's
/// root part, its own header fields first.
pub(super) fn lay_out(builder: MessageBuilder, root: Option<Part>) -> Content {
    let mut content = Content::default();
    let mut head = Vec::new();
    builder
        .body(MimePart::raw(BodyPart::Binary(Cow::Borrowed(b""))))
        .serialize(&mut head);
    content.push_bytes(&head);
    if let Some(root) = root {
        root.push_to(&mut content);
    }
    content
}
