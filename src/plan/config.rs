//! The configuration file: where it is, its TOML format (named accounts and a default),
//! validation with the line of every bad key or value, and choosing an account.
//!
//! ```toml
//! default = "work"
//!
//! [accounts.work]
//! server = "smtp.example.com:587"
//! user = "me"
//! password-command = "pass show mail/work"
//! from = "*@example.com"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::smtp::auth::Secret;
use toml::Spanned;

use crate::base::exit::{Kind, fail};
use crate::base::input::FileKind;
use crate::message::address::Mailbox;

mod validate;
use validate::*;

mod secrets;
use secrets::*;

mod keys;
use keys::*;

/// The largest configuration file read: a few accounts take a few hundred bytes, and a
/// file named by mistake (a log, an image) must not be read into memory whole.
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// `--tls` modes an account may name.
pub const TLS_MODES: [&str; 4] = ["auto", "starttls", "implicit", "none"];
/// `--auth` mechanisms an account may name.
pub const AUTH_MECHANISMS: [&str; 7] = [
    "auto",
    "plain",
    "login",
    "cram-md5",
    "xoauth2",
    "oauthbearer",
    "scram-sha-256",
];

/// `queue` values an account may name.
pub const QUEUE_MODES: [&str; 3] = ["never", "on-failure", "always"];
/// The most retries `retries` and `--retries` accept.
pub const MAX_RETRIES: u32 = 100;
/// The most connections at once `parallel` and `--parallel` accept.
pub const MAX_PARALLEL: usize = crate::base::interrupt::LANES;
/// The largest window `window` and `--window` accept: the replies to that many messages
/// fit many times over in a socket's receive buffer, so the server never blocks on them.
pub const MAX_WINDOW: usize = 100;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileFormat {
    default: Option<Spanned<String>>,
    #[serde(default)]
    accounts: BTreeMap<String, Account>,
}

/// One named account; every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Account {
    pub server: Option<Spanned<String>>,
    pub tls: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub password_command: Option<Spanned<String>>,
    pub password_file: Option<Spanned<PathBuf>>,
    /// A password in clear; the file must then be readable by its owner only. No error
    /// shows its value.
    #[serde(default, deserialize_with = "secret_value")]
    pub password: Option<Spanned<Secret>>,
    /// The sender, `addr` or `Name <addr>`; or a pattern such as `*@example.com` that only
    /// picks the account.
    pub from: Option<Spanned<String>>,
    pub ehlo_name: Option<Spanned<String>>,
    /// The domain appended to bare user names (`root` becomes `root@DOMAIN`).
    pub qualify_domain: Option<Spanned<String>>,
    /// The local address to connect from.
    pub source_address: Option<Spanned<String>>,
    pub timeout: Option<Spanned<Seconds>>,
    pub auth: Option<Spanned<String>>,
    /// When messages go through the outbox: `never`, `on-failure` or `always`.
    pub queue: Option<Spanned<String>>,
    /// How many times to try again after a temporary failure.
    pub retries: Option<Spanned<u32>>,
    /// Bound on the whole run, in seconds (0: none).
    pub max_time: Option<Spanned<Seconds>>,
    /// Connections at once for `--bulk` and `-q`.
    pub parallel: Option<Spanned<usize>>,
    /// Messages written ahead of their replies on each connection.
    pub window: Option<Spanned<usize>>,
}

impl Account {
    /// The sender the account gives when `from` is an address rather than a pattern.
    pub fn sender(&self) -> Option<Mailbox> {
        let from = self.from.as_ref()?.get_ref();
        if is_pattern(from) {
            return None;
        }
        Mailbox::parse(from).ok()
    }

    /// True when `address` matches `from` (an address, or a pattern with `*` and `?`).
    pub fn matches_sender(&self, address: &str) -> Option<Match> {
        let from = self.from.as_ref()?.get_ref();
        if is_pattern(from) {
            return glob_matches(from, address).then_some(Match::Pattern(from.len()));
        }
        let mailbox = Mailbox::parse(from).ok()?;
        mailbox
            .address
            .eq_ignore_ascii_case(address)
            .then_some(Match::Exact)
    }
}

/// How well an account's `from` matched the sender: exact beats any pattern, a longer
/// pattern beats a shorter one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    Pattern(usize),
    Exact,
}

/// A number of seconds, written as an integer or a float.
#[derive(Debug, Clone, Copy)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds")
            }
            fn visit_i64<E>(self, value: i64) -> Result<Seconds, E> {
                Ok(Seconds(value as f64))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Seconds, E> {
                Ok(Seconds(value as f64))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Seconds, E> {
                Ok(Seconds(value))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The keys an account may have, in the order of [`Account`]'s fields: the very list the
/// parser accepts (serde's field names), for the man page and error messages.
pub fn account_keys() -> &'static [&'static str] {
    match Account::deserialize(FieldNames) {
        Err(FieldList(fields)) => fields,
        Ok(_) => &[],
    }
}

/// Where the configuration file is and why.
#[derive(Debug, Clone)]
pub struct Location {
    pub path: PathBuf,
    /// Named by `--config` or `SMTPSEND_CONFIG`: it must exist.
    pub explicit: bool,
}

/// The default path: `$XDG_CONFIG_HOME/smtpsend/config.toml`, else
/// `$HOME/.config/smtpsend/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(base.join("smtpsend").join("config.toml"))
}

/// A loaded, validated configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub default: Option<String>,
    pub accounts: BTreeMap<String, Account>,
}

/// The account chosen for a run, and why it was chosen.
#[derive(Debug, Clone)]
pub struct Chosen<'a> {
    pub name: &'a str,
    pub account: &'a Account,
    pub reason: String,
}

impl Config {
    /// Loads the file at `location`; `Ok(None)` when the default file does not exist. It
    /// is opened without blocking and must be a regular file (a FIFO or device is refused
    /// at once, 66) of at most [`CONFIG_LIMIT`] bytes (78).
    pub fn load(location: &Location) -> anyhow::Result<Option<Config>> {
        let path = &location.path;
        let cannot_read = |err: &io::Error| {
            fail(
                Kind::Config,
                format!(
                    "cannot read config {}: {}",
                    path.display(),
                    crate::base::input::plain_io(err)
                ),
            )
        };
        let mut opened = match crate::base::input::open(path) {
            Ok(opened) => opened,
            Err(err) if err.kind() == io::ErrorKind::NotFound && !location.explicit => {
                return Ok(None);
            }
            Err(err) => return Err(cannot_read(&err)),
        };
        if opened.kind != FileKind::Regular {
            return Err(crate::base::input::not_regular("config", path, opened.kind));
        }
        let bytes = crate::base::input::read_to_limit(&mut opened.file, CONFIG_LIMIT)
            .map_err(|err| cannot_read(&err))?
            .ok_or_else(|| {
                fail(
                    Kind::Config,
                    format!(
                        "config {} is larger than {} KiB, too large for a configuration file",
                        path.display(),
                        CONFIG_LIMIT >> 10
                    ),
                )
            })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            fail(
                Kind::Config,
                format!("config {}: not UTF-8 text", path.display()),
            )
        })?;
        let mode = opened.metadata.permissions().mode() & 0o777;
        Config::parse_with_mode(path, &text, || Ok(mode)).map(Some)
    }

    /// Parses and validates the text of the file at `path`.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Config> {
        Config::parse_with_mode(path, text, || mode_of(path))
    }

    /// [`Config::parse`]; `mode` gives the file's permission bits when it holds a password.
    fn parse_with_mode(
        path: &Path,
        text: &str,
        mode: impl FnOnce() -> anyhow::Result<u32>,
    ) -> anyhow::Result<Config> {
        let at = |span: Option<Range<usize>>, message: &str| {
            let message = match &span {
                Some(span) if about_a_secret(text, span.start) => without_value(message),
                _ => message.to_string(),
            };
            let place = match span {
                Some(span) => {
                    let (line, key) = line_and_key(text, span.start);
                    match key {
                        Some(key) => format!("line {line}, key {key}"),
                        None => format!("line {line}"),
                    }
                }
                None => "".to_string(),
            };
            let place = if place.is_empty() {
                String::new()
            } else {
                format!(" {place}")
            };
            fail(
                Kind::Config,
                format!("config {}{place}: {}", path.display(), one_line(&message)),
            )
        };
        let file: FileFormat = toml::from_str(text).map_err(|err| at(err.span(), err.message()))?;
        for account in file.accounts.values() {
            validate(account, &|span, message| at(Some(span), message))?;
        }
        if let Some(default) = &file.default
            && !file.accounts.contains_key(default.get_ref())
        {
            return Err(at(
                Some(default.span()),
                &format!(
                    "default names {:?}, which is not an account ({})",
                    default.get_ref(),
                    names(&file.accounts)
                ),
            ));
        }
        if let Some(span) = file
            .accounts
            .values()
            .find_map(|account| account.password.as_ref().map(Spanned::span))
        {
            check_private(path, text, span, mode()?)?;
        }
        Ok(Config {
            path: path.to_path_buf(),
            default: file.default.map(Spanned::into_inner),
            accounts: file.accounts,
        })
    }

    /// Picks the account: the one named by `--account`/`SMTPSEND_ACCOUNT`, else the one whose
    /// `from` matches the sender, else the default one.
    pub fn choose(
        &self,
        named: Option<(&str, &str)>,
        sender: Option<&str>,
    ) -> anyhow::Result<Option<Chosen<'_>>> {
        if let Some((name, origin)) = named {
            let (name, account) = self.accounts.get_key_value(name).ok_or_else(|| {
                fail(
                    Kind::Config,
                    format!(
                        "{origin} {name:?}: no such account in {} ({})",
                        self.path.display(),
                        names(&self.accounts)
                    ),
                )
            })?;
            return Ok(Some(Chosen {
                name,
                account,
                reason: origin.to_string(),
            }));
        }
        if let Some(sender) = sender {
            let best = self
                .accounts
                .iter()
                .filter_map(|(name, account)| {
                    account
                        .matches_sender(sender)
                        .map(|quality| (quality, name, account))
                })
                .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)));
            if let Some((_, name, account)) = best {
                return Ok(Some(Chosen {
                    name,
                    account,
                    reason: format!("its from matches the sender {sender}"),
                }));
            }
        }
        Ok(self.default.as_deref().and_then(|name| {
            let (name, account) = self.accounts.get_key_value(name)?;
            Some(Chosen {
                name,
                account,
                reason: "default".to_string(),
            })
        }))
    }
}

/// The permission bits of the file at `path`.
fn mode_of(path: &Path) -> anyhow::Result<u32> {
    fs::metadata(path)
        .map(|metadata| metadata.permissions().mode() & 0o777)
        .map_err(|err| {
            fail(
                Kind::Config,
                format!(
                    "cannot read config {}: {}",
                    path.display(),
                    crate::base::input::plain_io(&err)
                ),
            )
        })
}

/// Refuses a file holding a password in clear when anyone but its owner may read it.
fn check_private(
    path: &Path,
    text: &str,
    password_at: Range<usize>,
    mode: u32,
) -> anyhow::Result<()> {
    if mode & 0o077 != 0 {
        let (line, _) = line_and_key(text, password_at.start);
        return Err(fail(
            Kind::Config,
            format!(
                "config {} holds a password (line {line}) but its mode is {mode:04o}: \
                 make it private with chmod 600 {}",
                path.display(),
                path.display()
            ),
        ));
    }
    Ok(())
}

/// The 1-based line of `offset`, and the key written at the start of that line, if any.
fn line_and_key(text: &str, offset: usize) -> (usize, Option<String>) {
    let offset = offset.min(text.len());
    let line = text[..offset].matches('\n').count() + 1;
    let start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
    let line_text = text[start..].lines().next().unwrap_or_default();
    let key = line_text
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"').to_string())
        .filter(|key| !key.is_empty() && !key.starts_with('['));
    (line, key)
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn names(accounts: &BTreeMap<String, Account>) -> String {
    if accounts.is_empty() {
        return "it defines no accounts".to_string();
    }
    let list: Vec<&str> = accounts.keys().map(String::as_str).collect();
    format!("accounts: {}", list.join(", "))
}

fn is_pattern(from: &str) -> bool {
    from.contains(['*', '?'])
}

/// Case-insensitive glob: `*` matches any run of characters, `?` one character.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests;
