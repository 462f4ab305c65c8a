//! The effective settings: flags, then `SMTPSEND_*` environment, then the chosen account of
//! the configuration file, then built-in defaults; and `--show-config`, which prints them
//! with the source of each.

use std::path::PathBuf;
use std::time::Duration;

use crate::base::exit::{Kind, fail};
use crate::cli::Cli;
pub use crate::cli::QueueMode;
use crate::message::address::Mailbox;
use crate::plan::config::{self, Account, Config, Location};
use crate::plan::credentials::{self, PASSWORD_VAR, PasswordSource};
use crate::plan::table::{self, Picker, Shown, Source};
use crate::smtp::auth::{Login, Mechanism};
use crate::smtp::stream::Target;
use crate::smtp::tls::{TlsConfig, TlsFile, TlsMode};
use crate::smtp::{Options, Timeouts};

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

/// How `--bulk` and `-q` spread their messages: `parallel` connections at once, and on each
/// up to `window` messages written ahead of their replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    pub parallel: usize,
    pub window: usize,
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
    /// Connections at once and messages ahead of their replies on each, for `--bulk` and
    /// `-q`.
    pub spread: Spread,
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
        let chosen = choose_account(cli, &location, config.as_ref(), sender)?;
        let empty = Account::default();
        let (account_name, account) = match &chosen {
            Some(chosen) => (Some(chosen.name.to_string()), chosen.account),
            None => (None, &empty),
        };
        let mut picker = Picker {
            cli,
            account,
            account_name: account_name.clone(),
            shown: Vec::new(),
        };
        match &location {
            Some((location, source)) => {
                let state = if config.is_some() { "" } else { ", not found" };
                let path = location.path.display().to_string();
                picker.show("config", path, format!("{source}{state}"));
            }
            None => picker.show("config", "(none)".into(), "no HOME".into()),
        }
        match &chosen {
            Some(chosen) => picker.show("account", chosen.name.to_string(), chosen.reason.clone()),
            None => picker.show("account", "(none)".into(), "default".into()),
        }
        let (target, server_text, lmtp) = server(&mut picker)?;
        let timeout = picker.pick(&table::TIMEOUT)?.value;
        let ehlo_name = picker.pick(&table::EHLO_NAME)?.value;
        let source_address = picker.pick(&table::SOURCE_ADDRESS)?.value;
        let queue = picker
            .pick(&table::QUEUE)?
            .value
            .unwrap_or(QueueMode::Never);
        let retries = picker.pick(&table::RETRIES)?.value.unwrap_or(0);
        let max_time = picker
            .pick(&table::MAX_TIME)?
            .value
            .and_then(table::max_time);
        let spread = spread(&mut picker)?;
        let qualify_domain = qualify_domain(&mut picker)?;
        show_from(&mut picker, qualify_domain.as_deref());
        let tls = tls(&mut picker, &server_text, &target)?;
        let login = login(&mut picker)?;
        Ok(Settings {
            target,
            session: Options {
                ehlo_name,
                timeouts: timeout.map_or_else(Timeouts::default, |seconds| {
                    Timeouts::all(Duration::from_secs_f64(seconds))
                }),
                progress: (!cli.json
                    && cli.debug == 0
                    && crate::base::output::stderr_is_terminal())
                .then_some(crate::report::progress::bar),
                tls,
                tls_config: tls_config(cli),
                login: None,
                login_at_open: false,
                lmtp,
                starttls_on_local: false,
                no_chunking: cli.no_chunking,
                source_address,
            },
            config_path: config.as_ref().map(|config| config.path.clone()),
            account: account_name,
            account_from: account.sender(),
            qualify_domain,
            login,
            queue,
            retries,
            max_time,
            spread,
            shown: picker.shown,
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

/// The configuration file's account for this run: named by `--account` (or
/// `SMTPSEND_ACCOUNT`), else picked by the sender, else the default; an account named when
/// there is no configuration file is an error (78).
fn choose_account<'a>(
    cli: &Cli,
    location: &Option<(Location, &'static str)>,
    config: Option<&'a Config>,
    sender: Option<&str>,
) -> anyhow::Result<Option<config::Chosen<'a>>> {
    let account_source = table::option_source(cli, "--account", "SMTPSEND_ACCOUNT").label();
    match (config, cli.account.as_deref()) {
        (Some(config), named) => config.choose(named.map(|name| (name, account_source)), sender),
        (None, Some(name)) => {
            let looked = location.as_ref().map_or_else(
                || "HOME is not set".to_string(),
                |(location, _)| format!("{} does not exist", location.path.display()),
            );
            Err(fail(
                Kind::Config,
                format!("{account_source} {name:?}: no configuration file ({looked})"),
            ))
        }
        (None, None) => Ok(None),
    }
}

/// The server, the text it was given as, and whether the session speaks LMTP (`--lmtp`, or
/// an lmtp:// URL); shown with the protocol.
fn server(picker: &mut Picker) -> anyhow::Result<(Target, String, bool)> {
    let picked = picker.find(&table::SERVER);
    let text = picked
        .value
        .unwrap_or_else(|| table::DEFAULT_SERVER.to_string());
    let lmtp_scheme = text.starts_with("lmtp://");
    let lmtp = picker.cli.lmtp || lmtp_scheme;
    let target = super::server::parse_server_for(&text, lmtp)?;
    picker.show("server", target.to_string(), picked.source.to_string());
    let protocol_source = if picker.cli.lmtp {
        "--lmtp".to_string()
    } else if lmtp_scheme {
        format!("{}: lmtp://", picked.source)
    } else {
        Source::Default.to_string()
    };
    let protocol = if lmtp { "LMTP" } else { "SMTP" };
    picker.show("protocol", protocol.to_string(), protocol_source);
    Ok((target, text, lmtp))
}

/// `--parallel` and `--window`, checked and shown.
fn spread(picker: &mut Picker) -> anyhow::Result<Spread> {
    Ok(Spread {
        parallel: picker.pick(&table::PARALLEL)?.value.unwrap_or(1),
        window: picker
            .pick(&table::WINDOW)?
            .value
            .unwrap_or(table::DEFAULT_WINDOW),
    })
}

/// The domain for bare user names, shown only when set (they otherwise go as they are).
fn qualify_domain(picker: &mut Picker) -> anyhow::Result<Option<String>> {
    let picked = picker.find(&table::QUALIFY_DOMAIN);
    if let Some(domain) = &picked.value {
        (table::QUALIFY_DOMAIN.check)(domain, &picked.source)?;
        picker.show("qualify-domain", domain.clone(), picked.source.to_string());
    }
    Ok(picked.value)
}

/// Shows the sender a message gets when neither `-f` nor the message names one.
fn show_from(picker: &mut Picker, qualify_domain: Option<&str>) {
    let account = picker.account;
    let account_from = account.sender();
    let (value, source) = match (&picker.cli.from, &account_from) {
        (Some(from), _) => (
            from.clone(),
            picker.option("--from", "SMTPSEND_FROM").to_string(),
        ),
        (None, Some(from)) => (
            from.qualified(qualify_domain).to_text(),
            picker.from_account().to_string(),
        ),
        (None, None) => {
            let pattern = account
                .from
                .as_ref()
                .map(|pattern| {
                    format!(
                        "; the from {} of account {} only selects the account",
                        pattern.get_ref(),
                        picker.account_name.as_deref().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            let login = match qualify_domain {
                Some(_) => "login@qualify-domain",
                None => "login@host",
            };
            (
                default_sender(qualify_domain).address,
                format!("default: {login}, unless the message has a From{pattern}"),
            )
        }
    };
    picker.show("from", value, source);
}

/// The TLS mode, made implicit for smtps:// and port 465 under `auto`.
fn tls(picker: &mut Picker, server: &str, target: &Target) -> anyhow::Result<TlsMode> {
    let picked = picker.find(&table::TLS);
    let mode = resolve_tls(picked.value.unwrap_or_default(), server, target)?;
    let shown = (table::TLS.show)(Some(&mode));
    picker.show("tls", shown, picked.source.to_string());
    Ok(mode)
}

/// Who to log in as, where the password comes from, and the mechanism; `None` without a
/// user.
fn login(picker: &mut Picker) -> anyhow::Result<Option<LoginPlan>> {
    let user = picker.pick(&table::USER)?.value;
    let from_account = || picker.from_account();
    let choice = credentials::password_choice(picker.cli, picker.account, &from_account);
    let (password, password_label) = match choice {
        Ok(choice) => choice,
        Err(err) if user.is_some() => return Err(err),
        // Without a user no password is used, whatever SMTPSEND_PASSWORD holds.
        Err(_) => (PasswordSource::Prompt, PASSWORD_VAR.to_string()),
    };
    let shown = match &user {
        None => "(not used without a user)".to_string(),
        Some(_) => password.to_string(),
    };
    picker.show("password", shown, password_label.clone());
    let mechanism = picker.pick(&table::AUTH)?.value.unwrap_or_default();
    Ok(user.map(|user| LoginPlan {
        user,
        password,
        password_label,
        mechanism,
    }))
}

/// Trust and the client certificate, each file named by its option for errors.
fn tls_config(cli: &Cli) -> TlsConfig {
    let named = |path: &PathBuf, flag: &str| TlsFile {
        path: path.clone(),
        named: flag.to_string(),
    };
    TlsConfig::new(
        cli.tls_ca_file
            .as_ref()
            .map(|path| named(path, "--tls-ca-file")),
        cli.tls_cert
            .as_ref()
            .zip(cli.tls_key.as_ref())
            .map(|(cert, key)| (named(cert, "--tls-cert"), named(key, "--tls-key"))),
        cli.insecure_skip_verify,
    )
}

/// The configuration file to read, and what named it.
pub(super) fn config_location(cli: &Cli) -> Option<(Location, &'static str)> {
    match &cli.config {
        Some(path) => Some((
            Location {
                path: path.clone(),
                explicit: true,
            },
            table::option_source(cli, "--config", "SMTPSEND_CONFIG").label(),
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
                mode.name()
            ),
        )),
        mode => Ok(mode),
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
