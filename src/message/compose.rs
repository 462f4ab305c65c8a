//! Building a MIME message with mail-builder from the composing flags.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, IsTerminal, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use mail_builder::MessageBuilder;
use mail_builder::headers::Header;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};

use crate::base::exit::{Kind, fail};
use crate::base::input::{self, FileKind};
pub use crate::message::address::address_header;
use crate::message::address::{Mailbox, reject_line_breaks};
use crate::message::stamp::Stamp;
use crate::message::transfer::{Encoding, encode_text};
use crate::message::{Content, Envelope, FilePart};

mod inputs;
use inputs::*;

/// Headers `--header` may not set, and why: they would break the MIME structure or leak Bcc.
/// Any other header it names (From, To, Subject, Date, …) replaces the generated one.
const RESERVED: [(&str, &str); 5] = [
    ("bcc", "blind copies never appear in the header; use --bcc"),
    (
        "resent-bcc",
        "blind copies never appear in the header; use --bcc",
    ),
    (
        "mime-version",
        "it is written by smtpsend with the MIME structure",
    ),
    (
        "content-type",
        "it is written by smtpsend from the parts (use --html for an HTML part, --attach for \
         files, or --raw to send a message you wrote yourself)",
    ),
    (
        "content-transfer-encoding",
        "it is written by smtpsend for each part (send a message you wrote yourself with --raw)",
    ),
];

/// Header fields `--header` may give that hold addresses: they are parsed as address lists
/// and written as addresses (display names RFC 2047-encoded, addresses as they are).
const ADDRESS_FIELDS: [&str; 12] = [
    "from",
    "sender",
    "to",
    "cc",
    "reply-to",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "mail-followup-to",
    "mail-reply-to",
    "disposition-notification-to",
];

/// The value of one `--header`.
enum ExtraValue {
    /// Free text, RFC 2047-encoded when it is not ASCII.
    Text(String),
    /// An address list (bare user names qualified like the other addresses).
    Addresses(Vec<Mailbox>),
}

/// Who the message is from: the From: mailbox and the envelope sender.
#[derive(Debug, Clone)]
pub struct Sender {
    pub mailbox: Mailbox,
    pub envelope: String,
}

/// A text part: `text/plain` or `text/html`, UTF-8.
struct TextPart {
    media_type: &'static str,
    body: TextBody,
}

impl TextPart {
    /// Its header fields and the blank line, then its body.
    fn push_to(self, content: &mut Content) {
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

/// What the message says: one text part, or a text and an HTML alternative.
enum MainPart {
    Single(TextPart),
    Alternative {
        text: TextPart,
        html: TextPart,
        boundary: String,
    },
}

impl MainPart {
    /// Its header fields, the blank line and its body (the parts of an alternative with
    /// their delimiters), laid out as mail-builder lays out the same parts.
    fn push_to(self, content: &mut Content) {
        let (text, html, boundary) = match self {
            MainPart::Single(part) => return part.push_to(content),
            MainPart::Alternative {
                text,
                html,
                boundary,
            } => (text, html, boundary),
        };
        let mut head = b"Content-Type: ".to_vec();
        ContentType::new("multipart/alternative")
            .attribute("boundary", boundary.as_str())
            .write_header(&mut head, 14);
        content.push_bytes(&head);
        let delimiter = format!("\r\n--{boundary}\r\n");
        for part in [text, html] {
            content.push_bytes(delimiter.as_bytes());
            part.push_to(content);
        }
        content.push_bytes(format!("\r\n--{boundary}--\r\n").as_bytes());
    }
}

/// What a composed message is made of, as the command line gave it.
#[derive(Debug, Clone, Default)]
pub struct ComposeInput {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub reply_to: Vec<String>,
    /// Recipient arguments: envelope, and To: too.
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    /// `--header 'Name: value'`.
    pub headers: Vec<String>,
    pub body: BodySource,
    pub html: Option<PathBuf>,
    pub attachments: Vec<PathBuf>,
    /// The most bytes read from stdin or a pipe (`--max-input-size`).
    pub max_input: u64,
}

/// Where the text body comes from.
#[derive(Debug, Clone, Default)]
pub enum BodySource {
    /// `--body TEXT`.
    Text(String),
    /// `--body-file PATH`.
    File(PathBuf),
    /// stdin.
    #[default]
    Stdin,
}

/// Where composing happens: what becomes of bare user names (aliases, the qualify domain,
/// whether the header's To and Cc get the alias targets too), and how long a pipe given as
/// `--body-file` may take to be written (the command deadline).
#[derive(Debug, Clone, Copy)]
pub struct Surroundings<'a> {
    pub local: crate::message::local::LocalNames<'a>,
    pub rewrite_local_headers: bool,
    pub pipe_timeout: Duration,
}

/// Composes the message the flags describe; `stdin` is the body unless a body flag is given.
/// Bare user names (`root`) get `@qualify_domain` in the envelope and the header alike; in
/// the envelope an alias replaces them first (in To and Cc too with `rewrite_local_headers`).
pub fn compose(
    given: &ComposeInput,
    context: Surroundings,
    sender: &Sender,
    stdin: &mut dyn Read,
) -> anyhow::Result<(Envelope, Content)> {
    let local = context.local;
    let qualify_domain = local.qualify_domain;
    let qualified = |values: &[String]| -> anyhow::Result<Vec<Mailbox>> {
        Ok(crate::message::address::parse_all(values)?
            .iter()
            .map(|mailbox| mailbox.qualified(qualify_domain))
            .collect())
    };
    let in_header = |values: &[String]| -> anyhow::Result<Vec<Mailbox>> {
        match context.rewrite_local_headers {
            true => local.resolve(&crate::message::address::parse_all(values)?),
            false => qualified(values),
        }
    };
    let to = in_header(&given.to)?;
    let cc = in_header(&given.cc)?;
    let reply_to = qualified(&given.reply_to)?;
    let positional = in_header(&given.recipients)?;
    let envelope_recipients = local.resolve(&crate::message::address::parse_all(
        &[&given.to[..], &given.recipients, &given.cc, &given.bcc].concat(),
    )?)?;
    let sender = &Sender {
        mailbox: sender.mailbox.qualified(qualify_domain),
        envelope: crate::message::address::qualify(&sender.envelope, qualify_domain),
    };
    let extra_headers = parse_extra_headers(&given.headers, qualify_domain)?;
    if let Some(subject) = &given.subject {
        reject_line_breaks("--subject", subject)?;
    }
    let attachments = collect_attachments(&given.attachments)?;
    let html = given
        .html
        .as_deref()
        .map(|path| read_html(path, given.max_input))
        .transpose()?;
    let stdin_required = attachments.is_empty() && html.is_none();
    let text = read_body(given, stdin, stdin_required, context.pipe_timeout)?;

    let to_header: Vec<&Mailbox> = to.iter().chain(&positional).collect();
    let recipients = unique_addresses(envelope_recipients.iter());
    let envelope = Envelope {
        from: sender.envelope.clone(),
        recipients,
    };

    let mut stamp = Stamp::new();
    let heads = Heads {
        sender,
        to: &to_header,
        cc: &cc,
        reply_to: &reply_to,
        subject: given.subject.as_deref(),
        extra: &extra_headers,
    };
    let builder = heads.builder(&mut stamp);
    let main = main_part(text, html, stdin_required, &mut stamp);
    Ok((envelope, lay_out(builder, main, attachments, &mut stamp)))
}

/// The header fields of a composed message.
struct Heads<'a> {
    sender: &'a Sender,
    to: &'a [&'a Mailbox],
    cc: &'a [Mailbox],
    reply_to: &'a [Mailbox],
    subject: Option<&'a str>,
    /// `--header` fields: each replaces the generated field of its name.
    extra: &'a [(String, ExtraValue)],
}

impl<'a> Heads<'a> {
    /// A message builder holding the fields: From, To, Cc, Reply-To, Subject, Date and
    /// Message-ID (from `stamp`) unless a `--header` gives them, then the `--header` fields.
    fn builder(&self, stamp: &mut Stamp) -> MessageBuilder<'a> {
        let overridden = |name: &str| {
            self.extra
                .iter()
                .any(|(header, _)| header.eq_ignore_ascii_case(name))
        };
        let list = |mailboxes: &'a [Mailbox]| address_header(&mailboxes.iter().collect::<Vec<_>>());
        let domain = message_id_domain(&self.sender.mailbox.address);
        let mut builder = MessageBuilder::new();
        if !overridden("from") {
            builder = builder.from(address_header(&[&self.sender.mailbox]));
        }
        if !self.to.is_empty() && !overridden("to") {
            builder = builder.to(address_header(self.to));
        }
        if !self.cc.is_empty() && !overridden("cc") {
            builder = builder.cc(list(self.cc));
        }
        if !self.reply_to.is_empty() && !overridden("reply-to") {
            builder = builder.reply_to(list(self.reply_to));
        }
        if let Some(subject) = self.subject
            && !overridden("subject")
        {
            builder = builder.subject(Text::new(subject.to_string()));
        }
        if !overridden("date") {
            builder = builder.header("Date", Raw::new(stamp.date()));
        }
        if !overridden("message-id") {
            builder = builder.message_id(MessageId::new(stamp.message_id(&domain)));
        }
        for (name, value) in self.extra {
            builder = match value {
                ExtraValue::Text(text) => builder.header(name.clone(), Text::new(text.clone())),
                ExtraValue::Addresses(list) => builder.header(
                    name.clone(),
                    address_header(&list.iter().collect::<Vec<_>>()),
                ),
            };
        }
        builder
    }
}

/// The text and the HTML part as the message's main part: an alternative when there are
/// both. An empty text is left out when something else (HTML, attachments) makes the
/// message, unless `text_required`.
fn main_part(
    text: TextBody,
    html: Option<TextBody>,
    text_required: bool,
    stamp: &mut Stamp,
) -> Option<MainPart> {
    let text_part = (!text.is_empty() || text_required).then_some(TextPart {
        media_type: "text/plain",
        body: text,
    });
    let html_part = html.map(|body| TextPart {
        media_type: "text/html",
        body,
    });
    match (text_part, html_part) {
        (Some(text), Some(html)) => Some(MainPart::Alternative {
            text,
            html,
            boundary: stamp.boundary(),
        }),
        (text, html) => text.or(html).map(MainPart::Single),
    }
}

/// The content: the header block from `builder`, then the main part alone or, with
/// attachments, the main part and the attachments in a multipart/mixed.
fn lay_out(
    builder: MessageBuilder,
    main: Option<MainPart>,
    attachments: Vec<Attachment>,
    stamp: &mut Stamp,
) -> Content {
    let mut content = Content::default();
    let mut head = Vec::new();
    let empty = || MimePart::raw(BodyPart::Binary(Cow::Borrowed(b"")));
    if attachments.is_empty() {
        builder.body(empty()).serialize(&mut head);
        content.push_bytes(&head);
        if let Some(part) = main {
            part.push_to(&mut content);
        }
        return content;
    }
    let boundary = stamp.boundary();
    builder
        .header(
            "Content-Type",
            ContentType::new("multipart/mixed").attribute("boundary", boundary.clone()),
        )
        .body(empty())
        .serialize(&mut head);
    content.push_bytes(&head);
    let delimiter = format!("\r\n--{boundary}\r\n");
    if let Some(part) = main {
        content.push_bytes(delimiter.as_bytes());
        part.push_to(&mut content);
    }
    for attachment in attachments {
        content.push_bytes(delimiter.as_bytes());
        let mut bytes = Vec::new();
        MimePart::new(
            ContentType::new(attachment.content_type),
            BodyPart::Binary(Cow::Borrowed(b"")),
        )
        .attachment(attachment.name)
        .transfer_encoding("base64")
        .write_part(&mut bytes);
        content.push_bytes(&bytes);
        content.push_file(FilePart::attachment(attachment.path, attachment.size));
    }
    content.push_bytes(format!("\r\n--{boundary}--\r\n").as_bytes());
    content
}

/// The domain for a Message-ID: the sender's, or this host's name for a bare user name.
pub fn message_id_domain(sender: &str) -> String {
    match sender.rsplit_once('@') {
        Some((_, domain)) if !crate::message::address::is_unqualified(sender) => domain.to_string(),
        _ => crate::base::host::hostname(),
    }
}

/// Envelope recipients in order, each once (compared case-insensitively).
pub fn unique_addresses<'a>(mailboxes: impl Iterator<Item = &'a Mailbox>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for mailbox in mailboxes {
        if !seen
            .iter()
            .any(|known| known.eq_ignore_ascii_case(&mailbox.address))
        {
            seen.push(mailbox.address.clone());
        }
    }
    seen
}

fn parse_extra_headers(
    values: &[String],
    qualify_domain: Option<&str>,
) -> anyhow::Result<Vec<(String, ExtraValue)>> {
    values
        .iter()
        .map(|value| {
            reject_line_breaks("--header", value)?;
            let (name, field) = value.split_once(':').ok_or_else(|| {
                fail(
                    Kind::Usage,
                    format!("--header {value:?} is not of the form 'Name: value'"),
                )
            })?;
            let valid_name = !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b));
            if !valid_name {
                return Err(fail(
                    Kind::Usage,
                    format!("--header {value:?}: invalid header name {name:?}"),
                ));
            }
            let lower = name.to_ascii_lowercase();
            if let Some((_, why)) = RESERVED.iter().find(|(reserved, _)| *reserved == lower) {
                return Err(fail(
                    Kind::Usage,
                    format!("--header cannot set {name}: {why}"),
                ));
            }
            let field = field.trim();
            if !ADDRESS_FIELDS.contains(&lower.as_str()) {
                return Ok((name.to_string(), ExtraValue::Text(field.to_string())));
            }
            let list = Mailbox::parse_list(field).map_err(|err| {
                fail(
                    Kind::Usage,
                    format!("--header {name}: {}", crate::base::exit::one_line(&err)),
                )
            })?;
            if list.is_empty() {
                // A group without members (`undisclosed-recipients:;`) is kept as given.
                return Ok((name.to_string(), ExtraValue::Text(field.to_string())));
            }
            let list = list
                .iter()
                .map(|mailbox| mailbox.qualified(qualify_domain))
                .collect();
            Ok((name.to_string(), ExtraValue::Addresses(list)))
        })
        .collect()
}

/// The error for input past `--max-input-size`: `the message on stdin is larger than 64 MiB
/// (--max-input-size 64M); …` (65).
pub(crate) fn too_large(what: &str, limit: u64) -> anyhow::Error {
    let (amount, flag) = match limit {
        0 => ("0 bytes".to_string(), "0".to_string()),
        _ if limit % (1 << 30) == 0 => {
            (format!("{} GiB", limit >> 30), format!("{}G", limit >> 30))
        }
        _ if limit % (1 << 20) == 0 => {
            (format!("{} MiB", limit >> 20), format!("{}M", limit >> 20))
        }
        _ if limit % (1 << 10) == 0 => {
            (format!("{} KiB", limit >> 10), format!("{}K", limit >> 10))
        }
        _ => (format!("{limit} bytes"), limit.to_string()),
    };
    fail(
        Kind::Data,
        format!(
            "{what} is larger than {amount} (--max-input-size {flag}); give a larger \
             --max-input-size, or send big content with --attach"
        ),
    )
}

#[cfg(test)]
mod tests;
