//! Local secret input an attacker (or an accident) makes hostile: password files that are
//! FIFOs nobody writes to, devices, pipes that can be read once, endless or overlong command
//! output, bytes that are not UTF-8, configuration values that must not be echoed, TLS and
//! configuration files that are not regular files; and the process itself, which must not
//! leave the password in a core file or to other processes of its user.
//!
//! Exit codes: a password file or pipe that cannot be read (a device, a socket, a directory,
//! a FIFO nobody writes to within the command deadline) is 66; a password that is too long,
//! empty, not UTF-8, or a command that fails, runs too long or prints too much is 78.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

const USER: &str = "alice";
const PASSWORD: &str = "Correct-Horse-Battery-9";
/// Every mechanism the server checks; in clear on loopback smtpsend picks SCRAM-SHA-256.
const MECHANISMS: &str = "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256";

/// A server that accepts USER with `password` only.
fn server_for(password: &str) -> Server {
    Server::builder().auth(MECHANISMS, USER, password).start()
}

/// A message sent as USER; the password's source follows.
const SEND: [&str; 10] = [
    "--user",
    USER,
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--subject",
    "hello",
    "--body",
    "body text",
];

/// Asserts a failure of smtpsend: its exit code, one line on stderr that says `says`, and
/// no connection to the server (nothing was sent, no password either).
fn assert_refused(out: &Output, record: &Record, code: i32, says: &str) {
    assert_eq!(out.code, code, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(says),
        "wanted {says:?} in: {}",
        out.stderr
    );
    assert_eq!(record.connection_count(), 0, "{}", out.stderr);
}

/// Asserts a send that logged in (the server checked the password) and delivered.
fn assert_logged_in(out: &Output, record: &Record) {
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        record.connections[0]
            .authenticated_as
            .as_ref()
            .map(|a| &a.1),
        Some(&USER.to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(record.only_completed().recipients(), ["b@example.com"]);
}

fn private_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Writes `bytes` into the FIFO at `path` once a reader has opened it (trying for 20 s):
/// the writer opens it once, writes, closes. Returns whether a reader came.
fn write_fifo_once(path: PathBuf, bytes: Vec<u8>) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        let ends = Instant::now() + Duration::from_secs(20);
        while Instant::now() < ends {
            // Without O_NONBLOCK this open would wait for a reader forever; with it, ENXIO
            // says none is there yet.
            let opened = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path);
            if let Ok(mut fifo) = opened {
                fifo.write_all(&bytes).unwrap();
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    })
}

/// A pipe holding `bytes` whose write end is closed, named `/dev/fd/N`: what bash's
/// `<(printf …)` hands over. It can be read once. Its read end is close-on-exec here (no
/// process another test starts inherits it); a run gets it with `Run::inherit_fd`.
fn pipe_holding(bytes: &[u8]) -> (OwnedFd, String) {
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) fills the two descriptors, which we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned here only.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    std::fs::File::from(write).write_all(bytes).unwrap();
    let path = format!("/dev/fd/{}", read.as_raw_fd());
    (read, path)
}

// ---- the password file: its type, without blocking ----

#[test]
fn a_fifo_nobody_writes_to_ends_with_66_at_the_command_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let link = dir.path().join("link-to-fifo");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    for path in [&fifo, &link] {
        let server = server_for(PASSWORD);
        let path = path.to_str().unwrap();
        let out = Run::new(SEND)
            .args(["--password-file", path, "--timeout", "2"])
            .server(&server)
            .output();
        assert_refused(
            &out,
            &server.finish(),
            66,
            &format!(
                "--password-file {path}: nothing was written to it within 2 s (the command deadline"
            ),
        );
        // It waited for a writer for the deadline, and no longer.
        assert!(
            out.elapsed >= Duration::from_millis(1900) && out.elapsed < Duration::from_secs(10),
            "{:?}",
            out.elapsed
        );
    }
}

#[test]
fn a_fifo_with_a_writer_is_read_once_and_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    // The writer opens the FIFO once (after smtpsend opened it) and writes the password
    // once: a second reading (the early check, then the send) would find no writer.
    let writer = write_fifo_once(fifo.clone(), format!("{PASSWORD}\n").into_bytes());
    let server = server_for(PASSWORD);
    let out = Run::new(SEND)
        .args(["--password-file", fifo.to_str().unwrap(), "--timeout", "5"])
        .server(&server)
        .output();
    assert!(writer.join().unwrap(), "smtpsend never opened the FIFO");
    assert_logged_in(&out, &server.finish());
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
}

#[test]
fn a_pipe_as_from_process_substitution_is_read_once_and_logs_in() {
    // `--password-file <(printf '%s\n' "$pw")`, on the compose path (the early check reads
    // it before the body) and on the raw path (a whole message on stdin).
    let (keep, path) = pipe_holding(format!("{PASSWORD}\n").as_bytes());
    let server = server_for(PASSWORD);
    let out = Run::new(SEND)
        .args(["--password-file", &path])
        .server(&server)
        .inherit_fd(keep.as_fd())
        .output();
    drop(keep);
    assert_logged_in(&out, &server.finish());

    let (keep, path) = pipe_holding(format!("{PASSWORD}\r\n").as_bytes());
    let server = server_for(PASSWORD);
    let out = Run::new([
        "--user",
        USER,
        "--password-file",
        &path,
        "-f",
        "a@example.com",
        "b@example.com",
    ])
    .server(&server)
    .inherit_fd(keep.as_fd())
    .stdin(b"From: a@example.com\r\nTo: b@example.com\r\nSubject: raw\r\n\r\nraw body\r\n")
    .output();
    drop(keep);
    assert_logged_in(&out, &server.finish());
}

#[test]
fn devices_directories_and_sockets_are_refused_at_once_with_66() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("socket");
    let _socket = std::os::unix::net::UnixListener::bind(&socket_path).unwrap();
    let directory = dir.path().join("directory");
    std::fs::create_dir(&directory).unwrap();
    std::fs::set_permissions(&directory, std::fs::Permissions::from_mode(0o700)).unwrap();
    let cases = [
        (
            "/dev/zero",
            "is a character device, not a regular file or a pipe",
        ),
        (
            "/dev/urandom",
            "is a character device, not a regular file or a pipe",
        ),
        (
            directory.to_str().unwrap(),
            "is a directory, not a regular file or a pipe",
        ),
        (socket_path.to_str().unwrap(), "it is a socket"),
    ];
    for (path, says) in cases {
        let server = server_for(PASSWORD);
        let out = Run::new(SEND)
            .args(["--password-file", path, "--timeout", "30"])
            .server(&server)
            .output();
        assert_refused(&out, &server.finish(), 66, says);
        assert!(
            out.stderr.contains(&format!("--password-file {path}")),
            "{}",
            out.stderr
        );
        assert!(
            out.elapsed < Duration::from_secs(5),
            "{path}: {:?}",
            out.elapsed
        );
    }
}

#[test]
fn a_named_fifo_others_may_open_is_refused_like_a_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = server_for(PASSWORD);
    let out = Run::new(SEND)
        .args(["--password-file", fifo.to_str().unwrap()])
        .server(&server)
        .output();
    assert_refused(&out, &server.finish(), 78, "(mode 0644); run: chmod 600");
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
}

// ---- what is read is bounded ----

#[test]
fn a_first_line_over_4_kib_is_78_from_a_file_a_pipe_or_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("{}\n", "x".repeat(5 * 1024));
    let file = private_file(dir.path(), "long", long.as_bytes());
    let (keep, pipe) = pipe_holding(long.as_bytes());
    let command = "head -c 5120 /dev/zero | tr '\\0' x; echo";
    for (flag, value) in [
        ("--password-file", file.to_str().unwrap()),
        ("--password-file", pipe.as_str()),
        ("--password-command", command),
    ] {
        let server = server_for(PASSWORD);
        let out = Run::new(SEND)
            .args([flag, value])
            .server(&server)
            .inherit_fd(keep.as_fd())
            .output();
        assert_refused(
            &out,
            &server.finish(),
            78,
            "the first line is longer than 4096 bytes, too long for a password",
        );
        assert!(out.stderr.contains(flag), "{}", out.stderr);
    }
    drop(keep);

    // 4096 bytes exactly is a password (the server is told so and accepts it).
    let longest = "y".repeat(4096);
    let file = private_file(dir.path(), "longest", format!("{longest}\n").as_bytes());
    let server = server_for(&longest);
    let out = Run::new(SEND)
        .args(["--password-file", file.to_str().unwrap()])
        .server(&server)
        .output();
    assert_logged_in(&out, &server.finish());
}

#[test]
fn a_command_printing_forever_is_stopped_quickly_with_its_process_group_and_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // `yes` in the background of the shell, which waits for it: the whole group must go.
    let command = format!("yes & echo $! > {}; wait", pid_file.display());
    for command in ["yes", command.as_str(), "cat /dev/zero"] {
        let server = server_for(PASSWORD);
        let out = Run::new(SEND)
            .args(["--password-command", command, "--timeout", "30"])
            .server(&server)
            .output();
        let says = if command.starts_with("cat") {
            // One endless first line of NUL bytes.
            "the first line is longer than 4096 bytes"
        } else {
            "printed more than 64 KiB, so it was stopped"
        };
        assert_refused(&out, &server.finish(), 78, says);
        assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
        assert!(
            out.peak_rss_kib() < 40 * 1024,
            "{command}: peak memory {} KiB",
            out.peak_rss_kib()
        );
    }
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    // Gone, or a zombie waiting to be reaped: either way no longer running.
    assert!(
        stat.as_deref().map_or(true, |stat| stat.contains(") Z ")),
        "the command's yes still runs: {stat:?}"
    );
}

#[test]
fn a_command_that_closes_its_output_but_runs_on_is_stopped_at_the_deadline() {
    let server = server_for(PASSWORD);
    let out = Run::new(SEND)
        .args(["--password-command", "exec >&-; sleep 30", "--timeout", "2"])
        .server(&server)
        .output();
    assert_refused(&out, &server.finish(), 78, "did not finish within 2 s");
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

#[test]
fn output_held_open_by_a_background_process_is_not_waited_for() {
    // The shell prints the password and exits; a process it left behind keeps the output
    // pipe open for 5 s (its stderr goes elsewhere so that the test runner does not wait).
    let server = server_for(PASSWORD);
    let command = format!("echo '{PASSWORD}'; sleep 5 2>/dev/null &");
    let out = Run::new(SEND)
        .args(["--password-command", &command, "--timeout", "30"])
        .server(&server)
        .output();
    assert_logged_in(&out, &server.finish());
    assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
}

#[test]
fn an_empty_first_line_or_a_nul_is_78_and_a_trailing_cr_is_not_part_of_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let empty = private_file(dir.path(), "empty", format!("\n{PASSWORD}\n").as_bytes());
    let server = server_for(PASSWORD);
    let addr = server.addr();
    let out = Run::new(SEND)
        .args(["--password-file", empty.to_str().unwrap()])
        .server(&addr)
        .output();
    assert_refused(&out, &server.finish(), 78, "the password is empty");

    // SASL PLAIN separates its fields with NUL: a password holding one is refused.
    let nul = private_file(dir.path(), "nul", b"pass\0word\n");
    let server = server_for(PASSWORD);
    let addr = server.addr();
    let out = Run::new(SEND)
        .args(["--password-file", nul.to_str().unwrap()])
        .server(&addr)
        .output();
    assert_refused(
        &out,
        &server.finish(),
        78,
        "the password contains a NUL byte",
    );

    let crlf = private_file(dir.path(), "crlf", format!("{PASSWORD}\r\n").as_bytes());
    let server = server_for(PASSWORD);
    let addr = server.addr();
    let out = Run::new(SEND)
        .args(["--password-file", crlf.to_str().unwrap()])
        .server(&addr)
        .output();
    assert_logged_in(&out, &server.finish());
}

// ---- hygiene: the environment of children, UTF-8, core files ----

#[test]
fn the_password_command_does_not_see_smtpsend_password() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("env");
    // --password-command beats SMTPSEND_PASSWORD, which a CI job may still have set.
    let command = format!("env > {}; echo '{PASSWORD}'", seen.display());
    let server = server_for(PASSWORD);
    let out = Run::new(SEND)
        .args(["--password-command", &command])
        .server(&server)
        .env("SMTPSEND_PASSWORD", "the-ci-secret")
        .output();
    assert_logged_in(&out, &server.finish());
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(env.contains("HOME="), "{env}");
    assert!(!env.contains("SMTPSEND_PASSWORD"), "{env}");
    assert!(!env.contains("the-ci-secret"), "{env}");
}

#[test]
fn a_password_that_is_not_utf8_is_78_naming_its_source_and_never_sent_altered() {
    // With the bytes replaced by U+FFFD this server would accept the login.
    let altered = "p\u{FFFD}ss";
    let dir = tempfile::tempdir().unwrap();
    let file = private_file(dir.path(), "pw", b"p\xffss\n");
    let (keep, pipe) = pipe_holding(b"p\xffss\n");
    let bad_env = [("SMTPSEND_PASSWORD", OsStr::from_bytes(b"p\xffss"))];
    let cases = [
        (
            vec![],
            &bad_env[..],
            "SMTPSEND_PASSWORD: the password is not UTF-8 text".to_string(),
        ),
        (
            vec!["--password-file", file.to_str().unwrap()],
            &[],
            format!(
                "--password-file {}: the password is not UTF-8",
                file.display()
            ),
        ),
        (
            vec!["--password-file", pipe.as_str()],
            &[],
            format!("--password-file {pipe}: the password is not UTF-8"),
        ),
        (
            vec!["--password-command", "printf 'p\\377ss\\n'"],
            &[],
            "--password-command \"printf 'p\\\\377ss\\\\n'\": the password is not UTF-8"
                .to_string(),
        ),
    ];
    for (extra, env, says) in cases {
        let server = server_for(altered);
        let mut run = Run::new(SEND)
            .args(&extra)
            .server(&server)
            .inherit_fd(keep.as_fd());
        for (name, value) in env {
            run = run.env(name, value);
        }
        let out = run.output();
        assert_refused(&out, &server.finish(), 78, &says);
    }
    drop(keep);

    // Without a user no password is used, so SMTPSEND_PASSWORD is no concern.
    let out = Run::new(["--show-config"])
        .env("SMTPSEND_PASSWORD", OsStr::from_bytes(b"p\xffss"))
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Runs smtpsend with its stdin null, in a new session whose controlling terminal is a
/// pseudo-terminal; types `typed` once it asks for the password.
fn with_terminal(run: Run, typed: &[u8]) -> Output {
    let terminal = Pty::open();
    let running = run
        .env_clear()
        .stdin_from(Stdio::null())
        .stdout(Stdio::null())
        .controlling_terminal(terminal.slave_path())
        .spawn();
    let mut master_reader = terminal.into_master();
    let mut master_writer = master_reader.try_clone().unwrap();
    let typed = typed.to_vec();
    let typist = std::thread::spawn(move || {
        let mut shown = Vec::new();
        let mut chunk = [0u8; 256];
        while !String::from_utf8_lossy(&shown).contains("Password for") {
            match master_reader.read(&mut chunk) {
                Ok(0) | Err(_) => return shown,
                Ok(n) => shown.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = master_writer.write_all(&typed);
        // Keep reading (the line end echoed) until the terminal goes away.
        while let Ok(n) = master_reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
        }
        shown
    });
    let out = running.wait();
    typist.join().unwrap();
    out
}

#[test]
fn a_password_typed_on_the_terminal_must_be_utf8() {
    let altered = "p\u{FFFD}ss";
    let server = server_for(altered);
    let out = with_terminal(Run::new(SEND).server(&server), b"p\xffss\n");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the password typed on the terminal: the password is not UTF-8 text"),
        "{}",
        out.stderr
    );
    assert_eq!(server.finish().connection_count(), 0);

    // The same terminal, a password in UTF-8: the prompt works, and logs in.
    let server = server_for("pässwörd");
    let out = with_terminal(Run::new(SEND).server(&server), "pässwörd\n".as_bytes());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.finish().connections[0].authenticated_as.is_some());
}

/// The owner of `/proc/PID/…`, the uid the process runs as, and whether a process of that
/// same uid may read `/proc/PID/environ`.
fn proc_view(pid: u32, as_nobody: bool) -> (u32, u32, bool) {
    let owner = std::fs::metadata(format!("/proc/{pid}/environ"))
        .unwrap()
        .uid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let environ = format!("/proc/{pid}/environ");
    let readable = if as_nobody {
        let cat = Run::new([&environ])
            .program("cat")
            .stdout(Stdio::null())
            .run_as(NOBODY, NOBODY)
            .output();
        cat.code == 0
    } else {
        std::fs::read(&environ).is_ok()
    };
    (owner, uid, readable)
}

/// The user the processes of the test below run as when the tests run as root (as in CI,
/// where root may read any process's memory: only between two processes of an ordinary
/// user does dumpability show).
const NOBODY: libc::uid_t = 65534;

/// Checked while smtpsend holds the password and waits for a server's greeting:
/// `/proc/PID/limits` says `Max core file size 0 0`, and the process is not dumpable. That
/// shows as `/proc/PID/*` belonging to root although the process runs as another user (the
/// kernel's rule for processes that are not dumpable), and as a process of the same user
/// being unable to read its `/proc/PID/environ`. As root the test runs smtpsend as nobody,
/// since for root every process's files belong to root; a `sleep` started the same way is
/// the control that shows both observations can fail.
#[test]
fn while_it_holds_a_password_no_core_is_written_and_the_process_is_not_dumpable() {
    let as_nobody = is_root();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (keep, password) = pipe_holding(format!("{PASSWORD}\n").as_bytes());
    if as_nobody {
        // Reopening /dev/fd/N checks the pipe's owner and mode (0600), as for any file: a
        // shell's `<(…)` pipe belongs to the user running smtpsend.
        // SAFETY: fchown(2) on a descriptor we own.
        assert_eq!(unsafe { libc::fchown(keep.as_raw_fd(), NOBODY, NOBODY) }, 0);
    }
    let start = |run: Run| {
        let run = run
            .env_clear()
            .env("HOME", "/nonexistent")
            .env("XDG_CONFIG_HOME", "/nonexistent/.config")
            .env("XDG_STATE_HOME", "/nonexistent/.state")
            .stdin_from(Stdio::null())
            .stdout(Stdio::null());
        match as_nobody {
            true => run.run_as(NOBODY, NOBODY).spawn(),
            false => run.spawn(),
        }
    };
    let smtpsend = start(
        Run::new(SEND)
            .args(["--password-file", &password, "--timeout", "30"])
            .server(&addr)
            .inherit_fd(keep.as_fd()),
    );
    drop(keep);
    // The password is read before connecting: once connected, smtpsend holds it.
    listener.set_nonblocking(true).unwrap();
    let ends = Instant::now() + Duration::from_secs(20);
    let _connection = loop {
        match listener.accept() {
            Ok((connection, _)) => break connection,
            Err(_) if Instant::now() < ends && !smtpsend.has_exited() => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(err) => {
                smtpsend.signal(libc::SIGKILL);
                let out = smtpsend.wait();
                panic!("smtpsend did not connect ({err}): {}", out.stderr);
            }
        }
    };
    let pid = smtpsend.id();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|line| line.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..],
        ["0", "0", "bytes"],
        "{core}"
    );
    let (owner, uid, readable) = proc_view(pid, as_nobody);
    let control = start(Run::new(["30"]).program("sleep"));
    let (control_owner, control_uid, control_readable) = proc_view(control.id(), as_nobody);
    // Both are killed as they are dropped.
    drop(control);
    drop(smtpsend);

    assert_ne!(
        uid, 0,
        "smtpsend must run as an ordinary user for this test"
    );
    assert_eq!(
        owner, 0,
        "/proc/{pid} of smtpsend (uid {uid}) should belong to root"
    );
    assert!(
        !readable,
        "a process of uid {uid} read smtpsend's environment"
    );
    assert_eq!(
        (control_owner, control_uid, control_readable),
        (uid, uid, true)
    );
}

// ---- the configuration file ----

fn with_config(text: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = private_file(dir.path(), "config.toml", text.as_bytes());
    let out = Run::new([
        "--config",
        path.to_str().unwrap(),
        "--to",
        "b@example.com",
        "--body",
        "x",
        "--dry-run",
    ])
    .output();
    (out, dir)
}

#[test]
fn configuration_errors_never_show_a_secret_value() {
    let secret = "987654321";
    let cases = [
        (
            format!("[accounts.a]\nuser = \"me\"\npassword = {secret}\n"),
            "line 3, key password: must be a string (the value is not shown)",
        ),
        (
            format!("[accounts.a]\npassword = {secret}.5\n"),
            "line 2, key password: must be a string (the value is not shown)",
        ),
        (
            "[accounts.a]\npassword = true\n".to_string(),
            "line 2, key password: must be a string (the value is not shown)",
        ),
        (
            format!("[accounts.a]\npassword = [\"{secret}\"]\n"),
            "line 2, key password: must be a string (the value is not shown)",
        ),
        (
            format!("[accounts]\na = {{ user = \"me\", password = {secret} }}\n"),
            "must be a string (the value is not shown)",
        ),
        (
            format!("[accounts.a]\npassword-file = {secret}\n"),
            "line 2, key password-file: must be a path string (the value is not shown)",
        ),
        (
            format!("[accounts.a]\npassword-command = {secret}\n"),
            "line 2, key password-command: must be a string (the value is not shown)",
        ),
        (
            format!("[accounts.a]\npassword = \"{secret}\\n{secret}\"\n"),
            "line 2, key password: must be one non-empty line (the value is not shown)",
        ),
        (
            format!("[accounts.a]\npassword = \"{secret}\n"),
            "line 2, key password: invalid basic string",
        ),
        (
            format!("[accounts.a]\npassword = {secret}x\n"),
            "line 2, key password: string values must be quoted",
        ),
        (
            format!("[accounts.a]\npassword = \"{secret}\\q\"\n"),
            "line 2, key password: missing escaped value",
        ),
    ];
    for (text, says) in cases {
        let (out, _dir) = with_config(&text);
        assert_eq!(out.code, 78, "{text}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(says), "{text}: {}", out.stderr);
        assert!(!out.stderr.contains(secret), "{text}: {}", out.stderr);
    }
    // Other keys still show what was wrong with their value.
    let (out, _dir) = with_config("[accounts.a]\ntimeout = \"soon\"\n");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("\"soon\""), "{}", out.stderr);
}

#[test]
fn configuration_and_tls_files_must_be_regular_files_of_sane_size() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    let big = private_file(dir.path(), "big", &vec![b'#'; (1 << 20) + 1]);
    let big = big.to_str().unwrap();
    let small = private_file(dir.path(), "small.pem", b"not looked at\n");
    let small = small.to_str().unwrap();
    let cases: [(&[&str], i32, &str); 8] = [
        (
            &["--config", fifo],
            66,
            "is a FIFO (a pipe), not a regular file",
        ),
        (&["--config", "/dev/zero"], 66, "is a character device"),
        (&["--config", big], 78, "is larger than 1024 KiB"),
        (&["--tls-ca-file", fifo], 66, "--tls-ca-file"),
        (
            &["--tls-ca-file", "/dev/urandom"],
            66,
            "is a character device",
        ),
        (
            &["--tls-ca-file", big],
            78,
            "is larger than 1024 KiB, too large for a PEM file",
        ),
        (&["--tls-cert", big, "--tls-key", small], 78, "--tls-cert"),
        (
            &["--tls-cert", small, "--tls-key", "/dev/zero"],
            66,
            "--tls-key /dev/zero is a character device",
        ),
    ];
    for (flags, code, says) in cases {
        let server = Server::builder().start();
        let addr = server.addr();
        let mut args = vec![
            "--server",
            &addr,
            "--tls",
            "starttls",
            "--to",
            "b@example.com",
            "--body",
            "x",
        ];
        args.extend_from_slice(flags);
        let out = Run::new(&args).output();
        assert_refused(&out, &server.finish(), code, says);
        assert!(
            out.elapsed < Duration::from_secs(5),
            "{flags:?}: {:?}",
            out.elapsed
        );
    }
}
