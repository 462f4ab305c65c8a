//! The command line: clap definitions whose doc comments are the help text.

pub mod generate;
mod help;
pub mod sendmail;

use std::path::PathBuf;

use std::ffi::OsString;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue};
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, ValueEnum};

use crate::smtp::auth::Mechanism;
use crate::smtp::tls::TlsMode;

mod errors;
use errors::*;

mod files;

mod groups;
pub use errors::{conclude, one_line};
use groups::*;

mod stored;
pub use stored::parse_stored;
use stored::*;

mod values;
use values::*;

mod kinds;
pub use kinds::*;

mod derived;

mod network;
pub use network::{NetworkArgs, ProxyChoice, parse_fingerprint, parse_proxy};
pub(crate) use values::{parse_dsn_envid, parse_dsn_notify};

/// Compose a message, or take one from stdin, and submit it over SMTP.
///
/// With --raw, or with recipient arguments and no composing flag, stdin is a complete
/// message (the way cron, git send-email and mutt call sendmail). Otherwise stdin is the
/// body text. Exit codes follow sysexits.h (listed at the end of --help).
#[derive(Debug, Parser)]
#[command(
    name = "smtpsend",
    version,
    disable_version_flag = true,
    disable_help_flag = true,
    max_term_width = 100,
    group(clap::ArgGroup::new("probe").multiple(false))
)]
pub struct Cli {
    /// Recipients (envelope); when composing they also go into To:
    #[arg(value_name = "RECIPIENT")]
    pub recipients: Vec<String>,

    /// Sender for the envelope and the From: header; "Name <addr>" accepted
    #[arg(short = 'f', long, value_name = "ADDR", env = "SMTPSEND_FROM")]
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

    /// HTML part from a file, or from stdin with -; with a text body the message is
    /// multipart/alternative
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,

    /// Markdown from a file, or from stdin with -: rendered (CommonMark, tables,
    /// strikethrough, task lists) as the HTML part, sent as it is as the text part; the local
    /// images it shows go inline
    #[arg(long, value_name = "PATH", conflicts_with_all = ["body", "body_file", "html"])]
    pub markdown: Option<PathBuf>,

    /// Keep raw HTML written in the Markdown (by default it is shown as text)
    #[arg(long, requires = "markdown")]
    pub markdown_allow_html: bool,

    /// Attach a file (type guessed from its name), or stdin with - (the text then comes from
    /// --body, --body-file or --markdown); a directory attaches its regular files; repeatable
    #[arg(short = 'a', long = "attach", value_name = "PATH")]
    pub attachments: Vec<PathBuf>,

    /// Add an image the HTML shows as cid:NAME (NAME: its file name, or --attach-name); - for
    /// stdin; repeatable
    #[arg(long, value_name = "PATH")]
    pub inline: Vec<PathBuf>,

    /// File name of the -a or --inline file just before it (an inline image's cid: NAME)
    #[arg(long, value_name = "NAME")]
    pub attach_name: Vec<String>,

    /// Media type of the -a or --inline file just before it (default: from its name)
    #[arg(long, value_name = "TYPE")]
    pub attach_type: Vec<String>,

    /// In-Reply-To: the Message-ID of the message this one answers (References ends with it)
    #[arg(long, value_name = "MSGID")]
    pub in_reply_to: Option<String>,

    /// References: Message-IDs of the thread, oldest first; repeatable, lists accepted
    #[arg(long, value_name = "MSGID")]
    pub references: Vec<String>,

    /// Priority, as X-Priority and Importance
    #[arg(long, value_name = "LEVEL", value_enum, ignore_case = true)]
    pub priority: Option<Priority>,

    /// Message-ID to give the message (default: a new, unique one)
    #[arg(long, value_name = "MSGID")]
    pub message_id: Option<String>,

    /// Stdin is a complete message: send it as is (Date, Message-ID, From added when missing; Bcc removed)
    #[arg(long, conflicts_with_all = ["subject", "headers", "body", "body_file", "html", "attachments", "to", "cc", "bcc", "reply_to", "markdown", "inline", "attach_name", "attach_type", "in_reply_to", "references", "priority", "message_id", "from_name"])]
    pub raw: bool,

    /// Stdin is a complete message; the recipients are its To, Cc and Bcc (or those of its
    /// most recent Resent-* block), plus any recipient arguments; Bcc and Resent-Bcc are removed
    #[arg(short = 't', long, conflicts_with_all = ["subject", "headers", "body", "body_file", "html", "attachments", "to", "cc", "bcc", "reply_to", "markdown", "inline", "attach_name", "attach_type", "in_reply_to", "references", "priority", "message_id"])]
    pub read_recipients: bool,

    /// Send the complete message in PATH, or each *.eml file when PATH is a directory, over one
    /// connection; recipients come from each message's header (as with -t) plus any
    /// recipient arguments; repeatable
    #[arg(long, value_name = "PATH", conflicts_with_all = ["subject", "headers", "body", "body_file", "html", "attachments", "to", "cc", "bcc", "reply_to", "markdown", "inline", "attach_name", "attach_type", "in_reply_to", "references", "priority", "message_id", "raw", "read_recipients"])]
    pub bulk: Vec<PathBuf>,

    /// Body type (sendmail -B): 8BITMIME declares BODY=8BITMIME; 7BIT refuses 8-bit data
    #[arg(short = 'B', long, value_name = "TYPE", value_enum, ignore_case = true)]
    pub body_type: Option<BodyType>,

    /// DSN: when the server should report, NEVER or a list of SUCCESS,FAILURE,DELAY (sendmail -N);
    /// sent only when the server offers DSN, else a warning
    #[arg(short = 'N', long, value_name = "WHEN", value_parser = parse_dsn_notify)]
    pub dsn_notify: Option<String>,

    /// DSN: what a failure report returns, the full message or its headers (sendmail -R)
    #[arg(short = 'R', long, value_name = "WHAT", value_enum, ignore_case = true)]
    pub dsn_return: Option<DsnReturn>,

    /// DSN: envelope identifier quoted back in reports (sendmail -V ID; -V alone prints the version)
    #[arg(short = 'V', long, value_name = "ID", value_parser = parse_dsn_envid)]
    pub dsn_envid: Option<String>,

    /// Server: HOST[:PORT], [IPv6]:PORT, smtp://HOST[:PORT], smtps://HOST[:PORT] (implicit TLS, port 465), lmtp://HOST[:PORT] (LMTP, port 24), /path/to/socket, unix:/path, smtp:///path or lmtp:///path (default localhost:25)
    #[arg(long, value_name = "SERVER", env = "SMTPSEND_SERVER")]
    pub server: Option<String>,

    /// Speak LMTP (RFC 2033) to a delivery agent: LHLO, then one reply per recipient after the
    /// data; exit 0 only when every recipient got the message (port 24 unless given)
    #[arg(long)]
    pub lmtp: bool,

    /// Send with DATA even when the server offers CHUNKING (BDAT, RFC 3030), for a server
    /// whose BDAT is broken; also turns off BINARYMIME
    #[arg(long)]
    pub no_chunking: bool,

    /// When to use TLS: auto = implicit TLS on port 465 and smtps://, else STARTTLS whenever offered (on a loopback address or unix socket only when a login needs it)
    #[arg(
        long,
        value_name = "MODE",
        value_parser = tls_modes(),
        ignore_case = true,
        env = "SMTPSEND_TLS"
    )]
    pub tls: Option<TlsMode>,

    /// Trust only the CA certificates in this PEM file (instead of the system's)
    #[arg(long, value_name = "PEM")]
    pub tls_ca_file: Option<PathBuf>,

    /// Client certificate to present (PEM; needs --tls-key)
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key of the client certificate (PEM, PKCS#8; needs --tls-cert)
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Accept any server certificate and host name (insecure; prints a warning)
    #[arg(long)]
    pub insecure_skip_verify: bool,

    #[command(flatten)]
    pub network: NetworkArgs,

    /// Log in as this user (the password comes from SMTPSEND_PASSWORD, --password-file, --password-command or a prompt)
    #[arg(long, value_name = "NAME", env = "SMTPSEND_USER")]
    pub user: Option<String>,

    /// SASL mechanism; auto picks SCRAM-SHA-256, then PLAIN/LOGIN over TLS, then CRAM-MD5. For xoauth2 and oauthbearer the password is the token
    #[arg(
        long,
        value_name = "MECHANISM",
        value_parser = mechanisms(),
        ignore_case = true,
        env = "SMTPSEND_AUTH"
    )]
    pub auth: Option<Mechanism>,

    /// Read the password from the first line of this file (it must not be readable by group or others)
    #[arg(long, value_name = "PATH", conflicts_with = "password_command")]
    pub password_file: Option<PathBuf>,

    /// Run this shell command and use the first line it prints as the password; it is stopped
    /// (exit 78) if it takes longer than the command deadline (60 s, or --timeout)
    #[arg(long, value_name = "COMMAND")]
    pub password_command: Option<String>,

    /// Append @DOMAIN to bare user names (`root`) in the envelope and in composed headers,
    /// and use it for the default sender user@DOMAIN (without it they go unqualified)
    #[arg(long, value_name = "DOMAIN", env = "SMTPSEND_QUALIFY_DOMAIN")]
    pub qualify_domain: Option<String>,

    /// Name to give in EHLO/HELO (default: this host's name, or its address literal)
    #[arg(long, value_name = "NAME", env = "SMTPSEND_EHLO_NAME")]
    pub ehlo_name: Option<String>,

    /// Connect from this local address (one of this host's; IPv4 or IPv6, as the server's)
    #[arg(long, value_name = "IP", env = "SMTPSEND_SOURCE_ADDRESS")]
    pub source_address: Option<std::net::IpAddr>,

    /// Deadline in seconds for connecting and for each server reply
    #[arg(
        long,
        value_name = "SECONDS",
        env = "SMTPSEND_TIMEOUT",
        allow_negative_numbers = true
    )]
    pub timeout: Option<f64>,

    /// Bound on the whole run in seconds, whatever the server does (0: none; default 3600):
    /// when it passes, the run ends as a temporary failure (75), queued when the outbox is on
    #[arg(
        long,
        value_name = "SECONDS",
        env = "SMTPSEND_MAX_TIME",
        allow_negative_numbers = true
    )]
    pub max_time: Option<f64>,

    /// Most bytes read from stdin (a complete message or the body text, held in memory) and
    /// from a body file that is a pipe; K, M and G multiply by 1024s (default 64M)
    #[arg(long, value_name = "SIZE", env = "SMTPSEND_MAX_INPUT_SIZE", value_parser = parse_size)]
    pub max_input_size: Option<u64>,

    /// Try again this many times after a temporary failure, waiting 1s, 2s, 4s and so on (at
    /// most 60s) in between; never once the message data was sent and its reply was lost
    #[arg(long, value_name = "N", env = "SMTPSEND_RETRIES")]
    pub retries: Option<u32>,

    /// Connections at once for --bulk and -q, 1 to 32 (default 1); each message still goes
    /// exactly once, and the transcript and --json say which connection carried it
    #[arg(long, value_name = "N", env = "SMTPSEND_PARALLEL")]
    pub parallel: Option<usize>,

    /// Messages written ahead of their replies on each connection of --bulk and -q when the
    /// server offers PIPELINING and CHUNKING, 1 to 100 (default 16); a lost connection
    /// leaves at most this many unanswered, kept in the outbox by -q
    #[arg(long, value_name = "N", env = "SMTPSEND_WINDOW")]
    pub window: Option<usize>,

    /// Outbox: on-failure keeps a message that hit a temporary failure and exits 0 ("queued
    /// as ID"); always writes it there first and removes it once the server took it
    #[arg(
        long,
        value_name = "WHEN",
        value_enum,
        env = "SMTPSEND_QUEUE",
        conflicts_with = "bulk"
    )]
    pub queue: Option<QueueMode>,

    /// Deliver the messages in the outbox, one connection per server (sendmail -q)
    #[arg(short = 'q', long, conflicts_with_all = NOT_WITH_QUEUE_COMMANDS,
          conflicts_with_all = ["list_queue", "drop_queue"])]
    pub flush_queue: bool,

    /// List the outbox: id, age, sender, recipients, attempts, last error (sendmail -bp)
    #[arg(long, conflicts_with_all = NOT_WITH_QUEUE_COMMANDS, conflicts_with = "drop_queue")]
    pub list_queue: bool,

    /// Remove a message from the outbox without sending it; repeatable
    #[arg(long, value_name = "ID", conflicts_with_all = NOT_WITH_QUEUE_COMMANDS)]
    pub drop_queue: Vec<String>,

    /// Probe: ask the server about ADDR with VRFY and print its answer; exit 0 for 250, 251
    /// and 252, 67 when it does not know the address, 69 when it does not answer VRFY
    #[arg(long, value_name = "ADDR", group = "probe", conflicts_with_all = MESSAGE_OPTIONS.iter().chain(&OTHER_COMMANDS))]
    pub verify: Option<String>,

    /// Probe: expand a mailing list with EXPN and print its members, one per line
    #[arg(long, value_name = "LIST", group = "probe", conflicts_with_all = MESSAGE_OPTIONS.iter().chain(&OTHER_COMMANDS))]
    pub expn: Option<String>,

    /// Probe: print the greeting, each EHLO extension explained, the size limit, login
    /// mechanisms, and the TLS session (version, cipher, certificate, fingerprint); with
    /// STARTTLS, what the server offers before and after it
    #[arg(long, group = "probe", conflicts_with_all = MESSAGE_OPTIONS.iter().chain(&OTHER_COMMANDS))]
    pub server_info: bool,

    /// Probe: connect, EHLO (TLS and login as configured), NOOP, QUIT; exit 0 when all
    /// worked, else the usual exit code (a health check for CI)
    #[arg(long, group = "probe", conflicts_with_all = MESSAGE_OPTIONS.iter().chain(&OTHER_COMMANDS))]
    pub check: bool,

    /// Configuration file (default $XDG_CONFIG_HOME/smtpsend/config.toml); the system file
    /// /etc/smtpsend/config.toml is read beneath it
    #[arg(long, value_name = "PATH", env = "SMTPSEND_CONFIG")]
    pub config: Option<PathBuf>,

    /// Use this account from the configuration file
    #[arg(long, value_name = "NAME", env = "SMTPSEND_ACCOUNT")]
    pub account: Option<String>,

    /// Print the effective settings and where each comes from (password masked), then exit;
    /// with --json as a JSON object
    #[arg(long)]
    pub show_config: bool,

    /// Append one line per message and attempt to this file: time, account, server, TLS,
    /// user, sender, recipients and their replies, size, Message-ID, result (never a password)
    #[arg(long, value_name = "PATH", env = "SMTPSEND_LOG_FILE")]
    pub log_file: Option<PathBuf>,

    /// Check the account's alias file and print what each name stands for, then exit (what
    /// newaliases and sendmail -bi do)
    #[arg(long, group = "probe", conflicts_with_all = MESSAGE_OPTIONS.iter().chain(&OTHER_COMMANDS))]
    pub check_aliases: bool,

    /// Set up an account on a terminal: asks for the address (EMAIL), takes the provider's
    /// settings from its domain when it knows them (else asks for the server), asks how to
    /// log in, tests the account as --check does, then adds it to the configuration file
    #[arg(long, value_name = "EMAIL", num_args = 0..=1, default_missing_value = "", group = "probe", conflicts_with_all = MESSAGE_OPTIONS.iter().chain(&OTHER_COMMANDS))]
    pub setup: Option<String>,

    /// Sign in to the account's OAuth2 provider (oauth2 in the configuration file): print a
    /// web address and a code to enter there, wait, and store the refresh token a send uses
    #[arg(long, group = "probe", conflicts_with_all = MESSAGE_OPTIONS.iter().chain(&OTHER_COMMANDS))]
    pub oauth2_login: bool,

    /// Send when at least one recipient is accepted, reporting the refused ones
    #[arg(long)]
    pub partial: bool,

    /// Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data
    #[arg(short = 'd', long, action = ArgAction::Count, visible_short_alias = 'v')]
    pub debug: u8,

    /// Print the envelope and the exact message that would be sent; connect to nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print the outcome as JSON on stdout
    #[arg(long)]
    pub json: bool,

    /// Print the man page or a shell completion script on stdout
    #[arg(long, value_name = "WHAT", value_enum, hide = true)]
    pub generate: Option<crate::cli::generate::Target>,

    /// Print version (-V alone does too)
    #[arg(long, action = ArgAction::Version)]
    version: Option<bool>,

    /// Print help: -h a summary, --help everything
    #[arg(short = 'h', long, action = ArgAction::Help)]
    help: Option<bool>,

    /// Ids of the options whose value came from their environment variable, not argv.
    #[arg(skip)]
    pub from_env: Vec<String>,

    /// The options given that choose and reach the server, as `--name=value`: a queued
    /// message keeps them, and a flush sends it with them (see [`parse_stored`]).
    #[arg(skip)]
    pub server_options: Vec<String>,

    /// Why this run is a sendmail call (`invoked as sendmail`, `-t`, `-oi`, …), when it is
    /// one: such a call keeps a message it cannot send now (see [`sendmail::call`]).
    #[arg(skip)]
    pub sendmail_call: Option<String>,

    /// `-a` and `--inline` in the order given, each with the `--attach-name` and
    /// `--attach-type` that follow it (see [`files::file_specs`]).
    #[arg(skip)]
    pub files: Vec<crate::message::compose::FileSpec>,
}

/// The clap command: the definitions above, with the exit codes (from their one source,
/// `base::exit`) and the sendmail notes at the end of `--help`, and the options under
/// headings.
pub fn command() -> clap::Command {
    help::with_headings(plain_command())
}

/// [`command`] without the headings: the man page lists every option in one OPTIONS
/// section.
pub fn plain_command() -> clap::Command {
    let codes: String = crate::base::exit::table()
        .into_iter()
        .map(|(code, meaning)| format!("  {code:<3} {meaning}\n"))
        .collect();
    Cli::command().after_long_help(format!(
        "{}\n\nExit status (sysexits.h):\n{codes}",
        sendmail::HELP_NOTE
    ))
}

/// Parses `args` (argv[0] first) after rewriting sendmail's forms into smtpsend's own.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    let mut command = match help::wants_short(&args) {
        true => help::short(command()),
        false => command(),
    };
    command.build();
    let sendmail_call = sendmail::call(&args);
    let args = crate::cli::sendmail::normalize(args, &command)
        .map_err(|message| command.error(clap::error::ErrorKind::ArgumentConflict, message))?;
    let matches = command
        .try_get_matches_from_mut(args.clone())
        .map_err(|err| name_the_variable(err, &mut command, &args))?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.from_env = command
        .get_arguments()
        .map(|arg| arg.get_id().as_str())
        .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::EnvVariable))
        .map(str::to_string)
        .collect();
    cli.server_options = server_options(&command, &matches);
    cli.sendmail_call = sendmail_call;
    cli.files = files::file_specs(&matches)
        .map_err(|message| command.error(clap::error::ErrorKind::ArgumentConflict, message))?;
    Ok(cli)
}
