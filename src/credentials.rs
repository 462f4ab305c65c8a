//! Password sources: `--password-file`, `--password-command`, `SMTPSEND_PASSWORD`, the
//! account's keys, or a prompt on the terminal. No option takes a password value.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::exit::{Kind, fail};
use crate::smtp::auth::Secret;

/// The environment variable that may hold the password (for CI secrets).
pub const PASSWORD_VAR: &str = "SMTPSEND_PASSWORD";

/// Where a password comes from. Neither `Debug` nor `Display` shows a password.
#[derive(Debug, Clone)]
pub enum PasswordSource {
    /// Run this shell command; its first line of output is the password.
    Command(String),
    /// Read the first line of this file (which must be private to its owner).
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

impl PasswordSource {
    /// Reads the password. `label` names where the source was configured, for errors;
    /// `deadline` bounds how long a password command may run (the command deadline).
    pub fn read(&self, user: &str, label: &str, deadline: Duration) -> anyhow::Result<Secret> {
        let secret = match self {
            PasswordSource::Clear(secret) => secret.expose().to_string(),
            PasswordSource::File(path) => from_file(path, label)?,
            PasswordSource::Command(command) => from_command(command, label, deadline)?,
            PasswordSource::Prompt => from_terminal(user)?,
        };
        if secret.is_empty() {
            return Err(fail(
                Kind::Config,
                format!("{label}: the password is empty"),
            ));
        }
        Ok(Secret::new(secret))
    }
}

impl PasswordSource {
    /// Checks what can be checked without running a command or asking: a password file
    /// is readable, private and not empty; a prompt has a terminal to ask on.
    pub fn check_ahead(&self, user: &str, label: &str) -> anyhow::Result<()> {
        match self {
            PasswordSource::File(_) => self.read(user, label, Duration::ZERO).map(drop),
            PasswordSource::Prompt if !has_terminal() => from_terminal(user).map(drop),
            _ => Ok(()),
        }
    }
}

/// True when there is a controlling terminal to ask on.
fn has_terminal() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// The first line of a file readable by its owner only.
fn from_file(path: &PathBuf, label: &str) -> anyhow::Result<String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|err| {
        fail(
            Kind::NoInput,
            format!(
                "{label} {shown}: cannot read it: {}",
                crate::input::plain_io(&err)
            ),
        )
    })?;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(fail(
            Kind::Config,
            format!(
                "{label} {shown} is readable by others (mode {mode:04o}); run: chmod 600 {shown}"
            ),
        ));
    }
    let mut line = String::new();
    BufReader::new(file).read_line(&mut line).map_err(|err| {
        fail(
            Kind::NoInput,
            format!(
                "{label} {shown}: cannot read it: {}",
                crate::input::plain_io(&err)
            ),
        )
    })?;
    Ok(strip_newline(line))
}

/// The first line of what a shell command prints. Its stdin is closed (so it cannot eat the
/// message) and its stderr is ours (so its prompts and errors show). It runs in its own
/// process group, which is killed when it has not finished within `deadline` (a gpg-agent
/// waiting for a pinentry nobody sees must not hang a cron job forever).
fn from_command(command: &str, label: &str, deadline: Duration) -> anyhow::Result<String> {
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(|err| {
            fail(
                Kind::Config,
                format!(
                    "{label} {command:?}: cannot run it: {}",
                    crate::input::plain_io(&err)
                ),
            )
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (sender, output) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    let ends = Instant::now() + deadline;
    let mut printed = None;
    let status = loop {
        if printed.is_none() {
            printed = output.try_recv().ok();
        }
        if printed.is_some() {
            if let Some(status) = child.try_wait()? {
                break status;
            }
        }
        if Instant::now() >= ends {
            // SAFETY: kill(2) on the process group of our own child, which has not been
            // reaped yet (so its id, the group's id, cannot have been reused).
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            return Err(fail(
                Kind::Config,
                format!(
                    "{label} {command:?} did not finish within {} (the command deadline; \
                     --timeout sets it), so it was stopped",
                    seconds(deadline)
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if !status.success() {
        return Err(fail(
            Kind::Config,
            format!("{label} {command:?} failed ({status})"),
        ));
    }
    let text = String::from_utf8(printed.unwrap_or_default()).map_err(|_| {
        fail(
            Kind::Config,
            format!("{label} {command:?}: its output is not UTF-8"),
        )
    })?;
    Ok(strip_newline(text.lines().next().unwrap_or("").to_string()))
}

/// A deadline as people write it: `2 s`, `1.5 s`.
fn seconds(deadline: Duration) -> String {
    format!("{} s", deadline.as_secs_f64())
}

/// Asks on the controlling terminal; without one, fails at once instead of hanging.
fn from_terminal(user: &str) -> anyhow::Result<String> {
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
    rpassword::prompt_password(format!("Password for {user}: ")).map_err(|_| no_password())
}

fn strip_newline(mut line: String) -> String {
    while line.ends_with(['\n', '\r']) {
        line.pop();
    }
    line
}
