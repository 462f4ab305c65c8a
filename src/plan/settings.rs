//! The effective settings: flags, then `SMTPSEND_*` environment, then the chosen account of
//! the configuration file, then built-in defaults; and `--show-config`, which prints them
//! with the source of each.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::base::exit::{Kind, fail};
use crate::cli::Cli;
pub use crate::cli::QueueMode;
use crate::message::address::Mailbox;
use crate::plan::config::{self, Account, Config, Location};
use crate::plan::credentials::{PASSWORD_VAR, PasswordSource};
use crate::smtp::auth::{Login, Mechanism};
use crate::smtp::stream::Target;
use crate::smtp::tls::{TlsConfig, TlsFile, TlsMode};
use crate::smtp::{Options, Timeouts};

/// The bound on a whole run when `--max-time` is not given, in seconds: an hour. A cron job
/// or CI step must end even when a server reads one byte a second or never answers, and
/// an hour is far longer than any healthy submission (100 MiB at 1 Mbit/s takes 14 minutes).
pub const DEFAULT_MAX_TIME: f64 = 3600.0;

/// The server used when none is given.
pub const DEFAULT_SERVER: &str = "localhost:25";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line option, e.g. `--server`.
    Flag(&'static str),
    /// An environment variable, e.g. `SMTPSEND_SERVER`.
    Env(&'static str),
    /// The named account of the configuration file.
    Account(String),
    /// Built in.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => f.write_str(flag),
            Source::Env(var) => f.write_str(var),
            Source::Account(name) => write!(f, "account {name}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A login whose password has not been read yet (reading may run a command or prompt).
#[derive(Debug, Clone)]
pub struct LoginPlan {
    pub user: String,
    pub password: PasswordSource,
    /// The setting that named the password source, e.g. `--password-file`.
    pub password_label: String,
    pub mechanism: Mechanism,
}

impl LoginPlan {
    /// Reads the password now; a password command gets `deadline` to print it.
    pub fn read(&self, deadline: Duration) -> anyhow::Result<Login> {
        Ok(Login {
            user: self.user.clone(),
            secret: self
                .password
                .read(&self.user, &self.password_label, deadline)?,
            mechanism: self.mechanism,
        })
    }
}

/// One line of `--show-config`.
#[derive(Debug, Clone)]
struct Shown {
    key: &'static str,
    value: String,
    source: String,
}

/// Everything a send needs besides the message.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    pub session: Options,
    /// The configuration file read, if any.
    pub config_path: Option<PathBuf>,
    /// The account used, if any.
    pub account: Option<String>,
    /// The sender the account gives (its `from` when that is an address, not a pattern),
    /// used when neither `-f` nor the message names one.
    pub account_from: Option<Mailbox>,
    /// The domain appended to bare user names (`--qualify-domain`), if any.
    pub qualify_domain: Option<String>,
    /// Who to log in as, when anyone: the user, where the password comes from (and the
    /// setting that named that source, for errors), the mechanism.
    pub login: Option<LoginPlan>,
    /// When messages go through the outbox.
    pub queue: QueueMode,
    /// How many times a temporary failure is tried again.
    pub retries: u32,
    /// The bound on the whole run (`--max-time`), if any.
    pub max_time: Option<Duration>,
    shown: Vec<Shown>,
}

impl Settings {
    /// Merges flags, environment, the configuration file and defaults. `sender` is the
    /// address that picks an account by its `from` (from -f, or the message's From). The
    /// first settings resolved in a run bound it (`--max-time`, see [`crate::base::interrupt`]):
    /// every path resolves them before it reads a password or connects.
    pub fn resolve(cli: &Cli, sender: Option<&str>) -> anyhow::Result<Settings> {
        let settings = Settings::merge(cli, sender)?;
        crate::base::interrupt::limit_run(settings.max_time);
        Ok(settings)
    }

    fn merge(cli: &Cli, sender: Option<&str>) -> anyhow::Result<Settings> {
        let location = config_location(cli);
        let config = match &location {
            Some((location, _)) => Config::load(location)?,
            None => None,
        };
        let account_source = if cli.is_from_env("account") {
            "SMTPSEND_ACCOUNT"
        } else {
            "--account"
        };
        let chosen = match (&config, cli.account.as_deref()) {
            (Some(config), named) => {
                config.choose(named.map(|name| (name, account_source)), sender)?
            }
            (None, Some(name)) => {
                let looked = location.as_ref().map_or_else(
                    || "HOME is not set".to_string(),
                    |(location, _)| format!("{} does not exist", location.path.display()),
                );
                return Err(fail(
                    Kind::Config,
                    format!("{account_source} {name:?}: no configuration file ({looked})"),
                ));
            }
            (None, None) => None,
        };
        let empty = Account::default();
        let (account_name, account) = match &chosen {
            Some(chosen) => (Some(chosen.name.to_string()), chosen.account),
            None => (None, &empty),
        };
        let from_account = || Source::Account(account_name.clone().unwrap_or_default());
        let mut shown = Vec::new();
        let mut show = |key: &'static str, value: String, source: String| {
            shown.push(Shown { key, value, source })
        };
        match &location {
            Some((location, source)) => {
                let state = if config.is_some() { "" } else { ", not found" };
                show(
                    "config",
                    location.path.display().to_string(),
                    format!("{source}{state}"),
                );
            }
            None => show("config", "(none)".into(), "no HOME".into()),
        }
        match &chosen {
            Some(chosen) => show("account", chosen.name.to_string(), chosen.reason.clone()),
            None => show("account", "(none)".into(), "default".into()),
        }

        let (server, server_source) = pick(
            cli,
            "server",
            cli.server.clone(),
            account.server.as_ref().map(|s| s.get_ref().clone()),
            &from_account,
        );
        let server_text = server.unwrap_or_else(|| DEFAULT_SERVER.to_string());
        let lmtp_scheme = server_text.starts_with("lmtp://");
        let lmtp = cli.lmtp || lmtp_scheme;
        let target = super::server::parse_server_for(&server_text, lmtp)?;
        show("server", target.to_string(), server_source.to_string());
        show(
            "protocol",
            if lmtp { "LMTP" } else { "SMTP" }.to_string(),
            if cli.lmtp {
                "--lmtp".to_string()
            } else if lmtp_scheme {
                format!("{server_source}: lmtp://")
            } else {
                Source::Default.to_string()
            },
        );

        let (timeout, timeout_source) = pick(
            cli,
            "timeout",
            cli.timeout,
            account.timeout.as_ref().map(|t| t.get_ref().0),
            &from_account,
        );
        let timeouts = match timeout {
            None => Timeouts::default(),
            Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 => {
                Timeouts::all(Duration::from_secs_f64(seconds))
            }
            Some(seconds) => {
                return Err(fail(
                    Kind::Usage,
                    format!(
                        "{}: give a number of seconds above 0 (at most 86400)",
                        timeout_source.given("--timeout", seconds)
                    ),
                ));
            }
        };
        show(
            "timeout",
            match timeout {
                Some(seconds) => format!("{seconds}s"),
                None => {
                    let t = Timeouts::default();
                    format!(
                        "connect {}s, each reply {}s, end of data {}s",
                        t.connect.as_secs(),
                        t.command.as_secs(),
                        t.data_end.as_secs()
                    )
                }
            },
            timeout_source.to_string(),
        );

        let (ehlo_name, ehlo_source) = pick(
            cli,
            "ehlo_name",
            cli.ehlo_name.clone(),
            account.ehlo_name.as_ref().map(|n| n.get_ref().clone()),
            &from_account,
        );
        if let Some(name) = &ehlo_name {
            crate::message::address::reject_line_breaks("--ehlo-name", name)?;
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(fail(
                    Kind::Usage,
                    format!("--ehlo-name {name:?}: give a host name without spaces"),
                ));
            }
        }
        show(
            "ehlo-name",
            ehlo_name
                .clone()
                .unwrap_or_else(|| "(this host's name, or its address literal)".into()),
            ehlo_source.to_string(),
        );

        let (source_address, source_address_source) = pick(
            cli,
            "source_address",
            cli.source_address,
            account
                .source_address
                .as_ref()
                .and_then(|a| a.get_ref().parse().ok()),
            &from_account,
        );
        if let Some(address) = source_address {
            check_local_address(address, &source_address_source)?;
        }
        show(
            "source-address",
            source_address.map_or_else(
                || "(chosen by the system)".to_string(),
                |address| address.to_string(),
            ),
            source_address_source.to_string(),
        );

        let (queue, queue_source) = pick(
            cli,
            "queue",
            cli.queue,
            account
                .queue
                .as_ref()
                .and_then(|q| QueueMode::from_name(q.get_ref())),
            &from_account,
        );
        let queue = queue.unwrap_or(QueueMode::Never);
        show("queue", queue.name().to_string(), queue_source.to_string());

        let (retries, retries_source) = pick(
            cli,
            "retries",
            cli.retries,
            account.retries.as_ref().map(|r| *r.get_ref()),
            &from_account,
        );
        let retries = retries.unwrap_or(0);
        if retries > config::MAX_RETRIES {
            return Err(fail(
                Kind::Usage,
                format!(
                    "{}: give at most {}",
                    retries_source.given("--retries", retries),
                    config::MAX_RETRIES
                ),
            ));
        }
        show("retries", retries.to_string(), retries_source.to_string());

        let (max_time, max_time_source) = pick(
            cli,
            "max_time",
            cli.max_time,
            account.max_time.as_ref().map(|t| t.get_ref().0),
            &from_account,
        );
        let max_time = match max_time.unwrap_or(DEFAULT_MAX_TIME) {
            0.0 => None,
            seconds if seconds.is_finite() && seconds > 0.0 && seconds <= 7.0 * 86_400.0 => {
                Some(Duration::from_secs_f64(seconds))
            }
            seconds => {
                return Err(fail(
                    Kind::Usage,
                    format!(
                        "{}: give a number of seconds from 0 (no bound) to 604800",
                        max_time_source.given("--max-time", seconds)
                    ),
                ));
            }
        };
        show(
            "max-time",
            max_time.map_or_else(
                || "none".to_string(),
                |limit| format!("{} s", limit.as_secs_f64()),
            ),
            max_time_source.to_string(),
        );

        let (qualify_domain, qualify_source) = pick(
            cli,
            "qualify_domain",
            cli.qualify_domain.clone(),
            account.qualify_domain.as_ref().map(|d| d.get_ref().clone()),
            &from_account,
        );
        if let Some(domain) = &qualify_domain {
            crate::message::address::validate_domain(domain)
                .map_err(|why| fail(Kind::Usage, format!("--qualify-domain {domain:?}: {why}")))?;
        }
        if let Some(domain) = &qualify_domain {
            // Shown only when set: bare user names otherwise go as they are.
            show("qualify-domain", domain.clone(), qualify_source.to_string());
        }

        let account_from = account.sender();
        let default_from = default_sender(qualify_domain.as_deref()).address;
        let (from_value, from_source) = match (&cli.from, &account_from) {
            (Some(from), _) => (from.clone(), flag_or_env(cli, "from").to_string()),
            (None, Some(from)) => (
                from.qualified(qualify_domain.as_deref()).to_text(),
                from_account().to_string(),
            ),
            (None, None) => {
                let pattern = account
                    .from
                    .as_ref()
                    .map(|pattern| {
                        format!(
                            "; the from {} of account {} only selects the account",
                            pattern.get_ref(),
                            account_name.as_deref().unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                let login = if qualify_domain.is_some() {
                    "login@qualify-domain"
                } else {
                    "login@host"
                };
                (
                    default_from,
                    format!("default: {login}, unless the message has a From{pattern}"),
                )
            }
        };
        show("from", from_value, from_source);

        let (tls, tls_source) = pick(
            cli,
            "tls",
            cli.tls,
            account
                .tls
                .as_ref()
                .and_then(|t| TlsMode::parse(t.get_ref())),
            &from_account,
        );
        let tls = resolve_tls(tls.unwrap_or_default(), &server_text, &target)?;
        show("tls", tls_description(tls), tls_source.to_string());

        let (user, user_source) = pick(
            cli,
            "user",
            cli.user.clone(),
            account.user.as_ref().map(|u| u.get_ref().clone()),
            &from_account,
        );
        if let Some(user) = &user {
            crate::message::address::reject_line_breaks("--user", user)?;
            if user.is_empty() {
                return Err(fail(Kind::Usage, "--user: the user name is empty"));
            }
        }
        show(
            "user",
            user.clone()
                .unwrap_or_else(|| "(none: no authentication)".into()),
            user_source.to_string(),
        );
        let (password, password_label) = match password_choice(cli, account, &from_account) {
            Ok(choice) => choice,
            Err(err) if user.is_some() => return Err(err),
            // Without a user no password is used, whatever SMTPSEND_PASSWORD holds.
            Err(_) => (PasswordSource::Prompt, PASSWORD_VAR.to_string()),
        };
        show(
            "password",
            match (&user, &password) {
                (None, _) => "(not used without a user)".to_string(),
                (Some(_), password) => password.to_string(),
            },
            password_label.clone(),
        );
        let (mechanism, auth_source) = pick(
            cli,
            "auth",
            cli.auth,
            account
                .auth
                .as_ref()
                .and_then(|a| Mechanism::parse(a.get_ref())),
            &from_account,
        );
        let mechanism = mechanism.unwrap_or_default();
        show(
            "auth",
            match mechanism {
                Mechanism::Auto => "auto (the strongest the server offers)".to_string(),
                other => other.name().to_string(),
            },
            auth_source.to_string(),
        );
        let login = user.map(|user| LoginPlan {
            user,
            password,
            password_label,
            mechanism,
        });
        let named = |path: &PathBuf, flag: &str| TlsFile {
            path: path.clone(),
            named: flag.to_string(),
        };
        let tls_config = TlsConfig::new(
            cli.tls_ca_file
                .as_ref()
                .map(|path| named(path, "--tls-ca-file")),
            cli.tls_cert
                .as_ref()
                .zip(cli.tls_key.as_ref())
                .map(|(cert, key)| (named(cert, "--tls-cert"), named(key, "--tls-key"))),
            cli.insecure_skip_verify,
        );

        Ok(Settings {
            target,
            session: Options {
                ehlo_name,
                timeouts,
                progress: (!cli.json
                    && cli.debug == 0
                    && crate::base::output::stderr_is_terminal())
                .then_some(crate::report::progress::bar),
                tls,
                tls_config,
                login: None,
                lmtp,
                starttls_on_local: false,
                no_chunking: cli.no_chunking,
                source_address,
            },
            config_path: config.as_ref().map(|config| config.path.clone()),
            account: account_name,
            account_from,
            qualify_domain,
            login,
            queue,
            retries,
            max_time,
            shown,
        })
    }

    /// Checks, before the message is read (someone may be typing it on the terminal), what
    /// the send would otherwise find wrong only afterwards: the TLS files, the password
    /// file, a terminal to ask for the password on. A password file or pipe is read here,
    /// within the command deadline, and what it held is kept for the send (a pipe can be
    /// read only once); a password command runs only at the send.
    pub fn check_ahead(&self) -> anyhow::Result<()> {
        let files = &self.session.tls_config;
        if self.session.tls != TlsMode::None
            && (files.ca_file.is_some() || files.client_cert.is_some())
        {
            files.connector()?;
        }
        if let Some(plan) = &self.login {
            plan.password.check_ahead(
                &plan.user,
                &plan.password_label,
                self.session.timeouts.command,
            )?;
        }
        Ok(())
    }

    /// The session options for sending now: reads the password (which may run a command or
    /// ask on the terminal) and warns about switched-off certificate checks.
    pub fn session_options(&self) -> anyhow::Result<Options> {
        let mut options = self.session.clone();
        let files = &options.tls_config;
        if options.tls != TlsMode::None && (files.ca_file.is_some() || files.client_cert.is_some())
        {
            // Unreadable or malformed PEM files are reported before anything connects.
            files.connector()?;
        }
        if let Some(plan) = &self.login {
            options.login = Some(plan.read(options.timeouts.command)?);
        }
        if options.tls_config.insecure && options.tls != TlsMode::None {
            crate::say!(
                "smtpsend: warning: --insecure-skip-verify: the server's certificate is not checked; \
                 anyone on the network path could read and change this session"
            );
        }
        Ok(options)
    }

    /// `--show-config --json`: an object with one member per setting, each holding its
    /// `value` and its `source`, as in the text (the password masked the same way).
    pub fn show_json(&self) -> serde_json::Value {
        let settings: serde_json::Map<String, serde_json::Value> = self
            .shown
            .iter()
            .map(|row| {
                (
                    row.key.to_string(),
                    serde_json::json!({ "value": row.value, "source": row.source }),
                )
            })
            .collect();
        serde_json::Value::Object(settings)
    }

    /// The `--show-config` text: one line per setting, with where its value came from.
    pub fn show(&self) -> String {
        let width = self
            .shown
            .iter()
            .map(|row| row.key.len())
            .max()
            .unwrap_or(0);
        self.shown
            .iter()
            .map(|row| {
                format!(
                    "{:width$}  {}  ({})\n",
                    row.key,
                    row.value,
                    row.source,
                    width = width
                )
            })
            .collect()
    }
}

/// msmtp's `-a ACCOUNT` means `--attach` here. When an `--attach` value names an account of
/// the configuration file, refuse it with a hint if the command line otherwise looks like a
/// sendmail call handing over a complete message (`-oi`, `-i`, `--` before the recipients:
/// `msmtp -a work -oi -- bob@example.com` from mutt), or if no such file exists.
pub fn check_attach_not_account(cli: &Cli, sendmail_call: bool) -> anyhow::Result<()> {
    if cli.attachments.is_empty() {
        return Ok(());
    }
    let Some((location, _)) = config_location(cli) else {
        return Ok(());
    };
    let Ok(Some(config)) = Config::load(&location) else {
        return Ok(());
    };
    for path in &cli.attachments {
        let Some(name) = path
            .to_str()
            .filter(|name| config.accounts.contains_key(*name))
        else {
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

/// Where the password comes from, and the setting that said so: `--password-file` or
/// `--password-command`, else `SMTPSEND_PASSWORD` (an error when it is not UTF-8), else the
/// account, else the terminal.
fn password_choice(
    cli: &Cli,
    account: &Account,
    from_account: &dyn Fn() -> Source,
) -> anyhow::Result<(PasswordSource, String)> {
    if let Some(path) = &cli.password_file {
        return Ok((PasswordSource::File(path.clone()), "--password-file".into()));
    }
    if let Some(command) = &cli.password_command {
        return Ok((
            PasswordSource::Command(command.clone()),
            "--password-command".into(),
        ));
    }
    if let Some(source) = crate::plan::credentials::password_from_env()? {
        return Ok((source, PASSWORD_VAR.into()));
    }
    Ok(match password_source(account) {
        Some(source) => (source, from_account().to_string()),
        None => (PasswordSource::Prompt, Source::Default.to_string()),
    })
}

/// The account's password source (the file allows at most one of the three keys).
fn password_source(account: &Account) -> Option<PasswordSource> {
    if let Some(secret) = &account.password {
        return Some(PasswordSource::Clear(secret.get_ref().clone()));
    }
    if let Some(path) = &account.password_file {
        return Some(PasswordSource::File(expand_home(path.get_ref())));
    }
    account
        .password_command
        .as_ref()
        .map(|command| PasswordSource::Command(command.get_ref().clone()))
}

/// `~/…` in a path from the configuration file is the home directory.
fn expand_home(path: &std::path::Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) if !home.is_empty() => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// The configuration file to read, and what named it.
fn config_location(cli: &Cli) -> Option<(Location, &'static str)> {
    match &cli.config {
        Some(path) => Some((
            Location {
                path: path.clone(),
                explicit: true,
            },
            flag_or_env(cli, "config").label(),
        )),
        None => config::default_path().map(|path| {
            (
                Location {
                    path,
                    explicit: false,
                },
                "default location",
            )
        }),
    }
}

/// The option with this clap id as a source: its flag, or its variable when set from there.
fn flag_or_env(cli: &Cli, id: &str) -> Source {
    let (flag, var) = match id {
        "server" => ("--server", "SMTPSEND_SERVER"),
        "timeout" => ("--timeout", "SMTPSEND_TIMEOUT"),
        "ehlo_name" => ("--ehlo-name", "SMTPSEND_EHLO_NAME"),
        "source_address" => ("--source-address", "SMTPSEND_SOURCE_ADDRESS"),
        "from" => ("--from", "SMTPSEND_FROM"),
        "config" => ("--config", "SMTPSEND_CONFIG"),
        "account" => ("--account", "SMTPSEND_ACCOUNT"),
        "tls" => ("--tls", "SMTPSEND_TLS"),
        "user" => ("--user", "SMTPSEND_USER"),
        "auth" => ("--auth", "SMTPSEND_AUTH"),
        "queue" => ("--queue", "SMTPSEND_QUEUE"),
        "retries" => ("--retries", "SMTPSEND_RETRIES"),
        "max_time" => ("--max-time", "SMTPSEND_MAX_TIME"),
        "qualify_domain" => ("--qualify-domain", "SMTPSEND_QUALIFY_DOMAIN"),
        _ => ("an option", "the environment"),
    };
    if cli.is_from_env(id) {
        Source::Env(var)
    } else {
        Source::Flag(flag)
    }
}

impl Source {
    /// How a value was given, as the user wrote it: `--timeout 0`, `SMTPSEND_TIMEOUT=0`,
    /// `timeout = 0 in account work`.
    fn given(&self, flag: &str, value: impl fmt::Display) -> String {
        match self {
            Source::Env(var) => format!("{var}={value}"),
            Source::Account(name) => {
                format!(
                    "{} = {value} in account {name}",
                    flag.trim_start_matches('-')
                )
            }
            _ => format!("{flag} {value}"),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Source::Flag(flag) => flag,
            Source::Env(var) => var,
            _ => "default",
        }
    }
}

/// Fails (78) when `address` is not one of this host's, before anything connects: binding a
/// socket to it is what connecting from it will do.
fn check_local_address(address: std::net::IpAddr, source: &Source) -> anyhow::Result<()> {
    match std::net::UdpSocket::bind((address, 0)) {
        Ok(_) => Ok(()),
        Err(err) => Err(fail(
            Kind::Config,
            format!(
                "{}: not an address of this host ({})",
                source.given("--source-address", address),
                crate::base::input::plain_io(&err)
            ),
        )),
    }
}

/// Flag or environment (clap already merged those), else the account, else nothing.
fn pick<T>(
    cli: &Cli,
    id: &str,
    given: Option<T>,
    account: Option<T>,
    from_account: &dyn Fn() -> Source,
) -> (Option<T>, Source) {
    match (given, account) {
        (Some(value), _) => (Some(value), flag_or_env(cli, id)),
        (None, Some(value)) => (Some(value), from_account()),
        (None, None) => (None, Source::Default),
    }
}

/// Implicit TLS for smtps:// and port 465 under `auto`; an explicit mode that contradicts
/// smtps:// is a usage error.
fn resolve_tls(mode: TlsMode, server: &str, target: &Target) -> anyhow::Result<TlsMode> {
    let smtps = server.starts_with("smtps://");
    match mode {
        TlsMode::Auto if smtps => Ok(TlsMode::Implicit),
        TlsMode::Auto if matches!(target, Target::Tcp { port: 465, .. }) => Ok(TlsMode::Implicit),
        TlsMode::Starttls | TlsMode::None if smtps => Err(fail(
            Kind::Usage,
            format!(
                "--server {server} means implicit TLS; it cannot be combined with --tls {}",
                tls_name(mode)
            ),
        )),
        mode => Ok(mode),
    }
}

fn tls_name(mode: TlsMode) -> &'static str {
    mode.name()
}

fn tls_description(mode: TlsMode) -> String {
    match mode {
        TlsMode::Auto => {
            "auto (STARTTLS when offered, except to a loopback address or unix socket)".into()
        }
        other => tls_name(other).to_string(),
    }
}

/// The sender when none is given: `login@host`, like sendmail, or `login@DOMAIN` with a
/// qualify domain. A host name without a dot is used as it is.
pub fn default_sender(qualify_domain: Option<&str>) -> Mailbox {
    let login = ["LOGNAME", "USER"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "root".to_string());
    let domain = qualify_domain.map_or_else(crate::base::host::hostname, str::to_string);
    Mailbox {
        name: None,
        address: format!("{login}@{domain}"),
    }
}
