//! The configuration files: where they are (the user's, and the system's
//! `/etc/smtpsend/config.toml` beneath it), their TOML format (named accounts and a
//! default), validation with the line of every bad key or value, and choosing an account.
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

mod load;

mod merge;
pub use merge::{Chosen, Files, Written};

mod network_keys;
pub use network_keys::OAUTH2_PROVIDERS;
use network_keys::*;

mod account;
pub use account::{Account, Match, Seconds};

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
/// `set-from-header` values an account may name.
pub const SET_FROM_HEADER: [&str; 3] = ["auto", "always", "never"];
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
    /// The system file only: where users without a writable home keep their outbox.
    spool: Option<Spanned<PathBuf>>,
    #[serde(default)]
    accounts: BTreeMap<String, Account>,
}

/// The keys an account may have, in the order of [`Account`]'s fields: the very list the
/// parser accepts (serde's field names), for the man page and error messages.
pub fn account_keys() -> &'static [&'static str] {
    match Account::deserialize(FieldNames) {
        Err(FieldList(fields)) => fields,
        Ok(_) => &[],
    }
}

/// Where a configuration file is and why.
#[derive(Debug, Clone)]
pub struct Location {
    pub path: PathBuf,
    /// Named by `--config` or `SMTPSEND_CONFIG`: it must exist.
    pub explicit: bool,
    /// The system file, obeyed by every user who sends mail (see [`Config::load`]).
    pub system: bool,
}

/// The system file's path.
pub const SYSTEM_PATH: &str = "/etc/smtpsend/config.toml";

/// The variable naming another system file (for tests, and for trying a new file out).
pub const SYSTEM_VAR: &str = "SMTPSEND_SYSTEM_CONFIG";

/// The system file: [`SYSTEM_PATH`], or the file `SMTPSEND_SYSTEM_CONFIG` names; a
/// missing one is no error.
pub fn system_location() -> (Location, &'static str) {
    let (path, source) = match std::env::var_os(SYSTEM_VAR).filter(|path| !path.is_empty()) {
        Some(path) => (PathBuf::from(path), SYSTEM_VAR),
        None => (PathBuf::from(SYSTEM_PATH), "system default"),
    };
    let location = Location {
        path,
        explicit: false,
        system: true,
    };
    (location, source)
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
    /// The system file's `spool` (a user's file has none).
    pub spool: Option<PathBuf>,
    /// The system file (see [`Location::system`]).
    pub system: bool,
    /// Where each line of the text starts, for [`Config::line_of`].
    line_starts: Vec<usize>,
}

impl Config {
    /// The 1-based line of a byte offset in the file (of a span of one of its values).
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|start| *start <= offset)
    }
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
