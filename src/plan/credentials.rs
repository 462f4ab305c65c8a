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

/// The environment variable that may hold the password (for CI secrets).
pub const PASSWORD_VAR: &str = "SMTPSEND_PASSWORD";

/// The most a password command may print in all: its first line is the password, and the
/// lines after it (`pass show` prints the whole entry) are read and dropped so that it can
/// finish writing. A command printing more is stopped: it is not a password command.
pub const COMMAND_OUTPUT_LIMIT: u64 = 64 << 10;

/// How one read of a pipe is sized; with [`PASSWORD_LIMIT`] it bounds what is held at once.
const CHUNK: usize = 4096;

/// How often a password command is checked for having finished while it prints nothing.
const COMMAND_POLL: Duration = Duration::from_millis(10);

/// A command for a child process. Every process smtpsend starts is made here, so that none
/// inherits the password: `SMTPSEND_PASSWORD` is taken out of its environment.
pub fn child_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_remove(PASSWORD_VAR);
    command
}

/// Where a password comes from. Neither `Debug` nor `Display` shows a password.
#[derive(Debug, Clone)]
pub enum PasswordSource {
    /// Run this shell command; its first line of output is the password.
    Command(String),
    /// Read the first line of this file or pipe (which must be private to its owner).
    File(PathBuf),
    /// Given in clear: `SMTPSEND_PASSWORD`, or a private configuration file.
    Clear(Secret),
    /// Ask on the terminal.
    Prompt,
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::Command(command) => write!(f, "from the command {command:?}"),
            PasswordSource::File(path) => write!(f, "from the file {}", path.display()),
            PasswordSource::Clear(_) => f.write_str("********"),
            PasswordSource::Prompt => f.write_str("asked on the terminal"),
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
            PasswordSource::File(path) => Known::File(path.clone()),
            PasswordSource::Command(command) => Known::Command(command.clone()),
            PasswordSource::Prompt => Known::Prompt(user.to_string()),
        };
        let read = READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, secret)) = read.iter().find(|(known, _)| *known == key) {
            return Ok(secret.clone());
        }
        drop(read);
        let (bytes, origin) = match self {
            PasswordSource::File(path) => (
                from_file(path, label, deadline)?,
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
            PasswordSource::Clear(_) => unreachable!("returned above"),
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
            PasswordSource::File(_) => self.read(user, label, deadline).map(drop),
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
fn from_file(path: &Path, label: &str, deadline: Duration) -> anyhow::Result<Vec<u8>> {
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
    let mode = opened.metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(fail(
            Kind::Config,
            format!(
                "{label} {shown} is readable by others (mode {mode:04o}); run: chmod 600 {shown}"
            ),
        ));
    }
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

/// Kills the process group of `child` (which has not been reaped, so its id, the group's,
/// cannot have been reused) and reaps it.
fn stop(child: &mut Child) {
    // SAFETY: kill(2) on the process group of our own child, not yet reaped.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    let _ = child.wait();
}

/// What a password command writes on stderr, collected (at most
/// [`COMMAND_OUTPUT_LIMIT`]) and shown once the command is over, through the scrubber: it
/// may well print the password, and its stderr would otherwise bypass it.
struct StderrRelay {
    collected: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl StderrRelay {
    fn start(stderr: std::process::ChildStderr) -> StderrRelay {
        let collected = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&collected);
        let reader = std::thread::spawn(move || {
            let mut stderr = stderr;
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buffer) {
                let mut kept = sink.lock().unwrap_or_else(|p| p.into_inner());
                let room = (COMMAND_OUTPUT_LIMIT as usize).saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
        });
        StderrRelay { collected, reader }
    }

    /// Shows what the command wrote on stderr, a line each, after `secret` (its output,
    /// when it gave one) was registered with the scrubber. A process the command left
    /// running with its stderr open is not waited for beyond a moment.
    fn show(self, origin: &str, secret: Option<&[u8]>) {
        if let Some(secret) = secret {
            crate::base::secret::register(secret);
        }
        for _ in 0..20 {
            if self.reader.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let text = self
            .collected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for line in String::from_utf8_lossy(&text).lines() {
            crate::say!("smtpsend: {origin} says: {line}");
        }
    }
}

/// The first line of what a shell command prints. Its stdin is closed (so it cannot eat the
/// message), its stderr is shown after it ends through the scrubber (see [`StderrRelay`]),
/// and `SMTPSEND_PASSWORD` is not in its environment. It runs in its own process group, which is killed when it has
/// not finished within `deadline` (a gpg-agent waiting for a pinentry nobody sees must not
/// hang a cron job forever), when its first line passes [`PASSWORD_LIMIT`] or its output
/// [`COMMAND_OUTPUT_LIMIT`]. Once the command has exited, output still held open by a
/// process it left in the background is not waited for.
fn from_command(command: &str, label: &str, deadline: Duration) -> anyhow::Result<Vec<u8>> {
    let origin = format!("{label} {command:?}");
    let mut child = child_command("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|err| {
            fail(
                Kind::Config,
                format!("{origin}: cannot run it: {}", input::plain_io(&err)),
            )
        })?;
    let relay = StderrRelay::start(child.stderr.take().expect("stderr is piped"));
    let result = read_command(&mut child, &origin, deadline);
    relay.show(&origin, result.as_ref().ok().map(Vec::as_slice));
    result
}

/// The first line the command prints, within its deadline and bounds (see [`from_command`]).
fn read_command(child: &mut Child, origin: &str, deadline: Duration) -> anyhow::Result<Vec<u8>> {
    let mut stdout = child.stdout.take().expect("stdout is piped");
    if let Err(err) = set_nonblocking(&stdout) {
        stop(child);
        return Err(fail(
            Kind::Software,
            format!(
                "{origin}: cannot read its output: {}",
                input::plain_io(&err)
            ),
        ));
    }
    let ends = Instant::now() + deadline;
    let mut line = FirstLine::default();
    let mut open = true;
    let failed = |child: &mut Child, why: String| {
        stop(child);
        fail(Kind::Config, format!("{origin} {why}"))
    };
    let status = loop {
        if open {
            match read_some(&mut stdout, &mut line, true) {
                Ok(Pipe::Ended) => open = false,
                Ok(Pipe::Open) => {}
                Err(ReadError::TooLong) => {
                    stop(child);
                    return Err(too_long(origin));
                }
                Err(ReadError::Io(err)) => {
                    let why = format!("could not be read: {}", input::plain_io(&err));
                    return Err(failed(child, why));
                }
            }
            if line.total > COMMAND_OUTPUT_LIMIT {
                let why = format!(
                    "printed more than {} KiB, so it was stopped (its first line is the password)",
                    COMMAND_OUTPUT_LIMIT >> 10
                );
                return Err(failed(child, why));
            }
        }
        if let Some(status) = child.try_wait()? {
            if open {
                // What it wrote before it exited is in the pipe; a background process
                // holding the pipe open is not waited for.
                match read_some(&mut stdout, &mut line, true) {
                    Err(ReadError::TooLong) => return Err(too_long(origin)),
                    Err(ReadError::Io(_)) | Ok(_) => {}
                }
            }
            break status;
        }
        let left = ends.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let why = format!(
                "did not finish within {} (the command deadline; --timeout sets it), so it was stopped",
                seconds(deadline)
            );
            return Err(failed(child, why));
        }
        let wait = left.min(COMMAND_POLL);
        if open {
            wait_readable(&stdout, wait);
        } else {
            std::thread::sleep(wait);
        }
    };
    if !status.success() {
        return Err(fail(Kind::Config, format!("{origin} failed ({status})")));
    }
    Ok(line.into_password())
}

/// A deadline as people write it: `2 s`, `1.5 s`.
fn seconds(deadline: Duration) -> String {
    format!("{} s", deadline.as_secs_f64())
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
