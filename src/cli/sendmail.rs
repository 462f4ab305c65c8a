//! sendmail's command-line forms (`-oi`, `-bm`, `-B8BITMIME`, `-ti`, `-FName`, `-f addr`, …)
//! rewritten into smtpsend's own options before clap parses them.
//!
//! Short options are read the way sendmail's getopt reads them: letters may be grouped
//! (`-ti`), and a letter that takes a value takes the rest of its word or else the next word
//! (`-FCronDaemon`, `-F 'Cron Daemon'`). Letters sendmail knows are rewritten to long options
//! (or dropped when they have no meaning for a program that only submits mail); the letters
//! smtpsend defines itself (`-s`, `-a`, `-H`, `-d`, …) are passed on one by one. `--` ends
//! the options: everything after it is passed on untouched.
//!
//! argv[0] matters as the names sendmail is installed under: `mailq` lists the outbox
//! (`--list-queue`), `newaliases` checks the alias file (`--check-aliases`); and a call as
//! `sendmail`, like one with `-t`, `-i` or `-oX`, is a sendmail call ([`call`]), which keeps
//! a message it cannot send now in the outbox. Otherwise `sendmail` and `smtpsend` read the
//! same command line the same way.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};

use clap::Command;

/// What a sendmail letter means here.
#[derive(Debug, Clone, Copy)]
enum Letter {
    /// Accepted and ignored (`-i`, `-m`, `-n`, `-U`, `-G`).
    Ignored,
    /// Accepted with its value and ignored (`-oem`, `-O opt=val`, `-L tag`, `-X file`).
    IgnoredWithValue,
    /// A flag spelled as this long option (`-t`, `-v`).
    Flag(&'static str),
    /// An option with a value, spelled as this long option (`-f`, `-F`, `-B`, `-N`, …).
    Value(&'static str),
    /// `-b MODE`.
    Mode,
    /// `-I`: initialise the alias database (like `-bi`): here, check the alias file.
    Aliases,
    /// `-q`: process the queue (here: deliver the outbox once).
    Queue,
}

fn sendmail_letter(letter: char) -> Option<Letter> {
    Some(match letter {
        'i' | 'm' | 'n' | 'U' | 'G' => Letter::Ignored,
        'o' | 'O' | 'L' | 'X' | 'e' | 'A' | 'M' | 'p' => Letter::IgnoredWithValue,
        't' => Letter::Flag("--read-recipients"),
        'v' => Letter::Flag("--debug"),
        'f' | 'r' => Letter::Value("--from"),
        'F' => Letter::Value("--from-name"),
        'B' => Letter::Value("--body-type"),
        'N' => Letter::Value("--dsn-notify"),
        'R' => Letter::Value("--dsn-return"),
        'V' => Letter::Value("--dsn-envid"),
        'b' => Letter::Mode,
        'I' => Letter::Aliases,
        'q' => Letter::Queue,
        _ => return None,
    })
}

/// The options clap knows: which short letters exist (and whether they take a value), and
/// which long options take a value (so that value is never read as an option).
struct Known {
    shorts: HashMap<char, (bool, Option<String>)>,
    long_values: HashSet<String>,
    longs: HashSet<String>,
}

impl Known {
    fn from_command(command: &Command) -> Known {
        let mut known = Known {
            shorts: HashMap::new(),
            long_values: HashSet::new(),
            longs: HashSet::new(),
        };
        for arg in command.get_arguments() {
            let takes_value = arg.get_action().takes_values();
            let long = arg.get_long().map(str::to_string);
            for short in arg
                .get_short()
                .into_iter()
                .chain(arg.get_all_short_aliases().unwrap_or_default())
            {
                known.shorts.insert(short, (takes_value, long.clone()));
            }
            for name in arg
                .get_long()
                .into_iter()
                .chain(arg.get_all_aliases().unwrap_or_default())
            {
                known.longs.insert(name.to_string());
                if takes_value {
                    known.long_values.insert(name.to_string());
                }
            }
        }
        known
    }
}

/// Why `args` (argv[0] first) are a sendmail call, when they are: smtpsend was invoked as
/// `sendmail`, or the command line has `-t`, `-i`, `-oX` or `--` before recipients. Programs
/// that hand mail to sendmail (cron, PHP, logwatch, unattended-upgrades) expect it to be
/// kept when the relay is down, so such a call queues by default.
pub fn call(args: &[OsString]) -> Option<String> {
    let name = args
        .first()
        .and_then(|argv0| std::path::Path::new(argv0).file_name())
        .and_then(OsStr::to_str);
    if name == Some("sendmail") {
        return Some("invoked as sendmail".to_string());
    }
    let mut words = args.iter().skip(1).filter_map(|word| word.to_str());
    while let Some(word) = words.next() {
        if word == "--" {
            return words.next().map(|_| "recipients after --".to_string());
        }
        if word == "--read-recipients" {
            return Some(word.to_string());
        }
        if word.starts_with("--") {
            continue;
        }
        if let Some(cluster) = word.strip_prefix('-')
            && (cluster.starts_with('o')
                || (cluster.contains(['i', 't']) && cluster.chars().all(|c| "itmnUGv".contains(c))))
        {
            return Some(word.to_string());
        }
    }
    None
}

/// True when `args` (argv[0] first) carry the signs of a sendmail call whose stdin is a
/// complete message: `-i`, `-oi` or another `-oX`, or `--` followed by recipients.
pub fn looks_like_sendmail_call(args: &[OsString]) -> bool {
    let mut words = args.iter().skip(1).filter_map(|word| word.to_str());
    while let Some(word) = words.next() {
        if word == "--" {
            return words.next().is_some();
        }
        if word.starts_with("--") {
            continue;
        }
        if let Some(cluster) = word.strip_prefix('-')
            && (cluster.starts_with('o')
                || (cluster.contains('i') && cluster.chars().all(|c| "itmnUGv".contains(c))))
        {
            return true;
        }
    }
    false
}

/// Rewrites `args` (argv[0] first). The error is a one-line message for a usage error (64).
pub fn normalize(args: Vec<OsString>, command: &Command) -> Result<Vec<OsString>, String> {
    let known = Known::from_command(command);
    let mut args = args.into_iter();
    let mut out: Vec<OsString> = args.next().into_iter().collect();
    let rest: Vec<OsString> = args.collect();
    let name = out
        .first()
        .and_then(|argv0| std::path::Path::new(argv0).file_name())
        .and_then(OsStr::to_str);
    match name {
        Some("mailq") => out.push("--list-queue".into()),
        Some("newaliases") => out.push("--check-aliases".into()),
        _ => {}
    }
    if rest.len() == 1 && rest[0] == "-V" {
        // A lone -V asks for the version (sendmail's -V always has an envelope id after it).
        out.push("--version".into());
        return Ok(out);
    }
    let mut index = 0;
    while index < rest.len() {
        let word = &rest[index];
        index += 1;
        let Some(text) = word.to_str() else {
            out.push(word.clone());
            continue;
        };
        if text == "--" {
            out.extend(rest[index - 1..].iter().cloned());
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            out.push(word.clone());
            if !long.contains('=') && known.long_values.contains(long) && index < rest.len() {
                out.push(rest[index].clone());
                index += 1;
            }
            continue;
        }
        match text.strip_prefix('-') {
            Some(cluster) if !cluster.is_empty() => {
                let next = rest.get(index).map(OsString::as_os_str);
                let used_next = rewrite_cluster(cluster, next, &known, &mut out)?;
                if used_next {
                    index += 1;
                }
            }
            _ => out.push(word.clone()),
        }
    }
    Ok(out)
}

/// Rewrites one `-xyz` word; returns true when it consumed the next word as a value.
fn rewrite_cluster(
    cluster: &str,
    next: Option<&OsStr>,
    known: &Known,
    out: &mut Vec<OsString>,
) -> Result<bool, String> {
    for (at, letter) in cluster.char_indices() {
        let attached = &cluster[at + letter.len_utf8()..];
        // -hN is sendmail's hop count; a bare -h stays smtpsend's --help.
        if letter == 'h' && !attached.is_empty() && attached.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(false);
        }
        let sendmail = sendmail_letter(letter);
        let takes_value = match sendmail {
            Some(Letter::IgnoredWithValue | Letter::Value(_) | Letter::Mode) => true,
            Some(_) => false,
            None => known.shorts.get(&letter).is_some_and(|(value, _)| *value),
        };
        if !takes_value {
            match sendmail {
                Some(Letter::Ignored) => {}
                Some(Letter::Flag(long)) => out.push(long.into()),
                Some(Letter::Aliases) => out.push("--check-aliases".into()),
                Some(Letter::Queue) if !attached.is_empty() => {
                    return Err(format!(
                        "-q{attached} is not supported: smtpsend -q delivers the outbox once; \
                         run it from cron for periodic queue runs"
                    ));
                }
                Some(Letter::Queue) => out.push("--flush-queue".into()),
                _ => out.push(format!("-{letter}").into()),
            }
            continue;
        }
        // The value is passed on as the OS gave it: a file name need not be UTF-8.
        let (value, used_next) = if attached.is_empty() {
            match next {
                Some(next) => (next, true),
                None => return Err(format!("option -{letter} needs a value")),
            }
        } else {
            (OsStr::new(attached), false)
        };
        let null_sender = value.is_empty() || value.to_str().is_some_and(|v| v.trim() == "<>");
        match sendmail {
            Some(Letter::IgnoredWithValue) => {}
            Some(Letter::Mode) => rewrite_mode(&value.to_string_lossy(), known, out)?,
            Some(Letter::Value("--from")) if null_sender => {
                out.push("--envelope-from=<>".into());
            }
            Some(Letter::Value(long)) => out.push(with_value(long, value)),
            _ => match known.shorts.get(&letter) {
                Some((_, Some(long))) => out.push(with_value(&format!("--{long}"), value)),
                _ => {
                    out.push(format!("-{letter}").into());
                    out.push(value.to_owned());
                }
            },
        }
        return Ok(used_next);
    }
    Ok(false)
}

/// `--option=value`, keeping the value's bytes.
fn with_value(option: &str, value: &OsStr) -> OsString {
    let mut joined = OsString::from(format!("{option}="));
    joined.push(value);
    joined
}

/// `-bm` delivers (what smtpsend always does); `-bp` lists the outbox; `-bi` checks the
/// alias file; the daemon and test modes are refused.
fn rewrite_mode(mode: &str, known: &Known, out: &mut Vec<OsString>) -> Result<(), String> {
    match mode {
        "m" => Ok(()),
        "p" if known.longs.contains("list-queue") => {
            out.push("--list-queue".into());
            Ok(())
        }
        "i" if known.longs.contains("check-aliases") => {
            out.push("--check-aliases".into());
            Ok(())
        }
        _ => Err(unsupported_mode(&format!("-b{mode}"), known)),
    }
}

fn unsupported_mode(flag: &str, known: &Known) -> String {
    let what = match flag {
        "-bs" => "SMTP on stdin and stdout",
        "-bd" => "running as a daemon",
        "-bp" => "listing the mail queue",
        "-bv" => "verifying addresses",
        "-bt" => "address test mode",
        _ => "this mode",
    };
    let supported = if known.longs.contains("list-queue") {
        "-bm (submit a message, the default), -bp (list the outbox) and -bi (check the alias file)"
    } else {
        "-bm (submit a message, the default)"
    };
    format!("{flag} ({what}) is not supported: smtpsend only submits mail; supported: {supported}")
}

/// The sendmail-compatibility note at the end of `--help`.
pub(super) const HELP_NOTE: &str = "\
sendmail compatibility: -t, -f ADDR, -F NAME, -r ADDR, -B TYPE, -N, -R, -V and -v work as in \
sendmail, written apart or together (-ti, -FName, -faddr). -i, -oi, -oem, -odi and every other \
-oX, -bm, -m, -n, -U, -G, -O OPT=VALUE, -L TAG, -X FILE and -hN are accepted and ignored. \
-q delivers the outbox, -bp lists it (as mailq does), -bi and -I check the alias file (as \
newaliases does). -bs and -bd are refused with exit code 64. Called as sendmail, or with -t, -i \
or -oX, a message that cannot go now is kept in the outbox (--queue on-failure).";

#[cfg(test)]
mod tests;
