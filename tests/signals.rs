//! Signals and pipes: Ctrl-C (SIGINT) or SIGTERM in the middle of a send, and a stdout
//! whose reader has gone (`smtpsend --json … | head -c1`) or that is closed (`>&-`).
//!
//! What a user notices: how the process ended, what it said on stderr (never a panic or
//! a backtrace), what is in the outbox directory (never a half-written file), and what the
//! server received (the message exactly once, after a later `-q`).

use std::process::Stdio;
use std::thread;
use std::time::Duration;

use crate::support::*;

/// The message of these tests; `--server` and more flags follow.
const MESSAGE: [&str; 10] = [
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

/// Starts a send with `-d` and returns it once its transcript shows `marker` (the session
/// has reached the point where the server stalls).
fn start_until(run: Run, marker: &str) -> Running {
    let mut running = run
        .arg("-d")
        .stdin_from(Stdio::null())
        .stdout(Stdio::null())
        .spawn();
    running.wait_for_stderr(marker);
    running
}

/// Sends `signal` to the run, waits for its end, and returns how it ended with what it said
/// on stderr (its `smtpsend: ` lines; the rest is the transcript).
fn stop(running: Running, signal: i32) -> (Output, String) {
    running.signal(signal);
    let out = running.wait();
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|line| line.starts_with("smtpsend: "))
        .collect();
    let said = said.join("\n");
    (out, said)
}

/// After the interrupted send: the entry is whole (message and meta, nothing temporary),
/// `-bp` lists it, `-q` delivers it once and empties the outbox, a second `-q` sends nothing.
fn assert_kept_whole_and_flushed_once(home: &Home, server: Server, id: &str) {
    assert_eq!(
        home.files(),
        [format!("{id}.eml"), format!("{id}.json")],
        "the outbox holds the entry whole, and nothing else"
    );
    let listed = home.run(["-bp"]).output();
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.starts_with(id), "{}", listed.stdout);
    assert!(
        listed.stdout.contains("interrupted by SIG"),
        "{}",
        listed.stdout
    );

    let flush = home.run(["-q"]).output();
    assert_eq!(flush.code, 0, "{}", flush.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
    let again = home.run(["-q"]).output();
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
    let run = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&server);
    let running = start_until(run, "send: <message:");
    let (out, said) = stop(running, libc::SIGINT);

    assert_eq!(out.signal, Some(libc::SIGINT), "{said}");
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
    let attachment = home.join("big.bin");
    let data: Vec<u8> = (0..12 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&attachment, data).expect("write the attachment");
    let server = Server::builder()
        .capabilities(&["PIPELINING", "8BITMIME", "SIZE 104857600"])
        .on_first(1, Verb::MidData, Action::Silent)
        .start();
    let run = home
        .run(MESSAGE)
        .args(["--queue", "always", "--attach"])
        .arg(&attachment)
        .server(&server);
    let running = start_until(run, "reply: '354");
    // Give the data time to fill the buffers (where it lands does not change the outcome).
    thread::sleep(Duration::from_millis(300));
    let (out, said) = stop(running, libc::SIGTERM);

    assert_eq!(out.signal, Some(libc::SIGTERM), "{said}");
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
    let running = start_until(home.run(MESSAGE).server(&server), "send: 'DATA");
    let (out, said) = stop(running, libc::SIGINT);

    assert_eq!(out.signal, Some(libc::SIGINT), "{said}");
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
        std::fs::write(home.queue_file(name), "From: half\r\n").expect("leftover");
    }
    let listed = home.run(["-bp"]).output();
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(!listed.stdout.contains("0badf"), "{}", listed.stdout);
    let flush = home.run(["-q"]).output();
    assert_eq!(flush.code, 0, "{}", flush.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
}

/// The run ended with exit `code` and said nothing of a panic.
fn assert_quiet_exit(what: &str, out: &Output, code: i32) {
    assert_eq!(
        out.code, code,
        "{what}: signal {:?}: {}",
        out.signal, out.stderr
    );
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("RUST_BACKTRACE"),
        "{what}: {}",
        out.stderr
    );
}

#[test]
fn json_to_a_reader_that_has_gone_still_reports_the_delivery_in_the_exit_code() {
    let home = Home::new();
    let server = Server::start();
    let out = home
        .run(MESSAGE)
        .arg("--json")
        .server(&server)
        .stdout(reader_gone())
        .output();
    assert_quiet_exit("--json | head -c1", &out, 0);
    assert_eq!(out.stderr, "");
    let record = server.finish();
    assert!(record.only_completed().message_text().contains("hello"));
}

#[test]
fn a_failed_send_with_stdout_gone_still_exits_with_its_failure() {
    let home = Home::new();
    let server = Server::builder()
        .on(Verb::Mail, Action::reply(550, "5.7.1 sender refused"))
        .start();
    let out = home
        .run(MESSAGE)
        .arg("--json")
        .server(&server)
        .stdout(reader_gone())
        .output();
    assert_quiet_exit("--json | head -c1, refused", &out, 69);
    assert!(
        out.stderr.contains("550 5.7.1 sender refused"),
        "{}",
        out.stderr
    );
    assert!(server.finish().completed().is_empty());
}

#[test]
fn dry_run_to_a_reader_that_has_gone_exits_quietly() {
    let home = Home::new();
    let body = "a line of the body\n".repeat(20_000);
    let out = home
        .run([
            "--dry-run",
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--subject",
            "dry",
        ])
        .stdin(&body)
        .stdout(reader_gone())
        .output();
    assert_quiet_exit("--dry-run | head -1", &out, 0);
    assert_eq!(
        out.stderr,
        "MAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\n"
    );
}

#[test]
fn listing_the_outbox_to_a_reader_that_has_gone_exits_quietly() {
    let home = Home::new();
    let refused = refused_addr();
    for _ in 0..3 {
        let out = home
            .run(MESSAGE)
            .args(["--queue", "on-failure"])
            .server(&refused)
            .output();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    for args in [&["-bp"][..], &["--list-queue", "--json"][..]] {
        let out = home.run(args).stdout(reader_gone()).output();
        assert_quiet_exit(&format!("{args:?} | head"), &out, 0);
        assert_eq!(out.stderr, "");
    }
    assert_eq!(home.files().len(), 6, "listing changed nothing");
}

#[test]
fn a_closed_stdout_changes_nothing() {
    let home = Home::new();
    let server = Server::start();
    let out = home
        .run(MESSAGE)
        .arg("--json")
        .server(&server)
        .stdout_closed()
        .output();
    assert_quiet_exit(">&-", &out, 0);
    assert_eq!(out.stderr, "");
    assert!(
        server
            .finish()
            .only_completed()
            .message_text()
            .contains("hello")
    );
    assert!(!home.queue_dir().exists());
}

#[test]
fn stderr_to_a_reader_that_has_gone_does_not_change_the_exit_code() {
    // `smtpsend … 2>&1 | head -c1`: the messages on stderr cannot be written.
    let home = Home::new();
    let refused = refused_addr();
    let run = |extra: &[&str]| {
        home.run(MESSAGE)
            .args(extra)
            .server(&refused)
            .stdout(Stdio::null())
            .stderr(reader_gone())
            .output()
    };
    let queued = run(&["--queue", "on-failure"]);
    assert_eq!(queued.code, 0, "queued: signal {:?}", queued.signal);
    assert_eq!(home.files().len(), 2, "{:?}", home.files());
    let failed = run(&[]);
    assert_eq!(failed.code, 75, "not queued: signal {:?}", failed.signal);
    assert_eq!(home.files().len(), 2, "{:?}", home.files());
}
