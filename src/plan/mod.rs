//! What to do, resolved once: [`Plan`] is built from what was typed ([`Cli`]), the
//! environment and the configuration file, and is all the runners in `run/` get. Every check
//! that needs nothing but the command line happens here, before any input is read.
//!
//! May import `cli`, `report`, `smtp`, `message` and `base`; nothing in those imports it.

pub mod config;
pub mod credentials;
pub mod network;
mod outbox;
pub mod providers;
pub mod sender;
pub mod server;
pub mod settings;
pub mod table;

use std::path::PathBuf;

use crate::base::exit::{Kind, fail};
use crate::cli::Cli;
use crate::cli::generate::Target;
use crate::message::compose::{BodySource, ComposeInput, Source, Thread};
use crate::message::stamp;
use crate::smtp::Policy;
pub use outbox::OutboxPlace;
pub use sender::SenderChoice;
pub use settings::Settings;

/// What a run does.
pub enum Plan {
    /// Print the man page or a completion script (`--generate`).
    Generate(crate::cli::generate::Target),
    /// Print what a completion offers, one a line (`--generate accounts|servers`).
    Candidates(Vec<String>),
    /// Print the effective settings (`--show-config`).
    ShowConfig { settings: Box<Settings>, json: bool },
    /// Check the account's alias file and show what each name stands for
    /// (`--check-aliases`, `newaliases`, `-bi`).
    CheckAliases { settings: Box<Settings> },
    /// List the outbox (`--list-queue`, `-bp`, `mailq`), with the route each entry takes
    /// (another one with `--server` or `--account`).
    ListQueue {
        place: OutboxPlace,
        reroute: Option<SettingsResolver>,
        json: bool,
    },
    /// Remove outbox entries (`--drop-queue`).
    DropQueue {
        place: OutboxPlace,
        ids: Vec<String>,
    },
    /// Deliver the outbox (`-q`).
    Flush(Flush),
    /// Sign an account in to its OAuth2 provider (`--oauth2-login`).
    OAuth2Login(std::sync::Arc<credentials::oauth2::OAuth2>),
    /// Set up an account on the terminal (`--setup`).
    Setup(Setup),
    /// Ask the server something, send nothing (`--verify`, `--expn`, `--server-info`,
    /// `--check`).
    Probe(Box<Probe>),
    /// Send the complete messages in files over one connection (`--bulk`).
    Bulk(Box<Bulk>),
    /// Compose a message, or take one from stdin, and send it (or show it: `--dry-run`).
    Send(Box<Send>),
}

/// How the outcome is shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    /// `--json`: one JSON document on stdout.
    pub json: bool,
    /// `-d`: the transcript level (0 none, 1, 2 with timestamps, 3 with the data).
    pub debug: u8,
}

/// `-q`: the outbox's entries, each with the settings it was queued with, or all of them
/// the way `-q --server …` or `-q --account …` says.
pub struct Flush {
    pub output: Output,
    pub place: OutboxPlace,
    /// Resolves the settings an entry was queued with (its stored options).
    pub stored: StoredResolver,
    /// `-q --server`/`--account`: every entry goes this way instead (its sender may still
    /// pick the account by its `from`).
    pub reroute: Option<SettingsResolver>,
}

/// `--setup [EMAIL]`: the address if given, and the configuration file to add to.
pub struct Setup {
    pub email: Option<String>,
    pub location: Option<config::Location>,
}

/// A probe and the settings of its session.
pub struct Probe {
    pub kind: ProbeKind,
    pub settings: Settings,
    pub output: Output,
}

/// Which probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    Verify(String),
    Expn(String),
    ServerInfo,
    Check,
}

/// `--bulk`: complete messages in files.
pub struct Bulk {
    pub files: Vec<PathBuf>,
    pub sender: SenderChoice,
    /// Recipient arguments, added to each message's own.
    pub recipients: Vec<String>,
    pub policy: Policy,
    pub output: Output,
    pub dry_run: bool,
    pub settings: Settings,
}

/// One message: composed, or complete on stdin.
pub struct Send {
    pub input: Input,
    pub sender: SenderChoice,
    pub policy: Policy,
    pub output: Output,
    pub dry_run: bool,
    /// `-B 7BIT`: a message with 8-bit bytes is refused.
    pub seven_bit: bool,
    /// The settings, resolved once the sender is known (in raw mode the message's From
    /// picks the account, so the message is read first).
    pub settings: SettingsResolver,
    /// The options that chose and reached the server, kept with a queued message.
    pub kept_options: Vec<String>,
    /// The most bytes read from stdin (`--max-input-size`).
    pub max_input: u64,
}

/// Where the message comes from.
pub enum Input {
    /// Compose it from the flags.
    Compose(Box<ComposeInput>),
    /// A complete message on stdin; with `read_recipients` (-t) its header names recipients
    /// too; `recipients` are the recipient arguments.
    Raw {
        read_recipients: bool,
        recipients: Vec<String>,
    },
}

/// Resolves the settings for a sender, once it is known.
pub struct SettingsResolver {
    cli: Cli,
}

impl std::fmt::Debug for SettingsResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SettingsResolver")
    }
}

impl SettingsResolver {
    /// The settings when `sender` picks the account (see [`Settings::resolve`]).
    pub fn resolve(&self, sender: Option<&str>) -> anyhow::Result<Settings> {
        Settings::resolve(&self.cli, sender)
    }
}

/// Resolves the settings of a queued message from the options it kept, with this run's
/// output options, time bound and log file.
pub struct StoredResolver {
    output: Output,
    max_time: Option<f64>,
    log_file: Option<PathBuf>,
    /// `--parallel` and `--window` of this run, and which came from their variables.
    parallel: Option<usize>,
    window: Option<usize>,
    from_env: Vec<String>,
}

impl StoredResolver {
    /// The settings for a queued message sent by `sender`, from its stored `options`.
    pub fn resolve(&self, options: &[String], sender: &str) -> anyhow::Result<Settings> {
        let mut stored = crate::cli::parse_stored(options).map_err(|err| {
            fail(
                Kind::Config,
                format!(
                    "the options it was queued with are no longer valid ({}): {}",
                    options.join(" "),
                    crate::cli::one_line(&err)
                ),
            )
        })?;
        stored.debug = self.output.debug;
        stored.json = self.output.json;
        stored.max_time = self.max_time;
        stored.log_file = self.log_file.clone();
        stored.parallel = self.parallel;
        stored.window = self.window;
        stored.from_env = self.from_env.clone();
        Settings::resolve(&stored, Some(sender))
    }
}

/// Builds the plan for what was typed. Fails, before any input is read, on everything the
/// command line alone shows to be wrong.
pub fn plan(cli: Cli) -> anyhow::Result<Plan> {
    let output = Output {
        json: cli.json,
        debug: cli.debug,
    };
    if let Some(target) = cli.generate {
        return Ok(match target {
            Target::Accounts | Target::Servers => Plan::Candidates(candidates(&cli, target)),
            _ => Plan::Generate(target),
        });
    }
    if cli.list_queue || cli.flush_queue || !cli.drop_queue.is_empty() {
        return outbox::plan(cli, output);
    }
    if cli.check_aliases {
        let settings = Settings::resolve(&cli, None)?;
        return Ok(Plan::CheckAliases {
            settings: Box::new(settings),
        });
    }
    if cli.oauth2_login {
        return oauth2_login(&cli);
    }
    if let Some(email) = &cli.setup {
        return Ok(Plan::Setup(Setup {
            email: (!email.is_empty()).then(|| email.clone()),
            location: settings::config_location(&cli).map(|(location, _)| location),
        }));
    }
    if let Some(kind) = probe_kind(&cli)? {
        let hint = sender::probe_hint(&cli)?;
        let settings = Settings::resolve(&cli, hint.as_deref())?;
        return Ok(Plan::Probe(Box::new(Probe {
            kind,
            settings,
            output,
        })));
    }
    let sender = SenderChoice::from_cli(&cli)?;
    if cli.show_config {
        let settings = Settings::resolve(&cli, sender.hint())?;
        return Ok(Plan::ShowConfig {
            settings: Box::new(settings),
            json: cli.json,
        });
    }
    let policy = policy(&cli);
    if !cli.bulk.is_empty() {
        let settings = Settings::resolve(&cli, sender.hint())?;
        return Ok(Plan::Bulk(Box::new(Bulk {
            files: cli.bulk.clone(),
            recipients: cli.recipients.clone(),
            sender,
            policy,
            output,
            dry_run: cli.dry_run,
            settings,
        })));
    }
    send_plan(cli, sender, policy, output)
}

/// A message to send: composed from the options, or taken from stdin.
fn send_plan(
    cli: Cli,
    sender: SenderChoice,
    policy: Policy,
    output: Output,
) -> anyhow::Result<Plan> {
    let argv: Vec<_> = std::env::args_os().collect();
    check_attach_not_account(&cli, crate::cli::sendmail::looks_like_sendmail_call(&argv))?;
    check_recipients_given(&cli)?;
    let input = if cli.stdin_is_message() {
        Input::Raw {
            read_recipients: cli.read_recipients,
            recipients: cli.recipients.clone(),
        }
    } else {
        Input::Compose(Box::new(compose_input(&cli)?))
    };
    Ok(Plan::Send(Box::new(Send {
        input,
        sender,
        policy,
        output,
        dry_run: cli.dry_run,
        seven_bit: cli.body_type == Some(crate::cli::BodyType::SevenBit),
        kept_options: cli.server_options.clone(),
        max_input: cli.max_input(),
        settings: SettingsResolver { cli },
    })))
}

/// What a completion offers for `--account` (the accounts' names) or `--server` (the
/// forms a server is written in, the provider presets, then the accounts' servers), of the
/// user's file and the system file; nothing from a file that is missing or broken (a
/// completion must not fail).
fn candidates(cli: &Cli, target: Target) -> Vec<String> {
    let locations = settings::config_location(cli)
        .map(|(location, _)| location)
        .into_iter()
        .chain([config::system_location().0]);
    let configs: Vec<config::Config> = locations
        .filter_map(|location| config::Config::load(&location).ok().flatten())
        .collect();
    let accounts = configs.iter().flat_map(|config| config.accounts.iter());
    match target {
        Target::Accounts => {
            let names: std::collections::BTreeSet<String> =
                accounts.map(|(name, _)| name.clone()).collect();
            names.into_iter().collect()
        }
        _ => ["smtp://", "smtps://", "lmtp://", "unix:/"]
            .map(str::to_string)
            .into_iter()
            .chain(providers::PRESETS.map(|preset| preset.name.to_string()))
            .chain(accounts.filter_map(|(_, account)| {
                account
                    .server
                    .as_ref()
                    .map(|server| server.get_ref().clone())
            }))
            .collect(),
    }
}

/// `--oauth2-login`: the account's OAuth2 settings; an account without them is an error
/// (78) naming what is missing.
fn oauth2_login(cli: &Cli) -> anyhow::Result<Plan> {
    let settings = Settings::resolve(cli, None)?;
    if let Some(oauth) = settings.oauth2 {
        return Ok(Plan::OAuth2Login(oauth));
    }
    let why = match &settings.account {
        Some(account) => format!(
            "account {account} has no oauth2 key (oauth2 = \"google\", \"microsoft\" or \"custom\", with oauth2-client-id)"
        ),
        None => "no account was chosen: give --account NAME, an account with oauth2 in the configuration file".to_string(),
    };
    Err(fail(Kind::Config, format!("--oauth2-login: {why}")))
}

/// The transaction rules asked for: `--partial`, `-B 8BITMIME`, the DSN flags.
fn policy(cli: &Cli) -> Policy {
    Policy {
        partial: cli.partial,
        declare_8bitmime: cli.body_type == Some(crate::cli::BodyType::EightBitMime),
        dsn: cli.dsn(),
    }
}

/// The probe asked for, if any (clap lets at most one through); its argument must be one
/// non-empty line.
fn probe_kind(cli: &Cli) -> anyhow::Result<Option<ProbeKind>> {
    let argument = |flag: &str, value: &String| {
        if value.trim().is_empty() || value.contains(['\r', '\n', '\0']) {
            return Err(fail(
                Kind::Usage,
                format!("{flag} needs a non-empty value on one line, got {value:?}"),
            ));
        }
        Ok(value.clone())
    };
    Ok(if let Some(address) = &cli.verify {
        Some(ProbeKind::Verify(argument("--verify", address)?))
    } else if let Some(list) = &cli.expn {
        Some(ProbeKind::Expn(argument("--expn", list)?))
    } else if cli.server_info {
        Some(ProbeKind::ServerInfo)
    } else {
        cli.check.then_some(ProbeKind::Check)
    })
}

/// What composing needs from the command line, checked (see [`ComposeInput::check`]). The
/// text comes from `--body` or `--body-file`, else from stdin unless the Markdown is the text
/// or stdin is read for something else (`-a -`, `--inline -`, `--html -`).
fn compose_input(cli: &Cli) -> anyhow::Result<ComposeInput> {
    let html = cli.html.as_deref().map(Source::from_arg);
    let markdown = cli.markdown.as_deref().map(Source::from_arg);
    let stdin_taken =
        html == Some(Source::Stdin) || cli.files.iter().any(|spec| spec.source == Source::Stdin);
    let body = match (&cli.body, &cli.body_file) {
        (Some(text), _) => BodySource::Text(text.clone()),
        (None, Some(path)) => BodySource::File(path.clone()),
        (None, None) if markdown.is_some() || stdin_taken => BodySource::None,
        (None, None) => BodySource::Stdin,
    };
    let mut references = Vec::new();
    for value in &cli.references {
        references.extend(stamp::message_ids_arg("--references", value)?);
    }
    let id = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|value| stamp::message_id_arg(flag, value))
            .transpose()
    };
    let input = ComposeInput {
        to: cli.to.clone(),
        cc: cli.cc.clone(),
        bcc: cli.bcc.clone(),
        reply_to: cli.reply_to.clone(),
        recipients: cli.recipients.clone(),
        subject: cli.subject.clone(),
        headers: cli.headers.clone(),
        body,
        html,
        markdown,
        markdown_allow_html: cli.markdown_allow_html,
        files: cli.files.clone(),
        thread: Thread {
            message_id: id("--message-id", &cli.message_id)?,
            in_reply_to: id("--in-reply-to", &cli.in_reply_to)?,
            references,
        },
        priority: cli.priority.map(Into::into),
        max_input: cli.max_input(),
    };
    input.check()?;
    Ok(input)
}

/// Fails before stdin is read (where someone may be typing the body on a terminal) when
/// nothing can name a recipient: no --to, --cc, --bcc or argument, and no -t.
fn check_recipients_given(cli: &Cli) -> anyhow::Result<()> {
    let named = [&cli.to, &cli.cc, &cli.bcc, &cli.recipients]
        .iter()
        .any(|list| !list.is_empty());
    if named || cli.read_recipients {
        return Ok(());
    }
    Err(fail(
        Kind::Usage,
        "no recipients: give --to, --cc, --bcc or recipient arguments",
    ))
}

/// msmtp's `-a ACCOUNT` means `--attach` here. When an `--attach` value names an account of
/// the configuration file, refuse it with a hint if the command line otherwise looks like a
/// sendmail call handing over a complete message (`-oi`, `-i`, `--` before the recipients:
/// `msmtp -a work -oi -- bob@example.com` from mutt), or if no such file exists.
fn check_attach_not_account(cli: &Cli, sendmail_call: bool) -> anyhow::Result<()> {
    if cli.attachments.is_empty() {
        return Ok(());
    }
    let Ok(files) = config::Files::load(settings::config_location(cli)) else {
        return Ok(());
    };
    for path in &cli.attachments {
        let Some(name) = path.to_str().filter(|name| files.has_account(name)) else {
            continue;
        };
        let hint = format!("to use account {name}, say --account {name}");
        if sendmail_call {
            return Err(fail(
                Kind::Usage,
                format!(
                    "-a {name}: -a attaches a file in smtpsend (it is msmtp's account option), \
                     and this looks like a sendmail call with a complete message on stdin; {hint}"
                ),
            ));
        }
        if let Err(err) = std::fs::metadata(path) {
            return Err(fail(
                Kind::NoInput,
                format!(
                    "cannot read attachment {name}: {} ({hint})",
                    crate::base::input::plain_io(&err)
                ),
            ));
        }
    }
    Ok(())
}
