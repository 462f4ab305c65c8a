//! The upload progress bar: drawn on stderr for a large message when stderr is a terminal,
//! never in a pipe, with --json or with --debug.

use std::io::Read;
use std::process::Stdio;
use std::thread;

use crate::support::{Output, Pty, Run, Server};

/// A file big enough for the progress bar (over 1 MiB once encoded).
fn big_attachment(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, bytes).expect("write attachment");
    path.to_string_lossy().into_owned()
}

/// A message with an attachment, which follows.
const MESSAGE: [&str; 9] = [
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--subject",
    "big",
    "--body",
    "see attached",
    "--attach",
];

/// Runs smtpsend with stderr on a pseudo-terminal; returns what it did, with everything it
/// drew there as its stderr.
fn run_on_terminal(run: Run) -> Output {
    let terminal = Pty::open();
    let running = run
        .stdin_from(Stdio::null())
        .stdout(Stdio::null())
        .stderr(terminal.slave())
        .spawn();
    // The run held the only other copy of the terminal's slave side and has closed it, so
    // reading the master ends when the child exits.
    let mut master = terminal.into_master();
    let reader = thread::spawn(move || {
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
    let mut out = running.wait();
    out.stderr = reader.join().expect("reader");
    out
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
        let out = run_on_terminal(Run::new(MESSAGE).arg(&attachment).server(&server));
        let drawn = out.stderr;
        assert_eq!(out.code, 0, "{drawn}");
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
    let dir = tempfile::tempdir().expect("temp dir");
    let small = dir.path().join("small.txt");
    std::fs::write(&small, "small").expect("write attachment");
    let small = small.to_string_lossy().into_owned();
    let attachment = big_attachment(&dir);
    let runs: [(&str, &[&str]); 3] = [
        (&small, &[]),
        (&attachment, &["--json"]),
        (&attachment, &["--debug"]),
    ];
    for (file, args) in runs {
        let out = run_on_terminal(Run::new(MESSAGE).arg(file).args(args).server(&server));
        let drawn = out.stderr;
        assert_eq!(out.code, 0, "{file} {args:?}: {drawn}");
        assert!(
            !drawn.contains("sending ") && !drawn.contains("iB/s"),
            "{file} {args:?} drew a progress bar: {drawn:?}"
        );
    }
    assert_eq!(server.finish().connection_count(), 3);
}

#[test]
fn a_large_send_with_stderr_in_a_pipe_prints_nothing_as_cron_wants() {
    let dir = tempfile::tempdir().expect("temp dir");
    let attachment = big_attachment(&dir);
    let server = Server::start();
    let out = Run::new(MESSAGE).arg(&attachment).server(&server).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "stderr: {:?}", out.stderr);
    server.finish();
}
