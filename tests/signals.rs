//! Signals and pipes: Ctrl-C (SIGINT) or SIGTERM in the middle of a send, and a stdout
//! whose reader has gone (`smtpsend --json … | head -c1`) or that is closed (`>&-`).
//!
//! What a user notices: how the process ended, what it said on stderr (never a panic or
//! a backtrace), what is in the outbox directory (never a half-written file), and what the
//! server received (the message exactly once, after a later `-q`).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::support::*;

/// A home directory shared by several runs, so they all see the same outbox.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp home"),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let path = |relative: &str| self.dir.path().join(relative).display().to_string();
        vec![
            ("HOME", path("")),
            ("XDG_STATE_HOME", path("state")),
            ("XDG_CONFIG_HOME", path("config")),
        ]
    }

    /// A run that waits for its end (stdout and stderr piped).
    fn run(&self, args: &[&str]) -> Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        smtpsend_with_env(args, b"", &env)
    }

    /// A command with this home, a clean environment and pinned output; stdin is empty.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_smtpsend"));
        command.args(args).stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SMTPSEND_") {
                command.env_remove(&name);
            }
        }
        for (name, value) in self.env() {
            command.env(name, value);
        }
        command.env("SMTPSEND_TEST_PIN", "1");
        // A test runner started in the background by a non-interactive shell has SIGINT
        // ignored, and a child inherits that: give smtpsend the dispositions a terminal
        // user's command has.
        // SAFETY: signal(2) is async-signal-safe and touches no memory of this process.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                Ok(())
            });
        }
        command
    }

    fn queue_dir(&self) -> PathBuf {
        self.dir.path().join("state/smtpsend/queue")
    }

    /// Every file in the outbox but the flush lock, sorted.
    fn files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.queue_dir()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|entry| entry.expect("queue entry").file_name())
            .map(|name| name.into_string().expect("UTF-8 file name"))
            .filter(|name| name != ".flush.lock")
            .collect();
        names.sort();
        names
    }
}

fn send_args<'a>(server: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--server",
        server,
        "--timeout",
        "30",
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        "interrupted",
        "--body",
        "hello",
    ];
    args.extend_from_slice(extra);
    args
}

/// Starts a send with `-d` and returns the child once its transcript shows `marker` (the
/// session has reached the point where the server stalls), with the rest of stderr.
fn start_until(mut command: Command, marker: &str) -> (Child, mpsc::Receiver<String>) {
    command
        .arg("-d")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn smtpsend");
    let stderr = child.stderr.take().expect("stderr pipe");
    let (lines, received) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    loop {
        match received.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(marker) => return (child, received),
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the transcript never showed {marker:?}");
            }
        }
    }
}

/// Sends `signal` to the child, waits for it, and returns its status and what it said on
/// stderr after the marker.
fn stop(mut child: Child, stderr: mpsc::Receiver<String>, signal: i32) -> (ExitStatus, String) {
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let status = child.wait().expect("wait for smtpsend");
    let rest: Vec<String> = stderr.iter().collect();
    let said: Vec<String> = rest
        .into_iter()
        .filter(|line| line.starts_with("smtpsend: "))
        .collect();
    (status, said.join("\n"))
}

/// The id in `smtpsend: queued as ID (reason)`.
fn queued_id(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|line| line.starts_with("smtpsend: queued as "))
        .unwrap_or_else(|| panic!("no 'queued as' line in {stderr:?}"));
    let rest = line.trim_start_matches("smtpsend: queued as ");
    rest.split(' ').next().expect("an id").to_string()
}

/// After the interrupted send: the entry is whole (message and meta, nothing temporary),
/// `-bp` lists it, `-q` delivers it once and empties the outbox, a second `-q` sends nothing.
fn assert_kept_whole_and_flushed_once(home: &Home, server: Server, id: &str) {
    assert_eq!(
        home.files(),
        [format!("{id}.eml"), format!("{id}.json")],
        "the outbox holds the entry whole, and nothing else"
    );
    let listed = home.run(&["-bp"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.starts_with(id), "{}", listed.stdout);
    assert!(
        listed.stdout.contains("interrupted by SIG"),
        "{}",
        listed.stdout
    );

    let flush = home.run(&["-q"]);
    assert_eq!(flush.code, 0, "{}", flush.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
    let again = home.run(&["-q"]);
    assert_eq!(again.code, 0, "{}", again.stderr);

    let record = server.finish();
    assert_eq!(
        record.connection_count(),
        2,
        "the interrupted send and one flush"
    );
    let delivered = record.only_completed();
    assert!(delivered.message_text().contains("Subject: interrupted"));
}

#[test]
fn ctrl_c_after_the_data_keeps_the_message_and_a_flush_sends_it_once() {
    let home = Home::new();
    // The first session never answers the end of the data; the next one works.
    let server = Server::builder()
        .on_first(1, Verb::EndOfData, Action::Silent)
        .start();
    let addr = server.addr();
    let command = home.command(&send_args(&addr, &["--queue", "on-failure"]));
    let (child, stderr) = start_until(command, "send: <message:");
    let (status, said) = stop(child, stderr, libc::SIGINT);

    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}: {said}");
    assert!(!said.contains("panicked"), "{said}");
    let id = queued_id(&said);
    assert!(said.contains("interrupted by SIGINT"), "{said}");
    assert!(
        said.contains("the server may have accepted the message"),
        "the data had been sent in full: {said}"
    );
    assert_kept_whole_and_flushed_once(&home, server, &id);
}

#[test]
fn sigterm_in_the_middle_of_the_data_keeps_the_message_and_a_flush_sends_it_once() {
    let home = Home::new();
    // Larger than the socket buffers of both ends, so the writes block on a server that
    // stopped reading.
    let attachment = home.dir.path().join("big.bin");
    let data: Vec<u8> = (0..12 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&attachment, data).expect("write the attachment");
    let server = Server::builder()
        .capabilities(&["PIPELINING", "8BITMIME", "SIZE 104857600"])
        .on_first(1, Verb::MidData, Action::Silent)
        .start();
    let addr = server.addr();
    let attachment = attachment.to_str().expect("UTF-8 temp path");
    let command = home.command(&send_args(
        &addr,
        &["--queue", "always", "--attach", attachment],
    ));
    let (child, stderr) = start_until(command, "reply: '354");
    // Give the data time to fill the buffers (where it lands does not change the outcome).
    thread::sleep(Duration::from_millis(300));
    let (status, said) = stop(child, stderr, libc::SIGTERM);

    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}: {said}");
    assert!(!said.contains("panicked"), "{said}");
    let id = queued_id(&said);
    assert!(said.contains("interrupted by SIGTERM"), "{said}");
    assert!(!said.contains("may have accepted"), "{said}");
    assert_kept_whole_and_flushed_once(&home, server, &id);
}

#[test]
fn without_the_outbox_ctrl_c_just_ends_the_send_and_writes_nothing() {
    let home = Home::new();
    let server = Server::builder().on(Verb::Data, Action::Silent).start();
    let addr = server.addr();
    let command = home.command(&send_args(&addr, &[]));
    let (child, stderr) = start_until(command, "send: 'DATA");
    let (status, said) = stop(child, stderr, libc::SIGINT);

    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}: {said}");
    assert_eq!(said, "");
    assert!(!home.queue_dir().exists());
    assert!(server.finish().completed().is_empty());
}

#[test]
fn what_an_interrupted_write_left_is_ignored_by_the_listing_and_removed_by_a_flush() {
    let home = Home::new();
    std::fs::create_dir_all(home.queue_dir()).expect("queue dir");
    // A killed writer leaves at most a temporary file, or a message without its meta
    // (the meta is the commit point).
    for name in ["6440a1b2c3d4e-0badf0.eml.tmp", "6440a1b2c3d4f-0badf1.eml"] {
        std::fs::write(home.queue_dir().join(name), "From: half\r\n").expect("leftover");
    }
    let listed = home.run(&["-bp"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(!listed.stdout.contains("0badf"), "{}", listed.stdout);
    let flush = home.run(&["-q"]);
    assert_eq!(flush.code, 0, "{}", flush.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn reader_gone() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills both descriptors, which are then owned here.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both fds are fresh from pipe(2) and owned by nothing else.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read_end);
    Stdio::from(write_end)
}

/// Runs with stdout `stdout` and returns the status and stderr.
fn run_with_stdout(mut command: Command, stdout: Stdio, stdin: &[u8]) -> (ExitStatus, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn smtpsend");
    let mut input = child.stdin.take().expect("stdin pipe");
    let _ = input.write_all(stdin);
    drop(input);
    let output = child.wait_with_output().expect("wait for smtpsend");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_quiet_exit(what: &str, status: ExitStatus, stderr: &str, code: i32) {
    assert_eq!(status.code(), Some(code), "{what}: {status:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{what}: {stderr}"
    );
}

#[test]
fn json_to_a_reader_that_has_gone_still_reports_the_delivery_in_the_exit_code() {
    let home = Home::new();
    let server = Server::start();
    let addr = server.addr();
    let command = home.command(&send_args(&addr, &["--json"]));
    let (status, stderr) = run_with_stdout(command, reader_gone(), b"");
    assert_quiet_exit("--json | head -c1", status, &stderr, 0);
    assert_eq!(stderr, "");
    let record = server.finish();
    assert!(record.only_completed().message_text().contains("hello"));
}

#[test]
fn a_failed_send_with_stdout_gone_still_exits_with_its_failure() {
    let home = Home::new();
    let server = Server::builder()
        .on(Verb::Mail, Action::reply(550, "5.7.1 sender refused"))
        .start();
    let addr = server.addr();
    let command = home.command(&send_args(&addr, &["--json"]));
    let (status, stderr) = run_with_stdout(command, reader_gone(), b"");
    assert_quiet_exit("--json | head -c1, refused", status, &stderr, 69);
    assert!(stderr.contains("550 5.7.1 sender refused"), "{stderr}");
    assert!(server.finish().completed().is_empty());
}

#[test]
fn dry_run_to_a_reader_that_has_gone_exits_quietly() {
    let home = Home::new();
    let body = "a line of the body\n".repeat(20_000);
    let mut command = home.command(&[
        "--dry-run",
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        "dry",
    ]);
    command.stdin(Stdio::piped());
    let (status, stderr) = run_with_stdout(command, reader_gone(), body.as_bytes());
    assert_quiet_exit("--dry-run | head -1", status, &stderr, 0);
    assert_eq!(stderr, "");
}

#[test]
fn listing_the_outbox_to_a_reader_that_has_gone_exits_quietly() {
    let home = Home::new();
    let refused = refused_addr();
    for _ in 0..3 {
        let out = home.run(&send_args(&refused, &["--queue", "on-failure"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    for args in [&["-bp"][..], &["--list-queue", "--json"][..]] {
        let (status, stderr) = run_with_stdout(home.command(args), reader_gone(), b"");
        assert_quiet_exit(&format!("{args:?} | head"), status, &stderr, 0);
        assert_eq!(stderr, "");
    }
    assert_eq!(home.files().len(), 6, "listing changed nothing");
}

#[test]
fn a_closed_stdout_changes_nothing() {
    let home = Home::new();
    let server = Server::start();
    let addr = server.addr();
    let mut command = home.command(&send_args(&addr, &["--json"]));
    // SAFETY: close(2) in the child before exec; it touches no memory of this process.
    unsafe {
        command.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let output = command
        .stderr(Stdio::piped())
        .output()
        .expect("run smtpsend");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_quiet_exit(">&-", output.status, &stderr, 0);
    assert_eq!(stderr, "");
    assert!(
        server
            .finish()
            .only_completed()
            .message_text()
            .contains("hello")
    );
    assert!(!Path::new(&home.queue_dir()).exists());
}

#[test]
fn stderr_to_a_reader_that_has_gone_does_not_change_the_exit_code() {
    // `smtpsend … 2>&1 | head -c1`: the messages on stderr cannot be written.
    let home = Home::new();
    let refused = refused_addr();
    let run = |extra: &[&str]| {
        let output = home
            .command(&send_args(&refused, extra))
            .stdout(Stdio::null())
            .stderr(reader_gone())
            .output()
            .expect("run smtpsend");
        output.status
    };
    let queued = run(&["--queue", "on-failure"]);
    assert_eq!(queued.code(), Some(0), "queued: {queued:?}");
    assert_eq!(home.files().len(), 2, "{:?}", home.files());
    let failed = run(&[]);
    assert_eq!(failed.code(), Some(75), "not queued: {failed:?}");
    assert_eq!(home.files().len(), 2, "{:?}", home.files());
}
