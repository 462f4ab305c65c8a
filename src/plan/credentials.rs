//! Password sources: `--password-file`, `--password-command`, `SMTPSEND_PASSWORD`, the
//! account's keys, or a prompt on the terminal. No option takes a password value.
//!
//! Reading a source cannot hang, blow up or leak:
//! - a password file is opened without blocking and checked on the open descriptor: a
//!   regular file or a pipe (`<(pass show smtp)`, a named FIFO) private to its owner is
//!   read, anything else is refused at once (66); a pipe is read within the command
//!   deadline, so a FIFO nobody writes to ends with an error (66) instead of waiting forever;
//! - the password is the first line, at most [`PASSWORD_LIMIT`] bytes; a longer first line
//!   is refused (78) and reading stops there; a password command may print at most
//!   [`COMMAND_OUTPUT_LIMIT`] bytes in all (the rest is read and dropped, never kept), else its
//!   process group is killed (78);
//! - each source is read at most once per run ([`PasswordSource::read`] keeps what it read):
//!   the early check before the message is read and the send share one reading, which is
//!   what makes a pipe usable at all, and a command runs (or the terminal asks) once;
//! - a password that is not UTF-8, from any source, is refused (78) naming the source,
//!   never replaced with U+FFFD; so is one holding a NUL byte;
//! - child processes are made by [`child_command`], which takes `SMTPSEND_PASSWORD` out of
//!   their environment.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::base::exit::{Kind, fail};
use crate::base::input::{self, FileKind, PASSWORD_LIMIT};
use crate::smtp::auth::Secret;

mod command;
use command::*;

mod choice;
pub(super) use choice::{expand_home, password_choice};

pub mod oauth2;

/// The environment variable that may hold the password (for CI secrets).
pub const PASSWORD_VAR: &str = "SMTPSEND_PASSWORD";

/// The most a password command may print in all: its first line is the password, and the
/// lines after it (`pass show` prints the whole entry) are read and dropped so that it can
/// finish writing. A command printing more is stopped: it is not a password command.
pub const COMMAND_OUTPUT_LIMIT: u64 = 64 << 10;

/// How one read of a pipe is sized; with [`PASSWORD_LIMIT`] it bounds what is held at once.
const CHUNK: usize = 4096;

/// The environment variable that may hold the proxy user's password.
pub const PROXY_PASSWORD_VAR: &str = "SMTPSEND_PROXY_PASSWORD";

/// A command for a child process. Every process smtpsend starts is made here, so that none
/// inherits a password: `SMTPSEND_PASSWORD` and `SMTPSEND_PROXY_PASSWORD` are taken out of
/// its environment.
pub fn child_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_remove(PASSWORD_VAR);
    command.env_remove(PROXY_PASSWORD_VAR);
    command
}

/// Where a password comes from. Neither `Debug` nor `Display` shows a password.
#[derive(Debug, Clone)]
pub enum PasswordSource {
    /// Run this shell command; its first line of output is the password.
    Command(String),
    /// Read the first line of this file or pipe (which must be private to its owner).
    File(PathBuf),
    /// A password file the system file names: its group may read it too (mode 640, the
    /// group of the users allowed to send through the account), others may not.
    GroupFile(PathBuf),
    /// Given in clear: `SMTPSEND_PASSWORD`, or a private configuration file.
    Clear(Secret),
    /// Ask on the terminal.
    Prompt,
    /// An OAuth2 access token, refreshed as needed (the account's `oauth2` keys).
    OAuth2(std::sync::Arc<oauth2::OAuth2>),
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::Command(command) => write!(f, "from the command {command:?}"),
            PasswordSource::File(path) | PasswordSource::GroupFile(path) => {
                write!(f, "from the file {}", path.display())
            }
            PasswordSource::Clear(_) => f.write_str("********"),
            PasswordSource::Prompt => f.write_str("asked on the terminal"),
            PasswordSource::OAuth2(oauth) => {
                write!(f, "an OAuth2 access token from {}", oauth.provider)
            }
        }
    }
}

impl PasswordSource {
    /// Where the password comes from, for `--show-config --json`: `{"from": "command",
    /// "command": …}`, `{"from": "file", "path": …}`, `{"from": "given"}` (the value itself
    /// never appears), `{"from": "terminal"}` or `{"from": "oauth2"}` (the token's state is
    /// the `oauth2` setting).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            PasswordSource::Command(command) => {
                serde_json::json!({ "from": "command", "command": command })
            }
            PasswordSource::File(path) | PasswordSource::GroupFile(path) => {
                serde_json::json!({ "from": "file", "path": path.display().to_string() })
            }
            PasswordSource::Clear(_) => serde_json::json!({ "from": "given" }),
            PasswordSource::Prompt => serde_json::json!({ "from": "terminal" }),
            PasswordSource::OAuth2(_) => serde_json::json!({ "from": "oauth2" }),
        }
    }
}

/// `SMTPSEND_PASSWORD`, when set: it must be UTF-8 (a password is never silently altered).
pub fn password_from_env() -> anyhow::Result<Option<PasswordSource>> {
    match std::env::var_os(PASSWORD_VAR) {
        None => Ok(None),
        Some(value) => match value.into_string() {
            Ok(text) => Ok(Some(PasswordSource::Clear(Secret::new(text)))),
            Err(_) => Err(not_utf8(PASSWORD_VAR)),
        },
    }
}

/// A source already read in this run, as [`READ`] remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Known {
    File(PathBuf),
    Command(String),
    Prompt(String),
}

/// The passwords read in this run, by source. A pipe can be read only once, a command must
/// not run twice and the terminal must not ask twice, so the early check, the send and every
/// group of a queue flush share one reading.
static READ: Mutex<Vec<(Known, Secret)>> = Mutex::new(Vec::new());

impl PasswordSource {
    /// Reads the password, once per run: a source read before (by the early check, or for
    /// another group of a flush) gives what it gave then. `label` names where the source
    /// was configured, for errors; `deadline` bounds how long a password command may run
    /// and how long a pipe is waited for (the command deadline).
    pub fn read(&self, user: &str, label: &str, deadline: Duration) -> anyhow::Result<Secret> {
        let key = match self {
            PasswordSource::Clear(secret) => {
                check_password(secret.expose().as_bytes(), label)?;
                return Ok(secret.clone());
            }
            PasswordSource::File(path) | PasswordSource::GroupFile(path) => {
                Known::File(path.clone())
            }
            PasswordSource::Command(command) => Known::Command(command.clone()),
            PasswordSource::Prompt => Known::Prompt(user.to_string()),
            PasswordSource::OAuth2(oauth) => return oauth.access_token(),
        };
        let read = READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, secret)) = read.iter().find(|(known, _)| *known == key) {
            return Ok(secret.clone());
        }
        drop(read);
        let (bytes, origin) = match self {
            PasswordSource::File(path) | PasswordSource::GroupFile(path) => (
                from_file(
                    path,
                    label,
                    deadline,
                    matches!(self, PasswordSource::GroupFile(_)),
                )?,
                format!("{label} {}", path.display()),
            ),
            PasswordSource::Command(command) => (
                from_command(command, label, deadline)?,
                format!("{label} {command:?}"),
            ),
            PasswordSource::Prompt => (
                from_terminal(user)?,
                "the password typed on the terminal".to_string(),
            ),
            PasswordSource::Clear(_) | PasswordSource::OAuth2(_) => {
                unreachable!("returned above")
            }
        };
        let text = check_password(&bytes, &origin)?;
        let secret = Secret::new(text.to_string());
        READ.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((key, secret.clone()));
        Ok(secret)
    }

    /// Checks what can be checked without running a command or asking, before the message
    /// is read: a password file (or pipe) is read now, and kept for the send; a prompt has a
    /// terminal to ask on.
    pub fn check_ahead(&self, user: &str, label: &str, deadline: Duration) -> anyhow::Result<()> {
        match self {
            PasswordSource::File(_) | PasswordSource::GroupFile(_) => {
                self.read(user, label, deadline).map(drop)
            }
            PasswordSource::Prompt if !has_terminal() => from_terminal(user).map(drop),
            _ => Ok(()),
        }
    }
}

/// The password as text: UTF-8, not empty, without NUL (which SASL PLAIN uses to separate
/// its fields). `origin` names the source.
fn check_password<'a>(bytes: &'a [u8], origin: &str) -> anyhow::Result<&'a str> {
    let text = std::str::from_utf8(bytes).map_err(|_| not_utf8(origin))?;
    if text.is_empty() {
        return Err(fail(
            Kind::Config,
            format!("{origin}: the password is empty"),
        ));
    }
    if text.contains('\0') {
        return Err(fail(
            Kind::Config,
            format!("{origin}: the password contains a NUL byte"),
        ));
    }
    Ok(text)
}

fn not_utf8(origin: &str) -> anyhow::Error {
    fail(
        Kind::Config,
        format!("{origin}: the password is not UTF-8 text; it is refused rather than sent altered"),
    )
}

fn too_long(origin: &str) -> anyhow::Error {
    fail(
        Kind::Config,
        format!(
            "{origin}: the first line is longer than {PASSWORD_LIMIT} bytes, \
             too long for a password (reading stopped there)"
        ),
    )
}

/// True when there is a controlling terminal to ask on.
fn has_terminal() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// The first line of a password, collected as it is read: at most [`PASSWORD_LIMIT`] bytes
/// before its line break (and a trailing CR) are kept; what follows is only counted.
#[derive(Default)]
struct FirstLine {
    line: Vec<u8>,
    /// The line break was seen.
    complete: bool,
    /// Every byte fed, the line and the rest.
    total: u64,
}

/// The first line was longer than [`PASSWORD_LIMIT`].
struct TooLong;

impl FirstLine {
    fn feed(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        self.total += bytes.len() as u64;
        if self.complete {
            return Ok(());
        }
        match bytes.iter().position(|byte| *byte == b'\n') {
            Some(end) => {
                self.line.extend_from_slice(&bytes[..end]);
                self.complete = true;
            }
            None => self.line.extend_from_slice(bytes),
        }
        if self.line.strip_suffix(b"\r").unwrap_or(&self.line).len() as u64 > PASSWORD_LIMIT {
            return Err(TooLong);
        }
        Ok(())
    }

    /// The line without its CR line end.
    fn into_password(mut self) -> Vec<u8> {
        while self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        self.line
    }
}

/// The first line of a file or pipe readable by its owner only. Its type is checked on
/// the descriptor opened without blocking (a FIFO with no writer cannot hang the open): a
/// device, socket or directory is refused at once (66); a pipe is waited for until
/// `deadline` (66 when nothing came).
fn from_file(
    path: &Path,
    label: &str,
    deadline: Duration,
    group_may_read: bool,
) -> anyhow::Result<Vec<u8>> {
    let shown = path.display();
    let cannot_read = |err: &io::Error| {
        fail(
            Kind::NoInput,
            format!("{label} {shown}: cannot read it: {}", input::plain_io(err)),
        )
    };
    let opened = input::open(path).map_err(|err| cannot_read(&err))?;
    if !matches!(opened.kind, FileKind::Regular | FileKind::Pipe) {
        return Err(fail(
            Kind::NoInput,
            format!(
                "{label} {shown} is {}, not a regular file or a pipe",
                opened.kind.described()
            ),
        ));
    }
    check_password_file_mode(&opened.metadata, path, label, group_may_read)?;
    let origin = format!("{label} {shown}");
    let mut file = opened.file;
    let mut line = FirstLine::default();
    if opened.kind == FileKind::Regular {
        let mut chunk = [0u8; CHUNK];
        while !line.complete {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => line
                    .feed(&chunk[..n])
                    .map_err(|TooLong| too_long(&origin))?,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(cannot_read(&err)),
            }
        }
        return Ok(line.into_password());
    }
    let ends = Instant::now() + deadline;
    loop {
        let left = ends.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let what = if line.total == 0 {
                "nothing was written to it"
            } else {
                "its first line did not end"
            };
            return Err(fail(
                Kind::NoInput,
                format!(
                    "{origin}: {what} within {} (the command deadline; --timeout sets it)",
                    seconds(deadline)
                ),
            ));
        }
        // A FIFO reads as ended while no writer has opened it yet, so wait for a writer (or
        // data) first: poll(2) reports a FIFO ready once a writer wrote or came and went.
        if !wait_readable(&file, left) {
            continue;
        }
        match read_some(&mut file, &mut line, false) {
            Ok(Pipe::Ended) => return Ok(line.into_password()),
            Ok(Pipe::Open) if line.complete => return Ok(line.into_password()),
            Ok(Pipe::Open) => {}
            Err(ReadError::TooLong) => return Err(too_long(&origin)),
            Err(ReadError::Io(err)) => return Err(cannot_read(&err)),
        }
    }
}

/// A password file must be private to its owner; one the system file names may be read by
/// its group too (see [`PasswordSource::GroupFile`]).
fn check_password_file_mode(
    metadata: &std::fs::Metadata,
    path: &Path,
    label: &str,
    group_may_read: bool,
) -> anyhow::Result<()> {
    let mode = metadata.permissions().mode() & 0o777;
    let (forbidden, fix) = match group_may_read {
        true => (0o007, "chmod o-rwx"),
        false => (0o077, "chmod 600"),
    };
    if mode & forbidden != 0 {
        let shown = path.display();
        return Err(fail(
            Kind::Config,
            format!("{label} {shown} is readable by others (mode {mode:04o}); run: {fix} {shown}"),
        ));
    }
    Ok(())
}

/// What a non-blocking read of a pipe found.
enum Pipe {
    /// Its writers closed it.
    Ended,
    /// Nothing more for now.
    Open,
}

enum ReadError {
    TooLong,
    Io(io::Error),
}

/// Reads what a non-blocking pipe holds now into `line`, until nothing is left, or the
/// first line is complete when `whole` is false, or [`COMMAND_OUTPUT_LIMIT`] is passed.
fn read_some(file: &mut impl Read, line: &mut FirstLine, whole: bool) -> Result<Pipe, ReadError> {
    let mut chunk = [0u8; CHUNK];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(Pipe::Ended),
            Ok(n) => {
                line.feed(&chunk[..n])
                    .map_err(|TooLong| ReadError::TooLong)?;
                if (line.complete && !whole) || line.total > COMMAND_OUTPUT_LIMIT {
                    return Ok(Pipe::Open);
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(Pipe::Open),
            Err(err) => return Err(ReadError::Io(err)),
        }
    }
}

/// Waits until `file` can be read (data, or its writers gone) for at most `wait`; false
/// when the time passed first.
fn wait_readable(file: &impl AsFd, wait: Duration) -> bool {
    let mut poll = libc::pollfd {
        fd: file.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = wait.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: poll(2) on one pollfd for a descriptor we own, for at most `millis`.
    unsafe { libc::poll(&mut poll, 1, millis) > 0 }
}

/// Sets `O_NONBLOCK` on a descriptor we own.
fn set_nonblocking(file: &impl AsFd) -> io::Result<()> {
    let fd = file.as_fd().as_raw_fd();
    // SAFETY: fcntl(2) F_GETFL/F_SETFL on a descriptor owned by `file`.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Asks on the controlling terminal; without one, fails at once instead of hanging. The
/// prompt library turns bytes that are not UTF-8 into U+FFFD, so a typed password holding
/// U+FFFD is refused rather than sent altered.
fn from_terminal(user: &str) -> anyhow::Result<Vec<u8>> {
    let no_password = || {
        fail(
            Kind::Config,
            format!(
                "no password for {user}: set {PASSWORD_VAR}, --password-file or --password-command (no terminal to ask on)"
            ),
        )
    };
    if !has_terminal() {
        return Err(no_password());
    }
    let typed =
        rpassword::prompt_password(format!("Password for {user}: ")).map_err(|_| no_password())?;
    let origin = "the password typed on the terminal";
    if typed.contains('\u{FFFD}') {
        return Err(not_utf8(origin));
    }
    if typed.len() as u64 > PASSWORD_LIMIT {
        return Err(too_long(origin));
    }
    Ok(typed.into_bytes())
}

#[cfg(test)]
mod tests;
