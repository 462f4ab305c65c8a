//! The effective settings: flags, then `SMTPSEND_*` environment, then the chosen account of
//! the user's configuration file, then the system file's account of that name, then
//! built-in defaults; and `--show-config`, which prints them with the source of each (the
//! file and line of a value from a file).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::base::exit::{Kind, fail};
use crate::cli::Cli;
pub use crate::cli::QueueMode;
use crate::message::address::Mailbox;
use crate::plan::config::{self, Account, Chosen, Files, Location};
use crate::plan::credentials::{self, PASSWORD_VAR, PasswordSource};

use crate::plan::credentials::oauth2::OAuth2;
use crate::plan::credentials::oauth2::endpoint::Http;
use crate::plan::network::ProxyPlan;
use crate::plan::table::{self, Picker, Shown, Source};
use crate::smtp::auth::{Login, Mechanism};
use crate::smtp::stream::Target;
use crate::smtp::tls::TlsMode;
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
            renew: match &self.password {
                PasswordSource::OAuth2(oauth) => Some(oauth.renewal()),
                _ => None,
            },
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
    /// The proxy, its password not read yet.
    pub proxy: Option<ProxyPlan>,
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
    /// The account's OAuth2 settings, when it has them (the login may use another source
    /// given on the command line).
    pub oauth2: Option<std::sync::Arc<credentials::oauth2::OAuth2>>,
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
    /// Merges flags, environment, the configuration files and defaults. `sender` is the
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
        let reach = super::server::server(&mut picker)?;
        let session = session_options(&mut picker, &reach)?;
        let queue = local::queue(&mut picker)?;
        let retries = picker.pick(&table::RETRIES)?.value.unwrap_or(0);
        let max_time = picker
            .pick(&table::MAX_TIME)?
            .value
            .and_then(table::max_time);
        let spread = spread(&mut picker)?;
        let qualify_domain = local::qualify_domain(&mut picker)?;
        local::show_from(&mut picker, qualify_domain.as_deref());
        let mail = local::Mail::pick(&mut picker)?;
        let proxy = super::network::proxy(&mut picker, &reach.target)?;
        let http = Http {
            ca_file: super::network::ca_file(&picker),
            proxy: proxy.clone(),
            timeout: session.timeouts.command,
            debug: cli.debug > 0,
        };
        let (login, oauth2) = login(&mut picker, &reach, http)?;
        Ok(Settings {
            target: reach.target,
            session,
            proxy,
            config_path: sourced.files.user.as_ref().map(|c| c.path.clone()),
            account: account_name,
            account_from: account.sender(),
            qualify_domain,
            mail,
            spool: sourced.files.spool().map(PathBuf::from),
            login,
            oauth2,
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
        if let Some(plan) = &self.proxy {
            options.proxy = Some(plan.resolve(options.timeouts.command)?);
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
                    serde_json::json!({
                        "value": row.typed,
                        "shown": row.value,
                        "source": row.source,
                    }),
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

/// The session's options: deadlines, the EHLO name, the source address, TLS.
fn session_options(picker: &mut Picker, reach: &super::server::Reach) -> anyhow::Result<Options> {
    let cli = picker.cli;
    let timeout = picker.pick(&table::TIMEOUT)?.value;
    let ehlo_name = picker.pick(&table::EHLO_NAME)?.value;
    let source_address = picker.pick(&table::SOURCE_ADDRESS)?.value;
    let tls = super::server::tls(picker, reach)?;
    let tls_config = super::network::tls_config(picker)?;
    if tls == TlsMode::None && tls_config.policy.requires_tls() {
        return Err(fail(
            Kind::Usage,
            "a pinned certificate (tls-fingerprint) needs TLS; it cannot be combined with --tls none",
        ));
    }
    Ok(Options {
        ehlo_name,
        timeouts: timeout.map_or_else(Timeouts::default, |seconds| {
            Timeouts::all(Duration::from_secs_f64(seconds))
        }),
        progress: (!cli.json && cli.debug == 0 && crate::base::output::stderr_is_terminal())
            .then_some(crate::report::progress::bar),
        tls,
        tls_config,
        login: None,
        login_at_open: false,
        lmtp: reach.lmtp,
        starttls_on_local: false,
        no_chunking: cli.no_chunking,
        source_address,
        proxy: None,
    })
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

/// Who to log in as, where the password (or OAuth2 token) comes from, and the mechanism;
/// `None` without a user.
fn login(
    picker: &mut Picker,
    reach: &super::server::Reach,
    http: Http,
) -> anyhow::Result<(Option<LoginPlan>, Option<Arc<OAuth2>>)> {
    let name = picker.account_name.clone();
    let configured =
        credentials::oauth2::config::from_account(picker.account, name.as_deref(), http)?
            .map(Arc::new);
    let user = picker.pick(&table::USER)?.value;
    let cli = picker.cli;
    let explicit = cli.password_file.is_some()
        || cli.password_command.is_some()
        || std::env::var_os(PASSWORD_VAR).is_some();
    let oauth = configured.clone().filter(|_| !explicit);
    let choice = password_choice(picker, oauth.as_ref());
    let (password, password_label) = match choice {
        Ok(choice) => choice,
        Err(err) if user.is_some() => return Err(err),
        // Without a user no password is used, whatever SMTPSEND_PASSWORD holds.
        Err(_) => (PasswordSource::Prompt, PASSWORD_VAR.to_string()),
    };
    let (shown, typed) = match &user {
        None => ("(not used without a user)".to_string(), Value::Null),
        Some(_) => (password.to_string(), password.to_json()),
    };
    picker.show("password", shown, typed, password_label.clone());
    if let Some(oauth) = &oauth {
        let (state, typed) = (oauth.state(), oauth.state_json());
        picker.show("oauth2", state, typed, password_label.clone());
        if user.is_none() {
            return Err(fail(
                Kind::Config,
                format!(
                    "account {} uses oauth2: give user, the address to log in as",
                    name.unwrap_or_default()
                ),
            ));
        }
    }
    let mechanism = mechanism(picker, reach, oauth.is_some())?;
    let plan = user.map(|user| LoginPlan {
        user,
        password,
        password_label,
        mechanism,
    });
    Ok((plan, configured))
}

/// Where the password comes from, and the setting that said so: the account's OAuth2 token
/// when it has one and no password is given on the command line or in `SMTPSEND_PASSWORD`,
/// else [`credentials::password_choice`]. A password file the system file names may be read
/// by its group (see [`PasswordSource::GroupFile`]).
fn password_choice(
    picker: &Picker,
    oauth: Option<&Arc<OAuth2>>,
) -> anyhow::Result<(PasswordSource, String)> {
    if let Some(oauth) = oauth {
        let source = picker.from_account("oauth2").to_string();
        return Ok((PasswordSource::OAuth2(oauth.clone()), source));
    }
    let key = ["password-file", "password-command", "password"]
        .into_iter()
        .find(|key| picker.written.contains_key(key))
        .unwrap_or("password");
    let from_account = || picker.from_account(key);
    let choice = credentials::password_choice(picker.cli, picker.account, &from_account)?;
    let in_system_file = picker.written.get(key).is_some_and(|at| at.system);
    Ok(match choice {
        (PasswordSource::File(path), label) if in_system_file && !label.starts_with("--") => {
            (PasswordSource::GroupFile(path), label)
        }
        other => other,
    })
}

/// The login mechanism: as given; else the preset's; else XOAUTH2 with OAuth2 (which takes
/// only XOAUTH2 and OAUTHBEARER); else auto. Shown with where it came from.
fn mechanism(
    picker: &mut Picker,
    reach: &super::server::Reach,
    oauth: bool,
) -> anyhow::Result<Mechanism> {
    let picked = picker.find(&table::AUTH);
    let (mechanism, source) = match (&reach.preset, &picked.source) {
        (Some((preset, why)), Source::Default) => (preset.mechanism(oauth), why.clone()),
        (None, Source::Default) if oauth => (
            Mechanism::Xoauth2,
            picker.from_account("oauth2").to_string(),
        ),
        _ => (picked.value.unwrap_or_default(), picked.source.to_string()),
    };
    if oauth && !matches!(mechanism, Mechanism::Xoauth2 | Mechanism::Oauthbearer) {
        return Err(fail(
            Kind::Config,
            format!(
                "{}: an OAuth2 token logs in with xoauth2 or oauthbearer",
                Source::given(&picked.source, "--auth", mechanism.value_name())
            ),
        ));
    }
    let (shown, typed) = (
        (table::AUTH.show)(Some(&mechanism)),
        (table::AUTH.json)(Some(&mechanism)),
    );
    picker.show("auth", shown, typed, source);
    Ok(mechanism)
}
