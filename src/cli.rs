//! The command line: clap definitions whose doc comments are the help text.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

/// Compose a message, or take one from stdin, and submit it over SMTP.
///
/// With --raw, or with recipient arguments and no composing flag, stdin is a complete
/// message (the way cron, git send-email and mutt call sendmail). Otherwise stdin is the
/// body text. Exit codes follow sysexits.h: 0 sent, 75 temporary failure (retry later),
/// 67 recipient refused, 69 server refused, 64 usage, 65 bad message, 66 unreadable file.
#[derive(Debug, Parser)]
#[command(name = "smtpsend", version, max_term_width = 100)]
pub struct Cli {
    /// Recipients (envelope); when composing they also go into To:
    #[arg(value_name = "RECIPIENT")]
    pub recipients: Vec<String>,

    /// Sender for the envelope and the From: header; "Name <addr>" accepted
    #[arg(short = 'f', long, value_name = "ADDR")]
    pub from: Option<String>,

    /// Display name for the From: header
    #[arg(short = 'F', long, value_name = "NAME")]
    pub from_name: Option<String>,

    /// Envelope sender only (MAIL FROM); "<>" for the null sender
    #[arg(long, value_name = "ADDR")]
    pub envelope_from: Option<String>,

    /// To: recipient; repeatable, comma-separated lists accepted
    #[arg(long, value_name = "ADDR")]
    pub to: Vec<String>,

    /// Cc: recipient; repeatable, comma-separated lists accepted
    #[arg(long, value_name = "ADDR")]
    pub cc: Vec<String>,

    /// Blind copy: envelope only, never written as a header; repeatable
    #[arg(long, value_name = "ADDR")]
    pub bcc: Vec<String>,

    /// Reply-To: address; repeatable, comma-separated lists accepted
    #[arg(long, value_name = "ADDR")]
    pub reply_to: Vec<String>,

    /// Subject: line; non-ASCII text is encoded (RFC 2047)
    #[arg(short = 's', long, value_name = "TEXT")]
    pub subject: Option<String>,

    /// Extra header, 'Name: value'; repeatable
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,

    /// Body text (instead of stdin)
    #[arg(long, value_name = "TEXT", conflicts_with = "body_file")]
    pub body: Option<String>,

    /// Read the body text from a file (instead of stdin)
    #[arg(long, value_name = "PATH")]
    pub body_file: Option<PathBuf>,

    /// HTML part from a file; with a text body the message is multipart/alternative
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,

    /// Attach a file (type guessed from its name); a directory attaches its regular files; repeatable
    #[arg(short = 'a', long = "attach", value_name = "PATH")]
    pub attachments: Vec<PathBuf>,

    /// Stdin is a complete message: send it as is (Date, Message-ID, From added when missing; Bcc removed)
    #[arg(long, conflicts_with_all = ["subject", "headers", "body", "body_file", "html", "attachments", "to", "cc", "bcc", "reply_to", "from_name"])]
    pub raw: bool,

    /// Server: HOST[:PORT], [IPv6]:PORT or smtp://HOST[:PORT] (default localhost:25)
    #[arg(long, value_name = "SERVER", env = "SMTPSEND_SERVER")]
    pub server: Option<String>,

    /// Name to give in EHLO/HELO (default: this host's name, or its address literal)
    #[arg(long, value_name = "NAME")]
    pub ehlo_name: Option<String>,

    /// Deadline in seconds for connecting and for each server reply
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// Send when at least one recipient is accepted, reporting the refused ones
    #[arg(long)]
    pub partial: bool,

    /// Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data
    #[arg(short = 'd', long, action = ArgAction::Count)]
    pub debug: u8,

    /// Print the envelope and the exact message that would be sent; connect to nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print the outcome as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    /// True when any flag that composes a message was given.
    pub fn composes(&self) -> bool {
        self.subject.is_some()
            || !self.headers.is_empty()
            || self.body.is_some()
            || self.body_file.is_some()
            || self.html.is_some()
            || !self.attachments.is_empty()
            || !self.to.is_empty()
            || !self.cc.is_empty()
            || !self.bcc.is_empty()
            || !self.reply_to.is_empty()
    }

    /// True when stdin holds a complete message rather than body text.
    pub fn stdin_is_message(&self) -> bool {
        self.raw || (!self.recipients.is_empty() && !self.composes())
    }
}

/// A clap error as one line, without the usage block that follows it.
pub fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
