//! Running the smtpsend binary: clean environment, pinned output, a cap on its run time.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The binary is killed if it runs longer than this.
const RUN_CAP: Duration = Duration::from_secs(60);
/// How often the binary's peak memory is sampled while it runs.
const PEAK_SAMPLE: Duration = Duration::from_millis(5);

/// What one run of smtpsend produced.
#[derive(Clone, Debug)]
pub struct Output {
    /// The exit code; -1 when the process was killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
    /// The most memory the process held at once (its peak resident set, sampled every few
    /// milliseconds while it ran), in KiB.
    pub peak_rss_kib: u64,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Run smtpsend with `args`, feeding `stdin`.
pub fn smtpsend(args: &[&str], stdin: &[u8]) -> Output {
    smtpsend_with_env(args, stdin, &[])
}

/// Run smtpsend. Inherited `SMTPSEND_*` variables are removed, `SMTPSEND_TEST_PIN=1` is set
/// (pinned Date, Message-ID, boundaries), and HOME and the XDG directories point into a fresh
/// empty temp dir; `env` is applied last, so it can override any of that.
pub fn smtpsend_with_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    smtpsend_os(&args, stdin, env)
}

/// [`smtpsend_with_env`] with arguments that need not be UTF-8.
pub fn smtpsend_os(args: &[OsString], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let env: Vec<(&str, &OsStr)> = env
        .iter()
        .map(|(name, value)| (*name, OsStr::new(*value)))
        .collect();
    smtpsend_env_os(args, stdin, &env)
}

/// [`smtpsend_os`] with environment values that need not be UTF-8 either.
pub fn smtpsend_env_os(args: &[OsString], stdin: &[u8], env: &[(&str, &OsStr)]) -> Output {
    let home = tempfile::tempdir().expect("temp HOME");
    let mut command = Command::new(env!("CARGO_BIN_EXE_smtpsend"));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SMTPSEND_") {
            command.env_remove(&name);
        }
    }
    command
        .env("HOME", home.path())
        .env("SMTPSEND_TEST_PIN", "1");
    for (name, dir) in [
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ] {
        command.env(name, home.path().join(dir));
    }
    for (name, value) in env {
        command.env(name, value);
    }

    // A new session without a controlling terminal, as under cron: a password prompt can
    // never reach the developer's terminal, and "no terminal" paths are really taken.
    // SAFETY: setsid is async-signal-safe and touches no memory of this process.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn smtpsend");
    let mut stdin_pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.to_vec();
    // The binary may exit without reading stdin; a broken pipe here is not an error.
    let writer = thread::spawn(move || {
        let _ = stdin_pipe.write_all(&input);
    });
    let pid = child.id() as libc::pid_t;
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        let mut peak = 0;
        let deadline = started + RUN_CAP;
        loop {
            // VmHWM is the high-water mark of the process's resident memory since exec.
            peak = peak.max(high_water_kib(pid).unwrap_or(0));
            match finished.recv_timeout(PEAK_SAMPLE) {
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // SAFETY: kill(2) on the pid of our own child, which has not been
                    // reaped yet (wait_with_output below is still blocked on it).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return peak;
                }
                _ => return peak,
            }
        }
    });
    let output = child.wait_with_output().expect("wait for smtpsend");
    let elapsed = started.elapsed();
    drop(done);
    let peak_rss_kib = watchdog.join().expect("watchdog thread");
    writer.join().expect("stdin writer thread");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout_bytes: output.stdout,
        peak_rss_kib,
        elapsed,
    }
}

/// The process's peak resident memory so far (VmHWM in /proc/PID/status), in KiB.
fn high_water_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
