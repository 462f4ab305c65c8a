//! Building a MIME message from the composing flags: the header fields (`headers.rs`), what
//! is read (`inputs.rs`: bodies, HTML; `files.rs`: attachments and inline images, stdin
//! among them), Markdown (`markdown.rs`), the `cid:` references of the HTML (`cid.rs`) and
//! the MIME structure (`structure.rs`).

use std::borrow::Cow;
use std::collections::BTreeSet;
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
use crate::message::address::{Mailbox, reject_line_breaks};
use crate::message::stamp::Stamp;
use crate::message::transfer::{Encoding, encode_text};
use crate::message::{Content, Envelope, FilePart};

mod check;
mod cid;
mod files;
mod headers;
mod inputs;
mod markdown;
mod structure;

pub use crate::message::address::address_header;
use files::*;
pub use files::{check_file_name, check_media_type};
pub use headers::message_id_domain;
use headers::*;
use inputs::*;
use structure::*;

/// Who the message is from: the From: mailbox and the envelope sender.
#[derive(Debug, Clone)]
pub struct Sender {
    pub mailbox: Mailbox,
    pub envelope: String,
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
    /// `--html PATH|-`.
    pub html: Option<Source>,
    /// `--markdown PATH|-`: the HTML part rendered from it, the text part the source itself.
    pub markdown: Option<Source>,
    /// `--markdown-allow-html`: raw HTML in the Markdown is kept, not shown escaped.
    pub markdown_allow_html: bool,
    /// `-a` and `--inline`, in the order given, each with its `--attach-name` and
    /// `--attach-type`.
    pub files: Vec<FileSpec>,
    pub thread: Thread,
    pub priority: Option<Priority>,
    /// The most bytes read from stdin or a pipe (`--max-input-size`).
    pub max_input: u64,
}

/// Where the text body comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BodySource {
    /// `--body TEXT`.
    Text(String),
    /// `--body-file PATH`.
    File(PathBuf),
    /// stdin.
    #[default]
    Stdin,
    /// None of its own: the Markdown is the text, or stdin is the HTML or a file
    /// (`--html -`, `-a -`), so the message has no text part unless it has nothing else.
    None,
}

/// Where an input that may come from stdin is read: a file, or stdin (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(PathBuf),
    Stdin,
}

impl Source {
    /// A path as given on the command line: `-` is stdin.
    pub fn from_arg(path: &Path) -> Source {
        if path.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::Path(path.to_path_buf())
        }
    }
}

/// A file of the message as the command line gave it: an attachment (`-a`) or an image the
/// HTML shows (`--inline`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub source: Source,
    pub inline: bool,
    /// `--attach-name`: its file name (and an inline part's Content-ID).
    pub name: Option<String>,
    /// `--attach-type`: its media type.
    pub media_type: Option<String>,
}

impl FileSpec {
    /// The flag that gave it, for messages: `-a x.pdf`, `--inline -`.
    pub fn flag(&self) -> String {
        let flag = if self.inline { "--inline" } else { "-a" };
        match &self.source {
            Source::Path(path) => format!("{flag} {}", path.display()),
            Source::Stdin => format!("{flag} -"),
        }
    }
}

/// The thread a message belongs to, and its own Message-ID: each id checked
/// ([`crate::message::stamp::message_id_arg`]) and without angle brackets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread {
    /// `--message-id`.
    pub message_id: Option<String>,
    /// `--in-reply-to`.
    pub in_reply_to: Option<String>,
    /// `--references`, oldest first.
    pub references: Vec<String>,
}

impl Thread {
    /// The References field: the references given, then the parent (`--in-reply-to`) when
    /// it is not already the last of them (RFC 5322 §3.6.4).
    pub fn references_field(&self) -> Vec<String> {
        let mut ids = self.references.clone();
        if let Some(parent) = &self.in_reply_to
            && ids.last() != Some(parent)
        {
            ids.push(parent.clone());
        }
        ids
    }
}

/// `--priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    High,
    Normal,
    Low,
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

/// Composes the message the flags describe; `stdin` is the body unless a body flag is given
/// (or another input is read from it). Bare user names (`root`) get `@qualify_domain` in the
/// envelope and the header alike; in the envelope an alias replaces them first (in To and
/// Cc too with `rewrite_local_headers`).
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
    let extra_headers = parse_extra_headers(given, qualify_domain)?;
    if let Some(subject) = &given.subject {
        reject_line_breaks("--subject", subject)?;
    }
    let parts = read_parts(given, stdin, context.pipe_timeout)?;

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
        thread: &given.thread,
        priority: given.priority,
        extra: &extra_headers,
    };
    let builder = heads.builder(&mut stamp);
    let root = parts.tree(&mut stamp);
    Ok((envelope, lay_out(builder, root)))
}

/// Reads what the message is made of: the files first (stdin may be one of them), then the
/// HTML or the Markdown (which may add inline images), then the text; and checks that every
/// `cid:` the HTML shows is an inline part.
fn read_parts(
    given: &ComposeInput,
    stdin: &mut dyn Read,
    pipe_timeout: Duration,
) -> anyhow::Result<Parts> {
    warn_if_stdin_ignored(given);
    let mut files = collect_files(&given.files, stdin, given.max_input)?;
    let (html, references, markdown_text) = match &given.markdown {
        Some(source) => {
            let read = read_markdown(given, source, stdin, pipe_timeout, &mut files)?;
            (Some(read.html), read.references, Some(read.text))
        }
        None => match &given.html {
            Some(source) => {
                let (html, references) = read_html(source, stdin, given.max_input)?;
                (Some(html), references, None)
            }
            None => (None, BTreeSet::new(), None),
        },
    };
    cid::check_references(&references, &files.inline)?;
    let text_required = files.is_empty() && html.is_none();
    let text = match markdown_text {
        Some(text) => Some(text),
        None => read_body(given, stdin, text_required, pipe_timeout)?,
    };
    Ok(Parts {
        text: text.filter(|text| !text.is_empty() || text_required),
        html,
        inline: files.inline,
        attachments: files.attachments,
    })
}

/// Warns when stdin holds data and nothing of the message comes from it (`echo text |
/// smtpsend --body …`): the piped text would otherwise vanish without a word.
fn warn_if_stdin_ignored(given: &ComposeInput) {
    let from_stdin = |source: &Option<Source>| source.as_ref() == Some(&Source::Stdin);
    let reads_stdin = given.body == BodySource::Stdin
        || from_stdin(&given.html)
        || from_stdin(&given.markdown)
        || given.files.iter().any(|file| file.source == Source::Stdin);
    if reads_stdin || !crate::base::input::stdin_has_data() {
        return;
    }
    let body = match (&given.body, &given.markdown) {
        (BodySource::Text(_), _) => "--body".to_string(),
        (BodySource::File(path), _) => format!("--body-file {}", path.display()),
        (_, Some(Source::Path(path))) => format!("--markdown {}", path.display()),
        _ => "the options".to_string(),
    };
    crate::say!(
        "smtpsend: warning: stdin has data, which is ignored: the text comes from {body} \
         (leave that out to send stdin as the text, or attach stdin with -a -)"
    );
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
