//! Running the smtpsend binary: [`Run`] says how (arguments, server, home, environment,
//! current directory, stdin, pinned output), [`Run::output`] runs it to its end and
//! [`Run::spawn`] starts it for a test that acts while it runs (signals, files that change,
//! a terminal).
//!
//! Every run gets a clean environment: inherited `SMTPSEND_*` variables are removed, HOME and
//! the XDG directories point into a [`Home`] (a fresh one unless the test shares one), and
//! `SMTPSEND_TEST_PIN=1` pins the Date, Message-ID and MIME boundaries (unless
//! [`Run::unpinned`]). The process runs in a new session without a controlling terminal, as
//! under cron, with SIGINT and SIGTERM at their defaults. It is killed if it runs longer than
//! [`RUN_CAP`]. Its peak memory is read as it exits: the runner traces it (ptrace), passing
//! every signal on, and stops it at its exit to read VmHWM; while it runs it is also sampled,
//! which is all there is where ptrace is refused.

use std::ffi::{CString, OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::home::Home;
use super::server::Server;
use super::unix::UnixRelay;

/// The binary is killed if it runs longer than this.
pub const RUN_CAP: Duration = Duration::from_secs(60);
/// How often the binary's peak memory is sampled while it runs.
const PEAK_SAMPLE: Duration = Duration::from_millis(5);

/// What `--server` can name: a test server, a unix relay, or an address as text.
pub trait Target {
    fn server_arg(&self) -> String;
}

impl Target for Server {
    fn server_arg(&self) -> String {
        self.addr()
    }
}

impl Target for UnixRelay {
    fn server_arg(&self) -> String {
        self.arg()
    }
}

impl Target for str {
    fn server_arg(&self) -> String {
        self.to_owned()
    }
}

impl Target for String {
    fn server_arg(&self) -> String {
        self.clone()
    }
}

/// Where stdin comes from.
enum Input {
    /// These bytes through a pipe, which is then closed (the default: nothing).
    Bytes(Vec<u8>),
    /// A file, `/dev/null`, a directory, or `Stdio::piped()` for [`Running::take_stdin`].
    Stdio(Stdio),
}

type PreExec = Box<dyn FnMut() -> std::io::Result<()> + Send + Sync>;

/// One run of smtpsend, built up and then started with [`Run::output`] or [`Run::spawn`]:
///
/// ```ignore
/// let out = Run::new(["--to", "b@example.com", "--body", "hi"])
///     .server(&server)
///     .home(&home)
///     .env("SMTPSEND_QUEUE", "on-failure")
///     .output();
/// ```
#[must_use = "a Run does nothing until .output() or .spawn()"]
pub struct Run {
    program: PathBuf,
    /// `--server ADDR`, before the arguments (so that it is never after a `--`).
    server: Vec<OsString>,
    /// `--from SENDER`, after the server and before the arguments.
    sender: Vec<OsString>,
    args: Vec<OsString>,
    /// Applied after the clean environment; `None` removes the variable.
    env: Vec<(OsString, Option<OsString>)>,
    env_clear: bool,
    home: Option<PathBuf>,
    cwd: Option<PathBuf>,
    stdin: Input,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    pinned: bool,
    pre_exec: Vec<PreExec>,
}

impl Run {
    /// smtpsend with these arguments (UTF-8 or not: anything that is an `OsStr`).
    pub fn new<I, S>(args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run {
            program: PathBuf::from(env!("CARGO_BIN_EXE_smtpsend")),
            server: Vec::new(),
            sender: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            env_clear: false,
            home: None,
            cwd: None,
            stdin: Input::Bytes(Vec::new()),
            stdout: None,
            stderr: None,
            pinned: true,
            pre_exec: Vec::new(),
        }
        .args(args)
    }

    /// One more argument, after those given so far.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Run {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More arguments, after those given so far.
    pub fn args<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
        self
    }

    /// `--server ADDR` for a test server, a unix relay or an address, before the arguments.
    pub fn server(mut self, target: &(impl Target + ?Sized)) -> Run {
        self.server = vec!["--server".into(), target.server_arg().into()];
        self
    }

    /// `--from SENDER`, after `--server` and before the arguments.
    pub fn sender(mut self, sender: &str) -> Run {
        self.sender = vec!["--from".into(), sender.into()];
        self
    }

    /// Run in this home (HOME and the XDG directories), shared with other runs, instead of a
    /// fresh one.
    pub fn home(mut self, home: &Home) -> Run {
        self.home = Some(home.path().to_path_buf());
        self
    }

    /// Set a variable (the value need not be UTF-8); it overrides the clean environment.
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Run {
        self.env
            .push((name.into(), Some(value.as_ref().to_owned())));
        self
    }

    /// Set each of these variables.
    pub fn envs(mut self, pairs: &[(&str, &str)]) -> Run {
        for (name, value) in pairs {
            self = self.env(name, value);
        }
        self
    }

    /// Remove a variable the clean environment would set or the test runner passes on.
    pub fn env_remove(mut self, name: &str) -> Run {
        self.env.push((name.into(), None));
        self
    }

    /// Start from an empty environment: only PATH is kept (and then HOME, the XDG
    /// directories, the pin and what [`Run::env`] adds are set as always).
    pub fn env_clear(mut self) -> Run {
        self.env_clear = true;
        self
    }

    /// The current directory of the run (for relative paths).
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Run {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// These bytes on stdin, then its end.
    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Run {
        self.stdin = Input::Bytes(bytes.as_ref().to_vec());
        self
    }

    /// Stdin from a file, a device, `Stdio::null()`, or `Stdio::piped()` to write it from the
    /// test ([`Running::take_stdin`]).
    pub fn stdin_from(mut self, stdin: impl Into<Stdio>) -> Run {
        self.stdin = Input::Stdio(stdin.into());
        self
    }

    /// Stdout somewhere else than the pipe [`Output::stdout`] reads (then empty).
    pub fn stdout(mut self, stdout: impl Into<Stdio>) -> Run {
        self.stdout = Some(stdout.into());
        self
    }

    /// Stderr somewhere else than the pipe [`Output::stderr`] reads (then empty).
    pub fn stderr(mut self, stderr: impl Into<Stdio>) -> Run {
        self.stderr = Some(stderr.into());
        self
    }

    /// Start with descriptor 1 closed (`>&-`).
    pub fn stdout_closed(self) -> Run {
        // SAFETY: close(2) is async-signal-safe and touches no memory of this process.
        unsafe {
            self.pre_exec(|| {
                libc::close(1);
                Ok(())
            })
        }
    }

    /// The real Date, Message-ID and boundaries instead of the pinned ones.
    pub fn unpinned(mut self) -> Run {
        self.pinned = false;
        self
    }

    /// Run the binary through this path (a link to it under another name, such as
    /// `sendmail`), or another program in the same clean environment.
    pub fn program(mut self, program: impl AsRef<Path>) -> Run {
        self.program = program.as_ref().to_path_buf();
        self
    }

    /// Keep this descriptor of the test open in smtpsend (for `/dev/fd/N`), without leaking
    /// it into the processes other tests start meanwhile: it stays close-on-exec here and is
    /// made inheritable in the child only.
    pub fn inherit_fd(self, fd: BorrowedFd<'_>) -> Run {
        let fd: RawFd = fd.as_raw_fd();
        // SAFETY: fcntl(2) is async-signal-safe; `fd` is open in the child (the test keeps
        // it open until the run is started).
        unsafe {
            self.pre_exec(move || {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }

    /// Make this terminal the run's controlling terminal (its new session's first terminal),
    /// as for someone typing at it; `/dev/tty` is then that terminal.
    pub fn controlling_terminal(self, terminal: &Path) -> Run {
        let path = CString::new(terminal.as_os_str().as_bytes()).expect("terminal path");
        // SAFETY: open(2) is async-signal-safe; the path was made before the fork.
        unsafe {
            self.pre_exec(move || {
                if libc::open(path.as_ptr(), libc::O_RDWR) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }

    /// Run as this user and group, without supplementary groups (as root only).
    pub fn run_as(self, uid: libc::uid_t, gid: libc::gid_t) -> Run {
        // SAFETY: setgroups/setgid/setuid between fork and exec, touching no memory of ours.
        unsafe {
            self.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }

    /// Something to do in the child before exec, after the new session is made.
    ///
    /// # Safety
    ///
    /// As for [`CommandExt::pre_exec`]: only async-signal-safe calls.
    pub unsafe fn pre_exec(
        mut self,
        f: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
    ) -> Run {
        self.pre_exec.push(Box::new(f));
        self
    }

    /// The command line as a shell user would type it (`smtpsend --server … ARGS`, quoted
    /// where a shell needs it), for messages and golden files.
    pub fn command_line(&self) -> String {
        let name = self.program.file_name().unwrap_or_default();
        std::iter::once(name)
            .chain(self.server.iter().map(OsString::as_os_str))
            .chain(self.sender.iter().map(OsString::as_os_str))
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|arg| shell_quoted(&arg.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs smtpsend to its end (or the cap) and returns what it did.
    pub fn output(self) -> Output {
        self.spawn().wait()
    }

    /// Starts smtpsend and returns at once; stdout and stderr are read as it runs (unless
    /// redirected) and its peak memory is sampled. End it with [`Running::wait`]; dropping a
    /// [`Running`] kills it.
    pub fn spawn(self) -> Running {
        let fresh = match &self.home {
            Some(_) => None,
            None => Some(Home::new()),
        };
        let home = match (&self.home, &fresh) {
            (Some(path), _) => path.clone(),
            (None, Some(fresh)) => fresh.path().to_path_buf(),
            (None, None) => unreachable!(),
        };
        let mut command = Command::new(&self.program);
        command
            .args(&self.server)
            .args(&self.sender)
            .args(&self.args);
        if self.env_clear {
            command
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SMTPSEND_") {
                command.env_remove(&name);
            }
        }
        for (name, value) in Home::env_for(&home) {
            command.env(name, value);
        }
        if self.pinned {
            command.env("SMTPSEND_TEST_PIN", "1");
        }
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        let (stdin, input) = match self.stdin {
            Input::Bytes(bytes) => (Stdio::piped(), Some(bytes)),
            Input::Stdio(stdio) => (stdio, None),
        };
        let piped_out = self.stdout.is_none();
        let piped_err = self.stderr.is_none();
        command
            .stdin(stdin)
            .stdout(self.stdout.unwrap_or_else(Stdio::piped))
            .stderr(self.stderr.unwrap_or_else(Stdio::piped));

        // A new session without a controlling terminal, as under cron: a password prompt can
        // never reach the developer's terminal, and "no terminal" paths are really taken. A
        // test runner started in the background by a non-interactive shell has SIGINT
        // ignored, and a child inherits that: give smtpsend the dispositions a terminal
        // user's command has.
        // SAFETY: setsid(2) and signal(2) are async-signal-safe and touch no memory of this
        // process.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                Ok(())
            });
        }
        for f in self.pre_exec {
            // SAFETY: each was given through the unsafe `Run::pre_exec`, whose caller
            // promised an async-signal-safe closure.
            unsafe { command.pre_exec(f) };
        }

        // Last, so that it comes after any change of user: the waiter below becomes the
        // tracer, and the child stops at its exit with its memory still there (see `trace`).
        // SAFETY: ptrace(2) PTRACE_TRACEME is async-signal-safe and touches no memory. When
        // it is refused (ptrace forbidden here), the run goes on untraced.
        unsafe {
            command.pre_exec(|| {
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                Ok(())
            });
        }

        // The thread that spawns the child is its tracer, and only it may resume it: it
        // spawns, hands back the child's pipes, and follows the child until it has ended.
        let program = self.program.clone();
        let (handed, handles) = mpsc::channel();
        let started = Instant::now();
        let ended = Arc::new(AtomicBool::new(false));
        let ended_for_waiter = Arc::clone(&ended);
        let waiter = thread::spawn(move || {
            let spawned = command.spawn();
            // The Command holds the parent's copies of redirected descriptors (a terminal's
            // slave side, a pipe's write end): close them now, so that their other ends see
            // the child's end.
            drop(command);
            let mut child = match spawned {
                Ok(child) => child,
                Err(err) => {
                    let _ = handed.send(Err(err));
                    return None;
                }
            };
            let pid = child.id() as libc::pid_t;
            let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
            let _ = handed.send(Ok((pid, pipes)));
            let peak = trace(pid);
            ended_for_waiter.store(true, Ordering::SeqCst);
            peak
        });
        let (pid, (stdin_pipe, stdout_pipe, stderr_pipe)) = handles
            .recv()
            .expect("the waiter thread")
            .unwrap_or_else(|err| panic!("spawn {}: {err}", program.display()));
        let (writer, stdin) = match input {
            Some(bytes) => {
                let mut pipe = stdin_pipe.expect("stdin pipe");
                // The binary may exit without reading stdin; a broken pipe is no error.
                let writer = thread::spawn(move || {
                    let _ = pipe.write_all(&bytes);
                });
                (Some(writer), None)
            }
            None => (None, stdin_pipe),
        };
        let stdout = piped_out.then(|| {
            let mut pipe = stdout_pipe.expect("stdout pipe");
            thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        });
        let (lines, stderr_lines) = mpsc::channel();
        let stderr = piped_err.then(|| {
            let pipe = stderr_pipe.expect("stderr pipe");
            thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut all = Vec::new();
                loop {
                    let mut line = Vec::new();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return all,
                        Ok(_) => {
                            all.extend_from_slice(&line);
                            let text = String::from_utf8_lossy(&line);
                            let _ = lines.send(text.trim_end_matches('\n').to_owned());
                        }
                    }
                }
            })
        });
        let (stop, stopped) = mpsc::channel::<()>();
        let sampler = thread::spawn(move || sample(pid, started, stopped));
        Running {
            pid,
            started,
            ended,
            stdin,
            waiter: Some(waiter),
            writer,
            stdout,
            stderr,
            stderr_lines,
            seen: Vec::new(),
            sampler: Some((stop, sampler)),
            _home: fresh,
        }
    }
}

/// `arg` as a shell reads it back: as it is when it has nothing a shell would take apart,
/// else in single quotes.
fn shell_quoted(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return arg.to_owned();
    }
    format!("'{}'", arg.replace('\'', "'\\''"))
}

/// Follows the child `pid` (which asked to be traced by this thread) until it has ended,
/// and returns its peak memory read at its exit. The child is not reaped here (its pid stays
/// its own until `Running::wait`).
///
/// A traced child stops after its exec, at each signal it is sent (which is passed on
/// unchanged) and at its exit, when its memory is still there: VmHWM then is the peak of
/// the whole run, however short. When tracing was refused, the child just runs, and the
/// peak is what the sampler saw. A child killed with SIGKILL does not stop at its exit.
fn trace(pid: libc::pid_t) -> Option<u64> {
    let mut peak = None;
    let mut set_up = false;
    loop {
        // Waits for the next stop or the end, leaving an end to be reaped later.
        // SAFETY: siginfo_t is plain data; waitid(2) on our own child writes only into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let waited = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | libc::__WALL,
            )
        };
        if waited != 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            panic!("waitid for {pid}: {err}");
        }
        if matches!(
            info.si_code,
            libc::CLD_EXITED | libc::CLD_KILLED | libc::CLD_DUMPED
        ) {
            return peak;
        }
        // A stop: take it (it is not an end, so nothing is reaped) and resume the child.
        let mut status = 0;
        // SAFETY: waitpid(2) on our own child, writing only into `status`.
        if unsafe { libc::waitpid(pid, &mut status, libc::__WALL | libc::WNOHANG) } != pid
            || !libc::WIFSTOPPED(status)
        {
            continue;
        }
        let signal = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        let pass_on = if !set_up && signal == libc::SIGTRAP {
            // The stop after the exec: from now on, stop at the exit too; a later exec
            // would not send a SIGTRAP; and the child dies with this thread.
            set_up = true;
            let options =
                libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_TRACEEXEC | libc::PTRACE_O_EXITKILL;
            // SAFETY: ptrace(2) on our stopped tracee.
            unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, options) };
            0
        } else if event == libc::PTRACE_EVENT_EXIT {
            peak = high_water_kib(pid);
            0
        } else if event != 0 {
            0
        } else {
            // A signal for the child, passed on; or it stopped (SIGSTOP and the like), which
            // is not kept up here: it goes on.
            // SAFETY: siginfo_t is plain data; PTRACE_GETSIGINFO writes only into it.
            let mut about: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let delivered = unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, pid, 0, &mut about) };
            if delivered == 0 { signal } else { 0 }
        };
        // SAFETY: ptrace(2) on our stopped tracee.
        unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, pass_on) };
    }
}

/// Samples the peak memory of `pid` until told to stop, and kills it at the cap. The caller
/// reaps the process only after this returned, so the pid is never another process's.
fn sample(pid: libc::pid_t, started: Instant, stop: mpsc::Receiver<()>) -> Option<u64> {
    let deadline = started + RUN_CAP;
    let mut peak: Option<u64> = None;
    let mut killed = false;
    loop {
        // VmHWM is the high-water mark of the process's resident memory since exec (the
        // child is sampled only once spawn returned, after the exec).
        if let Some(kib) = high_water_kib(pid) {
            peak = Some(peak.map_or(kib, |peak| peak.max(kib)));
        }
        match stop.recv_timeout(PEAK_SAMPLE) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !killed && Instant::now() >= deadline {
                    // SAFETY: kill(2) on our own child, not reaped yet (see above).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    killed = true;
                }
            }
            _ => return peak,
        }
    }
}

/// The process's peak resident memory so far (VmHWM in /proc/PID/status), in KiB; `None`
/// when it cannot be read (the process has ended, or there is no /proc).
pub fn high_water_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A smtpsend started by [`Run::spawn`].
pub struct Running {
    pid: libc::pid_t,
    started: Instant,
    /// Set by the waiter once the process has ended (it is reaped only in `wait`).
    ended: Arc<AtomicBool>,
    /// Its stdin, when started with `stdin_from(Stdio::piped())`.
    stdin: Option<ChildStdin>,
    /// The tracer: follows the process to its end; returns the peak read at its exit.
    waiter: Option<JoinHandle<Option<u64>>>,
    writer: Option<JoinHandle<()>>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    stderr_lines: mpsc::Receiver<String>,
    /// Lines taken from `stderr_lines` by [`Running::wait_for_stderr`].
    seen: Vec<String>,
    sampler: Option<(mpsc::Sender<()>, JoinHandle<Option<u64>>)>,
    _home: Option<Home>,
}

impl Running {
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Its stdin, when started with `stdin_from(Stdio::piped())`.
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin
            .take()
            .expect("started with stdin_from(Stdio::piped())")
    }

    /// Sends it a signal (it is not reaped before [`Running::wait`], so the pid is its own).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child, not reaped yet.
        unsafe { libc::kill(self.pid, signal) };
    }

    /// Whether it has ended (it is not reaped before [`Running::wait`]).
    pub fn has_exited(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Whether it ends within `timeout` (looking every few milliseconds; not reaped).
    pub fn exits_within(&self, timeout: Duration) -> bool {
        let ends = Instant::now() + timeout;
        while !self.has_exited() {
            if Instant::now() >= ends {
                return false;
            }
            thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Its peak memory so far, in KiB, read now; `None` once it has ended.
    pub fn high_water_kib(&self) -> Option<u64> {
        high_water_kib(self.pid)
    }

    /// Whether it has a TCP socket open (it has connected, or is connecting, to a server).
    /// Unix sockets do not count: looking a user up in the password database opens one for
    /// a moment (glibc asks nscd first), long before any server is reached.
    pub fn has_socket(&self) -> bool {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{}/fd", self.pid)) else {
            return false;
        };
        let sockets: Vec<String> = fds
            .filter_map(Result::ok)
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter_map(|target| {
                let target = target.to_string_lossy().into_owned();
                let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
                Some(inode.to_string())
            })
            .collect();
        if sockets.is_empty() {
            return false;
        }
        // /proc/PID/net/tcp{,6}: the tenth column of each line is the socket's inode.
        ["tcp", "tcp6"].iter().any(|table| {
            std::fs::read_to_string(format!("/proc/{}/net/{table}", self.pid))
                .unwrap_or_default()
                .lines()
                .skip(1)
                .filter_map(|line| line.split_whitespace().nth(9))
                .any(|inode| sockets.iter().any(|socket| socket == inode))
        })
    }

    /// How far it has read (or written) the file at `path`: the offset of its descriptor
    /// open on that file, from /proc/PID/fdinfo; `None` while it has none open.
    pub fn file_offset(&self, path: &Path) -> Option<u64> {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid)).ok()?;
        fds.filter_map(Result::ok)
            .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
            .find_map(|fd| {
                let info = format!(
                    "/proc/{}/fdinfo/{}",
                    self.pid,
                    fd.file_name().to_string_lossy()
                );
                let info = std::fs::read_to_string(info).ok()?;
                let pos = info.lines().find_map(|line| line.strip_prefix("pos:"))?;
                pos.trim().parse().ok()
            })
    }

    /// Waits until a line of stderr contains `marker` (at most `RUN_CAP`); panics, killing
    /// the process, if it never does.
    pub fn wait_for_stderr(&mut self, marker: &str) {
        loop {
            match self.stderr_lines.recv_timeout(RUN_CAP) {
                Ok(line) => {
                    let found = line.contains(marker);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => {
                    self.signal(libc::SIGKILL);
                    panic!(
                        "stderr never showed {marker:?}; it showed:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// The stderr lines [`Running::wait_for_stderr`] has read so far.
    pub fn stderr_seen(&self) -> &[String] {
        &self.seen
    }

    /// Waits for its end (killing it at the cap) and returns what it did.
    pub fn wait(mut self) -> Output {
        // Its stdin, if the test did not take it, ends here (as it would for a shell).
        drop(self.stdin.take());
        let (status, peak) = self.reap();
        if let Some(writer) = self.writer.take() {
            writer.join().expect("stdin writer thread");
        }
        let stdout = match self.stdout.take() {
            Some(reader) => reader.join().expect("stdout reader thread"),
            None => Vec::new(),
        };
        let stderr = match self.stderr.take() {
            Some(reader) => reader.join().expect("stderr reader thread"),
            None => Vec::new(),
        };
        let (code, signal) = match (libc::WIFEXITED(status), libc::WIFSIGNALED(status)) {
            (true, _) => (libc::WEXITSTATUS(status), None),
            (_, true) => (-1, Some(libc::WTERMSIG(status))),
            _ => (-1, None),
        };
        Output {
            code,
            signal,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            stdout_bytes: stdout,
            peak,
            elapsed: self.started.elapsed(),
        }
    }

    /// Waits for the end, stops the sampler, then reaps: the wait status and the peak (read
    /// at the exit, or else the largest sample).
    fn reap(&mut self) -> (i32, Option<u64>) {
        let at_exit = self
            .waiter
            .take()
            .and_then(|waiter| waiter.join().expect("waiter thread"));
        let sampled = match self.sampler.take() {
            Some((stop, sampler)) => {
                drop(stop);
                sampler.join().expect("sampler thread")
            }
            None => None,
        };
        let mut status = 0;
        loop {
            // SAFETY: waitpid(2) on our own child, which has ended; writes only `status`.
            let reaped = unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
            if reaped == self.pid {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                panic!("reap {}: {err}", self.pid);
            }
        }
        let peak = match (at_exit, sampled) {
            (Some(exit), Some(sampled)) => Some(exit.max(sampled)),
            (exit, sampled) => exit.or(sampled),
        };
        (status, peak)
    }
}

impl Drop for Running {
    /// A run the test left behind (a failed assertion) is killed, not left to run on.
    fn drop(&mut self) {
        if self.waiter.is_some() {
            self.signal(libc::SIGKILL);
            self.reap();
        }
    }
}

/// What one run of smtpsend did.
#[derive(Clone, Debug)]
pub struct Output {
    /// The exit code; -1 when the process was killed by a signal.
    pub code: i32,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
    /// The most memory the process held at once (VmHWM read at its exit, else sampled
    /// every few milliseconds while it ran), in KiB; `None` when it could not be read.
    peak: Option<u64>,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Output {
    /// The most memory the process held at once, in KiB. Panics when it was never read (no
    /// /proc, no ptrace and a run too short to sample): a memory bound must not pass
    /// unmeasured.
    #[track_caller]
    pub fn peak_rss_kib(&self) -> u64 {
        match self.peak {
            Some(kib) if kib > 0 => kib,
            _ => panic!(
                "the peak memory of this run was never read from /proc/PID/status, neither \
                 at its exit (is ptrace refused here?) nor while it ran ({:?}); a memory \
                 bound cannot be checked",
                self.elapsed
            ),
        }
    }
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE (stdout
/// or stderr of `smtpsend … | head -c1` once head has gone).
pub fn reader_gone() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) fills both descriptors, which are then owned here. Close-on-exec, so
    // that no process another test starts meanwhile inherits the reading end (which would
    // keep the pipe readable); the child gets the writing end through dup2, which clears it.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds are fresh from pipe2(2) and owned by nothing else.
    let (read_end, write_end) = unsafe {
        use std::os::fd::{FromRawFd, OwnedFd};
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    drop(read_end);
    Stdio::from(write_end)
}
