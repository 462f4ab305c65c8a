//! The upload progress bar: drawn on stderr for a large message when stderr is a terminal,
//! never in a pipe, with --json or with --debug.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::thread;

use crate::support::{Server, smtpsend};

/// A file big enough for the progress bar (over 1 MiB once encoded).
fn big_attachment(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, bytes).expect("write attachment");
    path.to_string_lossy().into_owned()
}

fn message_args<'a>(server: &'a str, attachment: &'a str) -> Vec<&'a str> {
    vec![
        "--server",
        server,
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        "big",
        "--body",
        "see attached",
        "--attach",
        attachment,
    ]
}

/// Runs smtpsend with stderr on a pseudo-terminal; returns its exit code and everything it
/// drew there.
fn run_on_terminal(args: &[&str]) -> (i32, String) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the given integers; the other
    // arguments may be null.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
    let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let home = tempfile::tempdir().expect("temp HOME");
    let mut command = Command::new(env!("CARGO_BIN_EXE_smtpsend"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(slave))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_STATE_HOME", home.path().join(".local/state"))
        .env("SMTPSEND_TEST_PIN", "1");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SMTPSEND_") && name != "SMTPSEND_TEST_PIN" {
            command.env_remove(&name);
        }
    }
    let mut child = command.spawn().expect("spawn smtpsend");
    // The Command held the only other copy of the terminal's slave side; it is closed now,
    // so reading the master ends when the child exits.
    drop(command);
    let reader = thread::spawn(move || {
        let mut master = master;
        let mut drawn = Vec::new();
        let mut chunk = [0u8; 4096];
        // Reading a pseudo-terminal whose other side is closed fails with EIO: that is its end.
        while let Ok(n) = master.read(&mut chunk) {
            if n == 0 {
                break;
            }
            drawn.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&drawn).into_owned()
    });
    let status = child.wait().expect("wait for smtpsend");
    (status.code().unwrap_or(-1), reader.join().expect("reader"))
}

#[test]
fn a_large_upload_draws_a_progress_bar_on_a_terminal() {
    // With DATA, and with BDAT when the server offers CHUNKING.
    let servers = [
        (Server::start(), 0),
        (Server::builder().capability("CHUNKING").start(), 1),
    ];
    for (server, chunks) in servers {
        let dir = tempfile::tempdir().expect("temp dir");
        let attachment = big_attachment(&dir);
        let addr = server.addr();
        let (code, drawn) = run_on_terminal(&message_args(&addr, &attachment));
        assert_eq!(code, 0, "{drawn}");
        assert!(
            drawn.contains("sending"),
            "no progress bar drawn: {drawn:?}"
        );
        assert!(drawn.contains("MiB"), "no byte counts drawn: {drawn:?}");
        assert!(drawn.contains("iB/s"), "no rate drawn: {drawn:?}");
        let record = server.finish();
        let sent = &record.connections[0].transactions[0];
        assert!(sent.completed);
        assert_eq!(sent.bdat_chunks.len(), chunks);
    }
}

#[test]
fn no_progress_bar_for_a_small_message_json_or_debug() {
    let server = Server::start();
    let addr = server.addr();
    let dir = tempfile::tempdir().expect("temp dir");
    let small = dir.path().join("small.txt");
    std::fs::write(&small, "small").expect("write attachment");
    let small = small.to_string_lossy().into_owned();
    let attachment = big_attachment(&dir);
    let runs = [
        message_args(&addr, &small),
        [message_args(&addr, &attachment), vec!["--json"]].concat(),
        [message_args(&addr, &attachment), vec!["--debug"]].concat(),
    ];
    for args in &runs {
        let (code, drawn) = run_on_terminal(args);
        assert_eq!(code, 0, "{args:?}: {drawn}");
        assert!(
            !drawn.contains("sending ") && !drawn.contains("iB/s"),
            "{args:?} drew a progress bar: {drawn:?}"
        );
    }
    assert_eq!(server.finish().connection_count(), 3);
}

#[test]
fn a_large_send_with_stderr_in_a_pipe_prints_nothing_as_cron_wants() {
    let dir = tempfile::tempdir().expect("temp dir");
    let attachment = big_attachment(&dir);
    let server = Server::start();
    let addr = server.addr();
    let out = smtpsend(&message_args(&addr, &attachment), b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "stderr: {:?}", out.stderr);
    server.finish();
}
