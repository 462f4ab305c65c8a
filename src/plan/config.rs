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

/// What an error about the value of a secret key says instead of the value.
const NOT_SHOWN: &str = "(the value is not shown)";

/// Words that make a key's value secret in errors: `password`, `password-file`, a
/// misspelt `smtp-secret` or `token`.
const SECRET_WORDS: [&str; 3] = ["password", "secret", "token"];

/// `password`: a string. serde's own type errors quote the value as written
/// (`invalid type: integer `987654321``), so every other type gets an error without it.
fn secret_value<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Spanned<Secret>>, D::Error> {
    let text = Spanned::<SecretText>::deserialize(deserializer)?;
    let span = text.span();
    Ok(Some(Spanned::new(span, Secret::new(text.into_inner().0))))
}

/// The text of a secret value, on its way to a [`Secret`].
struct SecretText(String);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

/// The error for a secret value that is not a string.
fn not_a_string<E: serde::de::Error>() -> E {
    E::custom(format!("must be a string {NOT_SHOWN}"))
}

impl<'de> serde::de::Visitor<'de> for SecretVisitor {
    type Value = SecretText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<SecretText, E> {
        Ok(SecretText(value.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<SecretText, E> {
        Ok(SecretText(value))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, _: D) -> Result<SecretText, D::Error> {
        Err(not_a_string())
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(
        self,
        _: D,
    ) -> Result<SecretText, D::Error> {
        Err(not_a_string())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<SecretText, A::Error> {
        Err(not_a_string())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<SecretText, A::Error> {
        Err(not_a_string())
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, _: A) -> Result<SecretText, A::Error> {
        Err(not_a_string())
    }
}

/// True when the error at `offset` is about the value of a secret key: the key written at
/// the start of its line says so, or a key before it on the line does (an inline table,
/// `work = { password = 123 }`).
fn about_a_secret(text: &str, offset: usize) -> bool {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
    let end = text[offset..]
        .find('\n')
        .map_or(text.len(), |at| offset + at);
    let line = text[start..end].to_ascii_lowercase();
    let key = line.split_once('=').map_or(line.as_str(), |(key, _)| key);
    let before = &line[..(offset - start).min(line.len())];
    SECRET_WORDS
        .iter()
        .any(|word| key.contains(word) || before.contains(word))
}

/// An error message about a secret key's value, without the value: serde's type and value
/// errors quote it (`invalid type: integer `12345`, expected a string`), so they become
/// `must be a string (the value is not shown)`. The TOML parser's own messages name what
/// it expected, never what it found, and are kept.
fn without_value(message: &str) -> String {
    if message.ends_with(NOT_SHOWN) {
        return message.to_string();
    }
    let quotes_the_value = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|start| message.starts_with(start));
    if !quotes_the_value {
        return message.to_string();
    }
    match message.rsplit_once(", expected ") {
        Some((_, expected)) if expected.starts_with("a ") || expected.starts_with("an ") => {
            format!("must be {expected} {NOT_SHOWN}")
        }
        Some((_, expected)) => format!("must be a {expected} {NOT_SHOWN}"),
        None => format!("invalid value {NOT_SHOWN}"),
    }
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

/// A deserializer that only asks a struct for its field names.
struct FieldNames;

/// The field names a struct gave, carried out as the "error".
#[derive(Debug)]
struct FieldList(&'static [&'static str]);

impl fmt::Display for FieldList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl std::error::Error for FieldList {}

impl serde::de::Error for FieldList {
    fn custom<T: fmt::Display>(_: T) -> Self {
        FieldList(&[])
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames {
    type Error = FieldList;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, FieldList> {
        Err(FieldList(&[]))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, FieldList> {
        Err(FieldList(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
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

/// Checks the values a type cannot: modes, addresses, the server, numbers.
fn validate(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    validate_choices(account, at)?;
    validate_names(account, at)?;
    validate_times(account, at)?;
    validate_credentials(account, at)
}

/// The values that must be one of a list, and the retry count.
fn validate_choices(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    let one_of = |value: &Option<Spanned<String>>, allowed: &[&str]| {
        if let Some(value) = value
            && !allowed.contains(&value.get_ref().to_ascii_lowercase().as_str())
        {
            return Err(at(
                value.span(),
                &format!("{:?} is not one of {}", value.get_ref(), allowed.join(", ")),
            ));
        }
        Ok(())
    };
    one_of(&account.tls, &TLS_MODES)?;
    one_of(&account.auth, &AUTH_MECHANISMS)?;
    one_of(&account.queue, &QUEUE_MODES)?;
    if let Some(retries) = &account.retries
        && *retries.get_ref() > MAX_RETRIES
    {
        return Err(at(retries.span(), &format!("give at most {MAX_RETRIES}")));
    }
    Ok(())
}

/// The server, the sender, the EHLO name, the qualify domain, the source address.
fn validate_names(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    if let Some(server) = &account.server {
        crate::plan::server::parse_server(server.get_ref())
            .map_err(|err| at(server.span(), &crate::base::exit::one_line(&err)))?;
    }
    if let Some(from) = &account.from {
        let text = from.get_ref();
        let valid = if is_pattern(text) {
            text.contains('@') && !text.contains(char::is_whitespace)
        } else {
            Mailbox::parse(text).is_ok()
        };
        if !valid {
            return Err(at(
                from.span(),
                &format!("{text:?} is not an address or a pattern such as *@example.com"),
            ));
        }
    }
    if let Some(name) = &account.ehlo_name {
        let text = name.get_ref();
        if text.is_empty() || text.contains(char::is_whitespace) || text.contains('\0') {
            return Err(at(name.span(), "give a host name without spaces"));
        }
    }
    if let Some(domain) = &account.qualify_domain {
        crate::message::address::validate_domain(domain.get_ref())
            .map_err(|why| at(domain.span(), &why))?;
    }
    if let Some(address) = &account.source_address
        && address.get_ref().parse::<std::net::IpAddr>().is_err()
    {
        return Err(at(
            address.span(),
            &format!("{:?} is not an IP address", address.get_ref()),
        ));
    }
    Ok(())
}

/// The deadline and the bound on the run.
fn validate_times(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    if let Some(timeout) = &account.timeout {
        let Seconds(seconds) = *timeout.get_ref();
        if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
            return Err(at(
                timeout.span(),
                "give a number of seconds above 0 (at most 86400)",
            ));
        }
    }
    if let Some(limit) = &account.max_time {
        let Seconds(seconds) = *limit.get_ref();
        if !(seconds.is_finite() && (0.0..=7.0 * 86_400.0).contains(&seconds)) {
            return Err(at(
                limit.span(),
                "give a number of seconds from 0 (no bound) to 604800",
            ));
        }
    }
    Ok(())
}

/// The user and the password sources: one line each, at most one source.
fn validate_credentials(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    for value in [&account.user, &account.password_command] {
        if let Some(value) = value
            && (value.get_ref().is_empty() || value.get_ref().contains(['\r', '\n', '\0']))
        {
            return Err(at(value.span(), "must be one non-empty line"));
        }
    }
    if let Some(secret) = &account.password {
        let value = secret.get_ref().expose();
        if value.is_empty() || value.contains(['\r', '\n', '\0']) {
            return Err(at(
                secret.span(),
                &format!("must be one non-empty line {NOT_SHOWN}"),
            ));
        }
    }
    if let (Some(_), Some(second)) = (
        &account.password,
        account
            .password_file
            .as_ref()
            .map(Spanned::span)
            .or(account.password_command.as_ref().map(Spanned::span)),
    ) {
        return Err(at(
            second,
            "give one of password, password-file and password-command",
        ));
    }
    if let (Some(_), Some(command)) = (&account.password_file, &account.password_command) {
        return Err(at(
            command.span(),
            "give one of password, password-file and password-command",
        ));
    }
    Ok(())
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
