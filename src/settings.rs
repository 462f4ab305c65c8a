//! The effective settings: flags, then `SMTPSEND_*` environment, then the chosen account of
//! the configuration file, then built-in defaults; and `--show-config`, which prints them
//! with the source of each.

use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::address::Mailbox;
use crate::cli::Cli;
use crate::config::{self, Account, Config, Location};
use crate::exit::{Kind, fail};
use crate::smtp::stream::Target;
use crate::smtp::{Options, Timeouts};

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

/// Where a password comes from. Its `Debug` never shows a password.
#[derive(Debug, Clone)]
pub enum PasswordSource {
    /// Run this shell command; its first line of output is the password.
    Command(String),
    /// Read the first line of this file.
    File(PathBuf),
    /// Given in clear in a private configuration file.
    Clear(config::Secret),
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::Command(command) => write!(f, "from the command {command:?}"),
            PasswordSource::File(path) => write!(f, "from the file {}", path.display()),
            PasswordSource::Clear(_) => f.write_str("********"),
        }
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
    /// The account's TLS mode (one of [`config::TLS_MODES`]).
    pub tls: Option<String>,
    /// The account's login name.
    pub user: Option<String>,
    /// The account's password source.
    pub password: Option<PasswordSource>,
    /// The account's SASL mechanism (one of [`config::AUTH_MECHANISMS`]).
    pub auth: Option<String>,
    shown: Vec<Shown>,
}

impl Settings {
    /// Merges flags, environment, the configuration file and defaults. `sender` is the
    /// address that picks an account by its `from` (from -f, or the message's From).
    pub fn resolve(cli: &Cli, sender: Option<&str>) -> anyhow::Result<Settings> {
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
        let target = parse_server(&server_text)?;
        show("server", target.to_string(), server_source.to_string());

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
                    format!("--timeout {seconds}: give a number of seconds above 0"),
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
            crate::address::reject_line_breaks("--ehlo-name", name)?;
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

        let account_from = account.sender();
        let (from_value, from_source) = match (&cli.from, &account.from) {
            (Some(from), _) => (from.clone(), flag_or_env(cli, "from").to_string()),
            (None, Some(from)) => (from.get_ref().clone(), from_account().to_string()),
            (None, None) => (
                "(the message's From, else login@host)".to_string(),
                Source::Default.to_string(),
            ),
        };
        show("from", from_value, from_source);

        let tls = account
            .tls
            .as_ref()
            .map(|t| t.get_ref().to_ascii_lowercase());
        let user = account.user.as_ref().map(|u| u.get_ref().clone());
        let auth = account
            .auth
            .as_ref()
            .map(|a| a.get_ref().to_ascii_lowercase());
        let password = password_source(account);
        let or_default = |value: Option<String>, default: &str| -> (String, String) {
            match value {
                Some(value) => (value, from_account().to_string()),
                None => (default.to_string(), Source::Default.to_string()),
            }
        };
        let (value, source) = or_default(tls.clone(), "auto");
        show("tls", value, source);
        let (value, source) = or_default(user.clone(), "(none: no authentication)");
        show("user", value, source);
        let (value, source) = or_default(password.as_ref().map(ToString::to_string), "(none)");
        show("password", value, source);
        let (value, source) = or_default(auth.clone(), "auto");
        show("auth", value, source);

        Ok(Settings {
            target,
            session: Options {
                ehlo_name,
                timeouts,
                progress: !cli.json && cli.debug == 0 && std::io::stderr().is_terminal(),
            },
            config_path: config.as_ref().map(|config| config.path.clone()),
            account: account_name,
            account_from,
            tls,
            user,
            password,
            auth,
            shown,
        })
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
        "from" => ("--from", "SMTPSEND_FROM"),
        "config" => ("--config", "SMTPSEND_CONFIG"),
        "account" => ("--account", "SMTPSEND_ACCOUNT"),
        _ => ("an option", "the environment"),
    };
    if cli.is_from_env(id) {
        Source::Env(var)
    } else {
        Source::Flag(flag)
    }
}

impl Source {
    fn label(&self) -> &'static str {
        match self {
            Source::Flag(flag) => flag,
            Source::Env(var) => var,
            _ => "default",
        }
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

/// Parses `HOST[:PORT]`, `[IPv6]:PORT`, `smtp://HOST[:PORT]`, `/path`, `unix:/path`.
pub fn parse_server(input: &str) -> anyhow::Result<Target> {
    let bad = |why: &str| fail(Kind::Usage, format!("--server {input:?}: {why}"));
    crate::address::reject_line_breaks("--server", input)?;
    if let Some(path) = input.strip_prefix("unix:") {
        return Ok(Target::Unix(PathBuf::from(path)));
    }
    if input.starts_with('/') {
        return Ok(Target::Unix(PathBuf::from(input)));
    }
    let rest = match input.split_once("://") {
        Some(("smtp", rest)) => rest.trim_end_matches('/'),
        Some((scheme, _)) => return Err(bad(&format!("unsupported scheme {scheme}://"))),
        None => input,
    };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| bad("missing ']'"))?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("expected ':' after ']'"))?,
                ),
            ),
        }
    } else if rest.matches(':').count() > 1 {
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("missing or invalid host name"));
    }
    let port = match port {
        None => 25,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
    };
    Ok(Target::Tcp {
        host: host.to_string(),
        port,
    })
}

/// This host's name, as the kernel knows it.
pub fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most buffer.len() bytes into our buffer.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    if ok && end > 0 {
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    } else {
        "localhost".to_string()
    }
}

/// The sender when none is given: `login@host`, like sendmail.
pub fn default_sender() -> Mailbox {
    let login = ["LOGNAME", "USER"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "root".to_string());
    Mailbox {
        name: None,
        address: format!("{login}@{}", hostname()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Target {
        Target::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_server_forms() {
        assert_eq!(parse_server("mx.example").unwrap(), tcp("mx.example", 25));
        assert_eq!(
            parse_server("mx.example:587").unwrap(),
            tcp("mx.example", 587)
        );
        assert_eq!(
            parse_server("smtp://mx.example:2525/").unwrap(),
            tcp("mx.example", 2525)
        );
        assert_eq!(parse_server("[::1]:2525").unwrap(), tcp("::1", 2525));
        assert_eq!(parse_server("::1").unwrap(), tcp("::1", 25));
        assert_eq!(
            parse_server("/run/lmtp.sock").unwrap(),
            Target::Unix("/run/lmtp.sock".into())
        );
        assert!(parse_server("mx.example:0").is_err());
        assert!(parse_server("gopher://x").is_err());
    }
}
