//! Aliases for local recipients, in the format of aliases(5) as msmtp reads it:
//!
//! ```text
//! # /etc/aliases
//! root: admin@example.com, ops@example.com
//! postmaster: root
//! www-data: root
//! default: admin@example.com
//! ```
//!
//! A local name (a bare user name such as `root`, without `@`) is replaced by the addresses
//! of its entry; a target that is itself a local name is looked up in turn; `default`
//! stands for any name without an entry of its own; a name with neither is left as it is.
//! Names match without regard to case. `#` starts a comment, a line that starts with a
//! space or tab continues the entry above it. The forms only a local delivery agent can
//! honour (`|command`, `/file`, `:include:`) are refused, as are duplicate names, and a
//! loop (`a: b`, `b: a`) is an error, never a silent guess (78 each, naming the line).

use std::path::{Path, PathBuf};

use crate::base::exit::{Kind, fail};
use crate::message::address;

/// The largest alias file read.
const ALIASES_LIMIT: u64 = 1 << 20;
/// How deep aliases may point at aliases.
const MAX_DEPTH: usize = 16;
/// The most addresses one name may stand for.
const MAX_ADDRESSES: usize = 1000;

/// One entry: a name and what it stands for, with its line for messages.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub targets: Vec<String>,
    pub line: usize,
}

/// A loaded, checked alias file.
#[derive(Debug, Clone)]
pub struct Aliases {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl Aliases {
    /// Reads and checks the file at `path`: a regular file of at most 1 MiB. A missing or
    /// unreadable file is a configuration error (78), like a malformed one.
    pub fn load(path: &Path) -> anyhow::Result<Aliases> {
        let cannot = |why: String| {
            fail(
                Kind::Config,
                format!("cannot read the alias file {}: {why}", path.display()),
            )
        };
        let mut opened = crate::base::input::open(path)
            .map_err(|err| cannot(crate::base::input::plain_io(&err)))?;
        if opened.kind != crate::base::input::FileKind::Regular {
            return Err(cannot(format!(
                "it is {}, not a regular file",
                opened.kind.described()
            )));
        }
        let bytes = crate::base::input::read_to_limit(&mut opened.file, ALIASES_LIMIT)
            .map_err(|err| cannot(crate::base::input::plain_io(&err)))?
            .ok_or_else(|| cannot("it is larger than 1 MiB".to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| cannot("not UTF-8 text".to_string()))?;
        Aliases::parse(path, &text)
    }

    /// Parses the text of the alias file at `path`.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Aliases> {
        let at = |line: usize, why: String| {
            fail(
                Kind::Config,
                format!("alias file {} line {line}: {why}", path.display()),
            )
        };
        let mut entries: Vec<Entry> = Vec::new();
        for (line, content) in logical_lines(text) {
            let Some((name, targets)) = content.split_once(':') else {
                return Err(at(line, "expected name: address, address".to_string()));
            };
            let name = name.trim();
            check_name(name).map_err(|why| at(line, why))?;
            if let Some(first) = entries.iter().find(|e| e.name.eq_ignore_ascii_case(name)) {
                return Err(at(
                    line,
                    format!("{name} is defined twice (first on line {})", first.line),
                ));
            }
            let targets = parse_targets(targets).map_err(|why| at(line, why))?;
            entries.push(Entry {
                name: name.to_string(),
                targets,
                line,
            });
        }
        Ok(Aliases {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// What the local name `name` stands for: its entry's addresses (each alias among them
    /// looked up in turn), else `default`'s, else `name` itself. A loop or a chain deeper
    /// than 16 is an error (78).
    pub fn expand(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        self.expand_into(name, &mut Vec::new(), &mut out)?;
        Ok(out)
    }

    fn expand_into(
        &self,
        name: &str,
        path: &mut Vec<String>,
        out: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let Some(entry) = self.find(name).or_else(|| self.find("default")) else {
            push_unique(out, name);
            return Ok(());
        };
        let looped = path
            .iter()
            .any(|seen| seen.eq_ignore_ascii_case(&entry.name));
        if looped || path.len() >= MAX_DEPTH {
            path.push(entry.name.clone());
            let what = match looped {
                true => "the aliases loop",
                false => "the aliases nest deeper than 16",
            };
            return Err(fail(
                Kind::Config,
                format!(
                    "alias file {}: {what} ({}); see line {}",
                    self.path.display(),
                    path.join(" → "),
                    entry.line
                ),
            ));
        }
        path.push(entry.name.clone());
        for target in &entry.targets {
            if address::is_unqualified(target) {
                self.expand_into(target, path, out)?;
            } else {
                push_unique(out, target);
            }
            if out.len() > MAX_ADDRESSES {
                return Err(fail(
                    Kind::Config,
                    format!(
                        "alias file {}: {} stands for more than {MAX_ADDRESSES} addresses",
                        self.path.display(),
                        path[0]
                    ),
                ));
            }
        }
        path.pop();
        Ok(())
    }

    fn find(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| entry.name.eq_ignore_ascii_case(name))
    }
}

fn push_unique(out: &mut Vec<String>, address: &str) {
    if !out.iter().any(|known| known.eq_ignore_ascii_case(address)) {
        out.push(address.to_string());
    }
}

/// The entries of the text, each with the number of its first line: comments removed,
/// continuation lines joined, blank lines skipped.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or_default();
        if content.trim().is_empty() {
            continue;
        }
        match lines.last_mut() {
            Some((_, entry)) if content.starts_with([' ', '\t']) => {
                entry.push(' ');
                entry.push_str(content.trim());
            }
            _ => lines.push((index + 1, content.trim().to_string())),
        }
    }
    lines
}

/// An entry's name: a local name, without `@`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name before the : is empty".to_string());
    }
    if !address::is_unqualified(name) {
        return Err(format!(
            "{name:?} is not a local name (an alias is a name without @, such as root)"
        ));
    }
    address::validate(name).map_err(|why| format!("{name:?}: {why}"))
}

/// The comma-separated targets of an entry: addresses or local names. What only a local
/// delivery agent can do is refused, since smtpsend hands mail to a server.
fn parse_targets(text: &str) -> Result<Vec<String>, String> {
    let mut targets = Vec::new();
    for target in text.split(',').map(str::trim) {
        let refused = match target.chars().next() {
            None => Some("an empty address (two commas, or a comma at the end)"),
            Some('|') => Some("a command, which only a local delivery agent can run"),
            Some('/') => Some("a file, which only a local delivery agent can write"),
            Some(':') => Some("an :include:, which smtpsend does not read"),
            _ => None,
        };
        if let Some(what) = refused {
            return Err(format!(
                "{target:?} is {what}; smtpsend sends to addresses only"
            ));
        }
        let target = target.trim_start_matches('<').trim_end_matches('>');
        address::validate(target).map_err(|why| format!("{target:?}: {why}"))?;
        targets.push(target.to_string());
    }
    Ok(targets)
}

#[cfg(test)]
mod tests;
