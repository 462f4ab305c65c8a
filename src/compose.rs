//! Building a MIME message with mail-builder from the composing flags.

use std::borrow::Cow;
use std::fs;
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};

use crate::address::{Mailbox, reject_line_breaks};
use crate::cli::Cli;
use crate::exit::{Kind, fail};
use crate::message::{Content, Envelope};
use crate::stamp::Stamp;

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

/// A file to attach, checked readable when composing and streamed when sending.
struct Attachment {
    path: PathBuf,
    name: String,
    content_type: String,
    size: u64,
}

/// Composes the message the flags describe; `stdin` is the body unless a body flag is given.
/// Bare user names (`root`) get `@qualify_domain` in the envelope and the header alike.
pub fn compose(
    cli: &Cli,
    sender: &Sender,
    stdin: &mut dyn Read,
    qualify_domain: Option<&str>,
) -> anyhow::Result<(Envelope, Content)> {
    let addresses = |values: &[String]| -> anyhow::Result<Vec<Mailbox>> {
        Ok(crate::address::parse_all(values)?
            .iter()
            .map(|mailbox| mailbox.qualified(qualify_domain))
            .collect())
    };
    let to = addresses(&cli.to)?;
    let cc = addresses(&cli.cc)?;
    let bcc = addresses(&cli.bcc)?;
    let reply_to = addresses(&cli.reply_to)?;
    let positional = addresses(&cli.recipients)?;
    let sender = &Sender {
        mailbox: sender.mailbox.qualified(qualify_domain),
        envelope: crate::address::qualify(&sender.envelope, qualify_domain),
    };
    let extra_headers = parse_extra_headers(&cli.headers, qualify_domain)?;
    if let Some(subject) = &cli.subject {
        reject_line_breaks("--subject", subject)?;
    }
    let attachments = collect_attachments(&cli.attachments)?;
    let html = cli.html.as_deref().map(read_html).transpose()?;
    let text = read_body(cli, stdin, attachments.is_empty() && html.is_none())?;

    let to_header: Vec<&Mailbox> = to.iter().chain(&positional).collect();
    let recipients = unique_addresses(to_header.iter().copied().chain(&cc).chain(&bcc));
    let envelope = Envelope {
        from: sender.envelope.clone(),
        recipients,
    };

    let overridden = |name: &str| {
        extra_headers
            .iter()
            .any(|(header, _)| header.eq_ignore_ascii_case(name))
    };
    let mut stamp = Stamp::new();
    let domain = crate::compose::message_id_domain(&sender.mailbox.address);
    let mut builder = MessageBuilder::new();
    if !overridden("from") {
        builder = builder.from(address_header(&[&sender.mailbox]));
    }
    if !to_header.is_empty() && !overridden("to") {
        builder = builder.to(address_header(&to_header));
    }
    if !cc.is_empty() && !overridden("cc") {
        builder = builder.cc(address_header(&cc.iter().collect::<Vec<_>>()));
    }
    if !reply_to.is_empty() && !overridden("reply-to") {
        builder = builder.reply_to(address_header(&reply_to.iter().collect::<Vec<_>>()));
    }
    if let Some(subject) = &cli.subject
        && !overridden("subject")
    {
        builder = builder.subject(Text::new(subject.clone()));
    }
    if !overridden("date") {
        builder = builder.header("Date", Raw::new(stamp.date()));
    }
    if !overridden("message-id") {
        builder = builder.message_id(MessageId::new(stamp.message_id(&domain)));
    }
    for (name, value) in &extra_headers {
        builder = match value {
            ExtraValue::Text(text) => builder.header(name.clone(), Text::new(text.clone())),
            ExtraValue::Addresses(list) => builder.header(
                name.clone(),
                address_header(&list.iter().collect::<Vec<_>>()),
            ),
        };
    }

    let text_part = (!text.is_empty() || (attachments.is_empty() && html.is_none()))
        .then(|| MimePart::new("text/plain", BodyPart::Text(Cow::Owned(text))));
    let html_part = html.map(|html| MimePart::new("text/html", BodyPart::Text(Cow::Owned(html))));
    let main_part = match (text_part, html_part) {
        (Some(text), Some(html)) => Some(MimePart::new(
            ContentType::new("multipart/alternative").attribute("boundary", stamp.boundary()),
            vec![text, html],
        )),
        (text, html) => text.or(html),
    };

    let mut content = Content::default();
    if attachments.is_empty() {
        let part = main_part.unwrap_or_else(|| MimePart::new("text/plain", ""));
        let mut bytes = Vec::new();
        builder.body(part).serialize(&mut bytes);
        content.push_bytes(&bytes);
        return Ok((envelope, content));
    }

    let boundary = stamp.boundary();
    let mut head = Vec::new();
    builder
        .header(
            "Content-Type",
            ContentType::new("multipart/mixed").attribute("boundary", boundary.clone()),
        )
        .body(MimePart::raw(BodyPart::Binary(Cow::Borrowed(b""))))
        .serialize(&mut head);
    content.push_bytes(&head);
    let delimiter = format!("\r\n--{boundary}\r\n");
    if let Some(part) = main_part {
        content.push_bytes(delimiter.as_bytes());
        let mut bytes = Vec::new();
        part.write_part(&mut bytes);
        content.push_bytes(&bytes);
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
        content.push_base64_file(attachment.path, attachment.size);
    }
    content.push_bytes(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok((envelope, content))
}

/// The From: mailbox as a mail-builder header value (display names RFC 2047-encoded).
pub fn address_header<'a>(mailboxes: &[&'a Mailbox]) -> Address<'a> {
    let items: Vec<Address<'a>> = mailboxes
        .iter()
        .map(|m| Address::new_address(m.name.as_deref(), m.address.as_str()))
        .collect();
    if items.len() == 1 {
        items
            .into_iter()
            .next()
            .unwrap_or(Address::new_list(Vec::new()))
    } else {
        Address::new_list(items)
    }
}

/// The domain for a Message-ID: the sender's, or this host's name for a bare user name.
pub fn message_id_domain(sender: &str) -> String {
    match sender.rsplit_once('@') {
        Some((_, domain)) if !crate::address::is_unqualified(sender) => domain.to_string(),
        _ => crate::settings::hostname(),
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
                    format!("--header {name}: {}", crate::exit::one_line(&err)),
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

fn read_body(cli: &Cli, stdin: &mut dyn Read, stdin_required: bool) -> anyhow::Result<String> {
    let bytes = if let Some(body) = &cli.body {
        body.clone().into_bytes()
    } else if let Some(path) = &cli.body_file {
        fs::read(path).map_err(|err| unreadable("body file", path, &err))?
    } else {
        if io::stdin().is_terminal() {
            if !stdin_required {
                return Ok(String::new());
            }
            crate::say!("smtpsend: reading the message body from the terminal; end it with Ctrl-D");
        }
        let mut bytes = Vec::new();
        stdin
            .read_to_end(&mut bytes)
            .context("cannot read the body from stdin")?;
        bytes
    };
    String::from_utf8(bytes).map_err(|_| {
        fail(
            Kind::Data,
            "the body is not UTF-8 text; send it with --attach instead",
        )
    })
}

fn read_html(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).map_err(|err| unreadable("HTML file", path, &err))?;
    String::from_utf8(bytes).map_err(|_| {
        fail(
            Kind::Data,
            format!("HTML file {} is not UTF-8 text", path.display()),
        )
    })
}

fn collect_attachments(paths: &[PathBuf]) -> anyhow::Result<Vec<Attachment>> {
    let mut attachments = Vec::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|err| unreadable("attachment", path, &err))?;
        if metadata.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(path)
                .map_err(|err| unreadable("attachment directory", path, &err))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.is_file())
                .collect();
            if files.is_empty() {
                return Err(fail(
                    Kind::NoInput,
                    format!(
                        "attachment directory {} has no regular files",
                        path.display()
                    ),
                ));
            }
            files.sort();
            for file in files {
                attachments.push(attachment(&file)?);
            }
        } else {
            attachments.push(attachment(path)?);
        }
    }
    Ok(attachments)
}

fn attachment(path: &Path) -> anyhow::Result<Attachment> {
    let file = fs::File::open(path).map_err(|err| unreadable("attachment", path, &err))?;
    let metadata = file
        .metadata()
        .map_err(|err| unreadable("attachment", path, &err))?;
    if !metadata.is_file() {
        return Err(fail(
            Kind::NoInput,
            format!("attachment {} is not a regular file", path.display()),
        ));
    }
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_string());
    Ok(Attachment {
        path: path.to_path_buf(),
        content_type: mime_guess::from_path(path)
            .first_or_octet_stream()
            .essence_str()
            .to_string(),
        name,
        size: metadata.len(),
    })
}

fn unreadable(what: &str, path: &Path, err: &io::Error) -> anyhow::Error {
    fail(
        Kind::NoInput,
        format!(
            "cannot read {what} {}: {}",
            path.display(),
            crate::input::plain_io(err)
        ),
    )
}
