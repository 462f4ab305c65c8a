//! The effective settings: flags, then `SMTPSEND_*` environment, then the chosen account of
//! the user's configuration file, then the system file's account of that name, then
//! built-in defaults; and `--show-config`, which prints them with the source of each (the
//! file and line of a value from a file).

use std::path::PathBuf;
use std::time::Duration;

use crate::base::exit::{Kind, fail};
use crate::cli::Cli;
pub use crate::cli::QueueMode;
use crate::message::address::Mailbox;
use crate::plan::config::{self, Account, Chosen, Files, Location};
use crate::plan::credentials::{self, PASSWORD_VAR, PasswordSource};
use crate::plan::table::{self, Picker, Shown, Source};
use crate::smtp::auth::{Login, Mechanism};
use crate::smtp::stream::Target;
use crate::smtp::tls::{TlsConfig, TlsFile, TlsMode};
use crate::smtp::{Options, Timeouts};

mod sources;
pub(super) use sources::{Sourced, config_location};

pub mod local;
pub use local::default_sender;

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

/// Everything a send needs besides the message.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    pub session: Options,
    /// The user's configuration file read, if any.
    pub config_path: Option<PathBuf>,
    /// The account used, if any.
    pub account: Option<String>,
    /// The sender the account gives (its `from` when that is an address, not a pattern),
    /// used when neither `-f` nor the message names one.
    pub account_from: Option<Mailbox>,
    /// The domain appended to bare user names (`--qualify-domain`), if any.
    pub qualify_domain: Option<String>,
    /// Aliases, what is rewritten in a message's header, and the log.
    pub mail: local::Mail,
    /// Where users without a writable home keep their outbox (the system file's `spool`).
    pub spool: Option<PathBuf>,
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
        let sourced = Sourced::load(cli, sender)?;
        let empty = Account::default();
        let no_keys = Default::default();
        let (account_name, account, written) = match &sourced.chosen {
            Some(chosen) => (Some(chosen.name.clone()), &chosen.account, &chosen.written),
            None => (None, &empty, &no_keys),
        };
        let mut picker = Picker {
            cli,
            account,
            account_name: account_name.clone(),
            written,
            shown: Vec::new(),
        };
        sourced.show(&mut picker);
        let (target, server_text, lmtp) = server(&mut picker)?;
        let timeout = picker.pick(&table::TIMEOUT)?.value;
        let ehlo_name = picker.pick(&table::EHLO_NAME)?.value;
        let source_address = picker.pick(&table::SOURCE_ADDRESS)?.value;
        let queue = local::queue(&mut picker)?;
        let retries = picker.pick(&table::RETRIES)?.value.unwrap_or(0);
        let max_time = picker
            .pick(&table::MAX_TIME)?
            .value
            .and_then(table::max_time);
        let qualify_domain = local::qualify_domain(&mut picker)?;
        local::show_from(&mut picker, qualify_domain.as_deref());
        let mail = local::Mail::pick(&mut picker)?;
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
                lmtp,
                starttls_on_local: false,
                no_chunking: cli.no_chunking,
                source_address,
            },
            config_path: sourced.files.user.as_ref().map(|c| c.path.clone()),
            account: account_name,
            account_from: account.sender(),
            qualify_domain,
            mail,
            spool: sourced.files.spool().map(PathBuf::from),
            login,
            queue,
            retries,
            max_time,
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

    /// True when the default sender is made from the login and host name: no `from` in the
    /// account, no qualify domain.
    pub fn sender_is_made_up(&self) -> bool {
        self.account_from.is_none() && self.qualify_domain.is_none()
    }

    /// The alias file, read and checked, when the settings name one.
    pub fn load_aliases(&self) -> anyhow::Result<Option<crate::message::aliases::Aliases>> {
        self.mail
            .aliases
            .as_deref()
            .map(crate::message::aliases::Aliases::load)
            .transpose()
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
    let key = ["password-file", "password-command", "password"]
        .into_iter()
        .find(|key| picker.written.contains_key(key))
        .unwrap_or("password");
    let from_account = || picker.from_account(key);
    let choice = credentials::password_choice(picker.cli, picker.account, &from_account);
    // A password file the system file names may be read by its group (see GroupFile).
    let in_system_file = picker.written.get(key).is_some_and(|at| at.system);
    let choice = choice.map(|(source, label)| match source {
        PasswordSource::File(path) if in_system_file && !label.starts_with("--") => {
            (PasswordSource::GroupFile(path), label)
        }
        other => (other, label),
    });
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
