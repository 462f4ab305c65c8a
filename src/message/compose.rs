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
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};

use crate::base::exit::{Kind, fail};
use crate::base::input::{self, FileKind};
use crate::message::address::{Mailbox, reject_line_breaks};
use crate::message::stamp::Stamp;
use crate::message::transfer::{Encoding, encode_text};
use crate::message::{Content, Envelope, FilePart};

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

/// The body of a text part: encoded in memory (`--body`, stdin, a piped `--body-file`), or
/// a file measured now and encoded while it is sent (`--body-file`, `--html`).
enum TextBody {
    Memory { encoding: Encoding, bytes: Vec<u8> },
    File(FilePart),
}

impl TextBody {
    fn from_text(text: &[u8]) -> TextBody {
        let (measured, bytes) = encode_text(text);
        TextBody::Memory {
            encoding: measured.encoding,
            bytes,
        }
    }

    fn encoding(&self) -> Encoding {
        match self {
            TextBody::Memory { encoding, .. } => *encoding,
            TextBody::File(part) => part.encoding(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            TextBody::Memory { bytes, .. } => bytes.is_empty(),
            TextBody::File(part) => part.size() == 0,
        }
    }
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

/// Where composing happens: the domain for bare user names, and how long a pipe given as
/// `--body-file` may take to be written (the command deadline).
#[derive(Debug, Clone, Copy)]
pub struct Surroundings<'a> {
    pub qualify_domain: Option<&'a str>,
    pub pipe_timeout: Duration,
}

/// Composes the message the flags describe; `stdin` is the body unless a body flag is given.
/// Bare user names (`root`) get `@qualify_domain` in the envelope and the header alike.
pub fn compose(
    given: &ComposeInput,
    context: Surroundings,
    sender: &Sender,
    stdin: &mut dyn Read,
) -> anyhow::Result<(Envelope, Content)> {
    let qualify_domain = context.qualify_domain;
    let addresses = |values: &[String]| -> anyhow::Result<Vec<Mailbox>> {
        Ok(crate::message::address::parse_all(values)?
            .iter()
            .map(|mailbox| mailbox.qualified(qualify_domain))
            .collect())
    };
    let to = addresses(&given.to)?;
    let cc = addresses(&given.cc)?;
    let bcc = addresses(&given.bcc)?;
    let reply_to = addresses(&given.reply_to)?;
    let positional = addresses(&given.recipients)?;
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
    let recipients = unique_addresses(to_header.iter().copied().chain(&cc).chain(&bcc));
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

/// The text body: `--body`, `--body-file` or stdin (bounded by `--max-input-size`); empty
/// when stdin is a terminal and something else (an attachment, HTML) makes the message.
fn read_body(
    given: &ComposeInput,
    stdin: &mut dyn Read,
    stdin_required: bool,
    pipe_timeout: Duration,
) -> anyhow::Result<TextBody> {
    match &given.body {
        BodySource::Text(body) => return Ok(TextBody::from_text(body.as_bytes())),
        BodySource::File(path) => return read_body_file(path, given.max_input, pipe_timeout),
        BodySource::Stdin => {}
    }
    if io::stdin().is_terminal() {
        if !stdin_required {
            return Ok(TextBody::from_text(b""));
        }
        crate::say!("smtpsend: reading the message body from the terminal; end it with Ctrl-D");
    }
    let bytes = input::read_to_limit(stdin, given.max_input)
        .context("cannot read the body from stdin")?
        .ok_or_else(|| too_large("the body on stdin", given.max_input))?;
    body_text(bytes)
}

/// `--body-file`: a regular file is measured now and streamed while sending; a pipe
/// (`--body-file <(command)`) is read into memory, within `--max-input-size` and the
/// `--timeout` deadline; anything else (a device, a socket) is refused at once.
fn read_body_file(path: &Path, limit: u64, timeout: Duration) -> anyhow::Result<TextBody> {
    let mut opened = input::open(path).map_err(|err| input::unreadable("body file", path, &err))?;
    match opened.kind {
        FileKind::Regular => text_file(&mut opened, path, "body file", limit, not_utf8_body),
        FileKind::Pipe => body_text(read_body_pipe(&mut opened.file, path, limit, timeout)?),
        FileKind::Directory => Err(input::unreadable(
            "body file",
            path,
            &io::Error::from_raw_os_error(libc::EISDIR),
        )),
        kind => Err(input::not_regular("body file", path, kind)),
    }
}

/// A body file that is a pipe, read whole. A FIFO that no process has opened for writing
/// reads as empty at once, so first comes a wait for data or for its writer to close it;
/// the wait and the read together must end within `timeout`.
fn read_body_pipe(
    file: &mut File,
    path: &Path,
    limit: u64,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let late = |what: &str| {
        fail(
            Kind::NoInput,
            format!(
                "body file {} is a pipe {what} within {}s (--timeout); start the command that \
                 writes it first, or give a longer --timeout",
                path.display(),
                timeout.as_secs_f64()
            ),
        )
    };
    if !wait_for_input(file, deadline) {
        return Err(late("that nothing wrote to"));
    }
    match input::read_pipe(file, limit, deadline) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(too_large(
            &format!("body file {} (a pipe)", path.display()),
            limit,
        )),
        Err(err) if err.kind() == io::ErrorKind::TimedOut => Err(late("that did not end")),
        Err(err) => Err(input::unreadable("body file", path, &err)),
    }
}

/// Waits until the pipe has data or a writer closed it; false when `deadline` passes first.
fn wait_for_input(file: &File, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut poll = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: poll(2) on one pollfd for a descriptor this File owns, for at most `millis`.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready > 0
            || (ready < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted)
        {
            // Data, a hang-up, or an error that reading will report.
            return true;
        }
    }
}

/// Body text held in memory, which must be UTF-8.
fn body_text(bytes: Vec<u8>) -> anyhow::Result<TextBody> {
    if std::str::from_utf8(&bytes).is_err() {
        return Err(not_utf8_body());
    }
    Ok(TextBody::from_text(&bytes))
}

fn not_utf8_body() -> anyhow::Error {
    fail(
        Kind::Data,
        "the body is not UTF-8 text; send it with --attach instead",
    )
}

/// `--html`: a regular file, measured now and streamed while sending.
fn read_html(path: &Path, limit: u64) -> anyhow::Result<TextBody> {
    let mut opened = input::open_regular(path, "HTML file")?;
    text_file(&mut opened, path, "HTML file", limit, || {
        fail(
            Kind::Data,
            format!("HTML file {} is not UTF-8 text", path.display()),
        )
    })
}

/// A regular text file, measured now and streamed while sending. A file that says it is
/// empty may not be (`/proc/mdstat`, sysfs), and such a file can read differently the
/// second time: it is read into memory now, within `limit`.
fn text_file(
    opened: &mut input::Opened,
    path: &Path,
    role: &'static str,
    limit: u64,
    not_utf8: impl FnOnce() -> anyhow::Error,
) -> anyhow::Result<TextBody> {
    let unreadable = |err: io::Error| input::unreadable(role, path, &err);
    if opened.metadata.len() > 0 {
        return FilePart::text(&mut opened.file, path, role)
            .map_err(unreadable)?
            .map(TextBody::File)
            .ok_or_else(not_utf8);
    }
    let bytes = input::read_to_limit(&mut opened.file, limit)
        .map_err(unreadable)?
        .ok_or_else(|| too_large(&format!("{role} {}", path.display()), limit))?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(not_utf8());
    }
    Ok(TextBody::from_text(&bytes))
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

/// The files `--attach` names: each file, or a directory's regular files in name order.
/// Each is opened without blocking and must be a regular file (a FIFO, a socket or a
/// device is refused at once).
fn collect_attachments(paths: &[PathBuf]) -> anyhow::Result<Vec<Attachment>> {
    let mut attachments = Vec::new();
    for path in paths {
        let opened =
            input::open(path).map_err(|err| input::unreadable("attachment", path, &err))?;
        match opened.kind {
            FileKind::Regular => attachments.push(attachment(path, opened.metadata.len())),
            FileKind::Directory => {
                let mut files: Vec<PathBuf> = fs::read_dir(path)
                    .map_err(|err| input::unreadable("attachment directory", path, &err))?
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
                    let opened = input::open_regular(&file, "attachment")?;
                    attachments.push(attachment(&file, opened.metadata.len()));
                }
            }
            kind => return Err(input::not_regular("attachment", path, kind)),
        }
    }
    Ok(attachments)
}

fn attachment(path: &Path, size: u64) -> Attachment {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_string());
    Attachment {
        path: path.to_path_buf(),
        content_type: mime_guess::from_path(path)
            .first_or_octet_stream()
            .essence_str()
            .to_string(),
        name,
        size,
    }
}

#[cfg(test)]
mod tests;
