//! A password command: run in its own process group without SMTPSEND_PASSWORD, its first line read within the deadline and the output bounds, its stderr shown afterwards through the scrubber.

use super::*;

/// How often a password command is checked for having finished while it prints nothing.
pub(super) const COMMAND_POLL: Duration = Duration::from_millis(10);

/// Kills the process group of `child` (which has not been reaped, so its id, the group's,
/// cannot have been reused) and reaps it.
pub(super) fn stop(child: &mut Child) {
    // SAFETY: kill(2) on the process group of our own child, not yet reaped.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    let _ = child.wait();
}

/// What a password command writes on stderr, collected (at most
/// [`COMMAND_OUTPUT_LIMIT`]) and shown once the command is over, through the scrubber: it
/// may well print the password, and its stderr would otherwise bypass it.
pub(super) struct StderrRelay {
    collected: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl StderrRelay {
    pub(super) fn start(stderr: std::process::ChildStderr) -> StderrRelay {
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
    pub(super) fn show(self, origin: &str, secret: Option<&[u8]>) {
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

/// Starts `command` with `/bin/sh -c` (`origin` names it in errors): without the
/// passwords' variables, in its own process group, stdout piped for the caller and stderr
/// relayed through the scrubber once it ends.
fn spawn_shell(
    command: &str,
    origin: &str,
    stdin: Stdio,
) -> anyhow::Result<(std::process::Child, StderrRelay)> {
    let mut child = child_command("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(stdin)
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
    Ok((child, relay))
}

/// The first line of what a shell command prints. Its stdin is closed (so it cannot eat the
/// message), its stderr is shown after it ends through the scrubber (see [`StderrRelay`]),
/// and `SMTPSEND_PASSWORD` is not in its environment. It runs in its own process group, which is killed when it has
/// not finished within `deadline` (a gpg-agent waiting for a pinentry nobody sees must not
/// hang a cron job forever), when its first line passes [`PASSWORD_LIMIT`] or its output
/// [`COMMAND_OUTPUT_LIMIT`]. Once the command has exited, output still held open by a
/// process it left in the background is not waited for.
pub(super) fn from_command(
    command: &str,
    label: &str,
    deadline: Duration,
) -> anyhow::Result<Vec<u8>> {
    let origin = format!("{label} {command:?}");
    let (mut child, relay) = spawn_shell(command, &origin, Stdio::null())?;
    let result = read_command(&mut child, &origin, deadline);
    relay.show(&origin, result.as_ref().ok().map(Vec::as_slice));
    result
}

/// The first line the command prints, within its deadline and bounds (see [`from_command`]).
pub(super) fn read_command(
    child: &mut Child,
    origin: &str,
    deadline: Duration,
) -> anyhow::Result<Vec<u8>> {
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
pub(super) fn seconds(deadline: Duration) -> String {
    format!("{} s", deadline.as_secs_f64())
}

/// Runs a shell command with `input` on its stdin (a refresh token for the keyring), as
/// [`from_command`] runs one: without `SMTPSEND_PASSWORD`, in its own process group,
/// stopped after `deadline`, its stderr shown afterwards through the scrubber, its output
/// read and dropped. It must exit 0.
pub(super) fn run_with_input(
    command: &str,
    label: &str,
    deadline: Duration,
    input: &[u8],
) -> anyhow::Result<()> {
    use std::io::Write;
    let origin = format!("{label} {command:?}");
    let (mut child, relay) = spawn_shell(command, &origin, Stdio::piped())?;
    // A token is far smaller than a pipe's buffer: the write cannot block. A command that
    // does not read its stdin gets EPIPE, which is its business.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
        let _ = stdin.write_all(b"\n");
    }
    let result = read_command(&mut child, &origin, deadline);
    relay.show(&origin, None);
    result.map(drop)
}
