//! The settings table: one row per setting, saying where its value may come from (the option
//! and its `SMTPSEND_*` variable, the account key), what it is when none is given, how it is
//! checked and how `--show-config` shows it. [`Picker`] reads a row: option or variable (clap
//! merged those), else the account (the user's file over the system file, see
//! [`crate::plan::config::Files`]), else the default; then the check; then the line for
//! `--show-config`, naming the file and line an account's value was written at. Validation
//! and `--show-config` come from the same rows, so they cannot disagree.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::base::exit::{Kind, fail};
use crate::cli::{Cli, QueueMode};
use crate::plan::config::{Account, MAX_PARALLEL, MAX_RETRIES, MAX_WINDOW, Written};
use crate::smtp::Timeouts;
use crate::smtp::auth::Mechanism;
use crate::smtp::tls::TlsMode;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line option, e.g. `--server`.
    Flag(&'static str),
    /// An environment variable, e.g. `SMTPSEND_SERVER`.
    Env(&'static str),
    /// The named account of a configuration file, and where the value was written.
    Account { name: String, at: Option<Written> },
    /// Built in.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => f.write_str(flag),
            Source::Env(var) => f.write_str(var),
            Source::Account { name, at: None } => write!(f, "account {name}"),
            Source::Account { name, at: Some(at) } => write!(f, "account {name}, {at}"),
            Source::Default => f.write_str("default"),
        }
    }
}

impl Source {
    /// How a value was given, as the user wrote it: `--timeout 0`, `SMTPSEND_TIMEOUT=0`,
    /// `timeout = 0 in account work`.
    pub fn given(&self, flag: &str, value: impl fmt::Display) -> String {
        match self {
            Source::Env(var) => format!("{var}={value}"),
            Source::Account { name, at } => {
                let key = flag.trim_start_matches('-');
                match at {
                    Some(at) => format!("{key} = {value} in account {name} ({at})"),
                    None => format!("{key} = {value} in account {name}"),
                }
            }
            _ => format!("{flag} {value}"),
        }
    }

    /// The option or variable, for a label.
    pub fn label(&self) -> &'static str {
        match self {
            Source::Flag(flag) => flag,
            Source::Env(var) => var,
            _ => "default",
        }
    }
}

/// One setting.
pub struct Row<T: 'static> {
    /// The key `--show-config` shows; the account key too.
    pub key: &'static str,
    /// The option, `--server`.
    pub flag: &'static str,
    /// Its environment variable, `SMTPSEND_SERVER`.
    pub variable: &'static str,
    /// The value from the option or the variable.
    pub given: fn(&Cli) -> Option<T>,
    /// The value from the account.
    pub account: fn(&Account) -> Option<T>,
    /// The value when none is given.
    pub default: Option<fn() -> T>,
    /// Checks a value; the error names where it came from.
    pub check: fn(&T, &Source) -> anyhow::Result<()>,
    /// The value as `--show-config` shows it (`None`: not given, no default).
    pub show: fn(Option<&T>) -> String,
    /// The value as `--show-config --json` gives it: a string, number or enum name, `null`
    /// when not given and without a default.
    pub json: fn(Option<&T>) -> Value,
}

/// A setting's value and where it came from.
pub struct Picked<T> {
    pub value: Option<T>,
    pub source: Source,
}

/// One line of `--show-config`.
#[derive(Debug, Clone)]
pub struct Shown {
    pub key: &'static str,
    /// As the text shows it.
    pub value: String,
    /// As the JSON gives it.
    pub typed: Value,
    pub source: String,
}

/// Reads rows for one command line and one account, collecting `--show-config`'s lines.
pub struct Picker<'a> {
    pub cli: &'a Cli,
    /// The account, its keys merged from the user's file and the system file.
    pub account: &'a Account,
    pub account_name: Option<String>,
    /// Where each of the account's keys was written.
    pub written: &'a BTreeMap<&'static str, Written>,
    pub shown: Vec<Shown>,
}

impl Picker<'_> {
    /// The row's value: option or variable, else the account, else the default; checked,
    /// and shown.
    pub fn pick<T>(&mut self, row: &Row<T>) -> anyhow::Result<Picked<T>> {
        let picked = self.find(row);
        if let Some(value) = &picked.value {
            (row.check)(value, &picked.source)?;
        }
        self.show(
            row.key,
            (row.show)(picked.value.as_ref()),
            (row.json)(picked.value.as_ref()),
            picked.source.to_string(),
        );
        Ok(picked)
    }

    /// The row's value, unchecked and not shown (for the settings shown their own way).
    pub fn find<T>(&self, row: &Row<T>) -> Picked<T> {
        if let Some(value) = (row.given)(self.cli) {
            return Picked {
                value: Some(value),
                source: self.option(row.flag, row.variable),
            };
        }
        if let Some(value) = (row.account)(self.account) {
            return Picked {
                value: Some(value),
                source: self.from_account(row.key),
            };
        }
        Picked {
            value: row.default.map(|default| default()),
            source: Source::Default,
        }
    }

    /// The option as the source: its flag, or its variable when the value came from there.
    pub fn option(&self, flag: &'static str, variable: &'static str) -> Source {
        option_source(self.cli, flag, variable)
    }

    /// The account as the source of the value of `key`: its name, and the file and line
    /// the key was written at.
    pub fn from_account(&self, key: &str) -> Source {
        Source::Account {
            name: self.account_name.clone().unwrap_or_default(),
            at: self.written.get(key).cloned(),
        }
    }

    /// Adds a line to `--show-config`.
    pub fn show(&mut self, key: &'static str, value: String, typed: Value, source: String) {
        self.shown.push(Shown {
            key,
            value,
            typed,
            source,
        });
    }
}

/// The option as the source of its value: its flag, or its variable when the value came
/// from there (clap's id is the flag's name with `_` for `-`).
pub fn option_source(cli: &Cli, flag: &'static str, variable: &'static str) -> Source {
    let id = flag.trim_start_matches('-').replace('-', "_");
    if cli.is_from_env(&id) {
        Source::Env(variable)
    } else {
        Source::Flag(flag)
    }
}

fn no_check<T>(_: &T, _: &Source) -> anyhow::Result<()> {
    Ok(())
}

fn given_string(value: Option<&String>, none: &str) -> String {
    value.cloned().unwrap_or_else(|| none.to_string())
}

/// Seconds as a JSON number: whole seconds as an integer (`30`, not `30.0`).
fn seconds_json(seconds: f64) -> Value {
    if seconds.fract() == 0.0 && seconds.abs() < 1e15 {
        Value::from(seconds as i64)
    } else {
        Value::from(seconds)
    }
}

/// A value as JSON, `null` when there is none.
fn json_of<T: Into<Value> + Clone>(value: Option<&T>) -> Value {
    value.cloned().map_or(Value::Null, Into::into)
}

mod rows;
pub use rows::*;
