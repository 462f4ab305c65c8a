//! A hostile server, as an attacker would run one: it echoes the client's login back in its
//! replies, answers out of the protocol's order, sends terminal escapes, and reads the
//! message one byte at a time. Each test checks what the user sees (stdout, stderr, `--json`,
//! the outbox files) and the exit code.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;

const USER: &str = "alice";
const PASSWORD: &str = "Open-Sesame-4711";

/// PLAIN's initial response as the client sends it.
fn plain_blob() -> String {
    b64(format!("\0{USER}\0{PASSWORD}").as_bytes())
}

/// What a server may echo of the login: the password, its base64, the PLAIN blob (base64
/// and decoded), and the password's base64 as it appears inside longer blobs.
fn secret_forms() -> Vec<String> {
    let mut forms = vec![
        PASSWORD.to_string(),
        "Sesame".to_string(),
        b64(PASSWORD.as_bytes()),
        plain_blob(),
    ];
    for prefix in ["x", "xy", "xyz"] {
        let encoded = b64(format!("{prefix}{PASSWORD}").as_bytes());
        forms.push(encoded[4..encoded.len() - 4].to_string());
    }
    forms
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for form in secret_forms() {
        assert!(
            !text.contains(&form),
            "{what} shows the secret as {form:?}:\n{text}"
        );
    }
}

#[track_caller]
fn assert_output_clean(out: &Output) {
    assert_no_secret("stdout", &out.stdout);
    assert_no_secret("stderr", &out.stderr);
}

/// A message sent as USER (whose password comes from SMTPSEND_PASSWORD).
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

/// A reply that echoes every form of the login a careless or hostile server might.
fn echoing(code: u16) -> Action {
    Action::reply(
        code,
        &format!(
            "5.7.8 rejected {} for {USER}\0{PASSWORD} (password {PASSWORD}, base64 {})",
            plain_blob(),
            b64(PASSWORD.as_bytes())
        ),
    )
}

#[test]
fn a_refused_login_echoed_by_the_server_shows_no_secret() {
    for mechanism in ["PLAIN", "LOGIN"] {
        let server = Server::builder()
            .auth(mechanism, USER, PASSWORD)
            .on(Verb::Auth, echoing(535))
            .start();
        for extra in [&["-d"][..], &["-ddd"], &["--json"], &[]] {
            let out = Run::new(SEND)
                .args(extra)
                .server(&server)
                .env("SMTPSEND_PASSWORD", PASSWORD)
                .output();
            assert_eq!(out.code, 77, "{mechanism} {extra:?}: {}", out.stderr);
            assert_output_clean(&out);
            let shown = if extra == ["--json"] {
                &out.stdout
            } else {
                &out.stderr
            };
            assert!(
                shown.contains("rejected <redacted> for alice"),
                "{mechanism} {extra:?}: the reply is shown, redacted:\n{shown}"
            );
        }
        assert!(server.finish().completed().is_empty());
    }
}

#[test]
fn a_secret_echoed_in_any_reply_is_redacted() {
    let password_in = |code: u16| {
        Action::reply(
            code,
            &format!(
                "5.7.1 sender {USER}:{PASSWORD} not allowed ({})",
                plain_blob()
            ),
        )
    };
    for (verb, code, exit) in [
        (Verb::Mail, 550, 69),
        (Verb::Rcpt, 550, 67),
        (Verb::Data, 554, 69),
        (Verb::EndOfData, 554, 69),
    ] {
        let server = Server::builder()
            .auth("PLAIN", USER, PASSWORD)
            .on(verb, password_in(code))
            .start();
        let out = Run::new(SEND)
            .args(["-d"])
            .server(&server)
            .env("SMTPSEND_PASSWORD", PASSWORD)
            .output();
        assert_eq!(out.code, exit, "{verb:?}: {}", out.stderr);
        assert_output_clean(&out);
        assert!(out.stderr.contains("<redacted>"), "{}", out.stderr);
        server.finish();
    }
}

#[test]
fn a_queued_message_keeps_no_echoed_secret_on_disk() {
    let server = Server::builder()
        .auth("PLAIN", USER, PASSWORD)
        .on(Verb::Auth, echoing(454))
        .start();
    let home = Home::new();
    let out = Run::new(SEND)
        .args(["--queue", "on-failure"])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .home(&home)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("queued as"), "{}", out.stderr);
    assert_output_clean(&out);
    let mut files = 0;
    for entry in std::fs::read_dir(home.queue_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_no_secret(&path.display().to_string(), &text);
        files += 1;
    }
    assert!(files >= 2, "the entry's files are there");
    // A later run that never read the password lists the entry: still nothing to show.
    for list in [&["--list-queue"][..], &["--list-queue", "--json"]] {
        let out = home.run(list).output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains("<redacted>"), "{}", out.stdout);
        assert_output_clean(&out);
    }
    server.finish();
}

#[test]
fn a_secret_in_the_greeting_or_the_ehlo_reply_is_redacted() {
    let server = Server::builder()
        .greeting(220, &format!("evil ESMTP {PASSWORD}"))
        .capability(&format!("X-ECHO {}", b64(PASSWORD.as_bytes())))
        .auth("PLAIN", USER, PASSWORD)
        .start();
    let out = Run::new(SEND)
        .args(["-dd"])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_output_clean(&out);
    assert!(
        out.stderr.contains("evil ESMTP <redacted>"),
        "{}",
        out.stderr
    );
    assert_eq!(server.finish().completed().len(), 1);
}

/// Fails when stdout holds a byte that drives a terminal: ESC, BEL, CSI (C1) or DEL.
#[track_caller]
fn assert_no_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad = text
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t');
    assert!(bad.is_none(), "{what}: {bad:?} reached stdout:\n{text}");
}

const ESCAPES: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{7f}";

#[test]
fn server_text_on_stdout_cannot_drive_the_terminal() {
    let server = Server::builder()
        .greeting(220, &format!("evil {ESCAPES}"))
        .capability(&format!("X-EVIL {ESCAPES}"))
        .on(
            Verb::Vrfy,
            Action::reply(252, &format!("2.0.0 bob {ESCAPES}")),
        )
        .on(
            Verb::Expn,
            Action::reply(250, &format!("one@x {ESCAPES}\ntwo@x {ESCAPES}")),
        )
        .start();
    for probe in [
        &["--server-info"][..],
        &["--server-info", "--json"],
        &["--verify", "bob@example.com"],
        &["--verify", "bob@example.com", "--json"],
        &["--expn", "list@example.com"],
        &["--expn", "list@example.com", "--json"],
    ] {
        let out = Run::new(probe).server(&server).output();
        assert_eq!(out.code, 0, "{probe:?}: {}", out.stderr);
        assert_no_controls(&format!("{probe:?}"), &out.stdout_bytes);
        assert_no_controls(&format!("{probe:?} stderr"), out.stderr.as_bytes());
        if probe.contains(&"--json") {
            let parsed: serde_json::Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|err| panic!("{probe:?}: not JSON ({err}):\n{}", out.stdout));
            assert!(
                strings(&parsed).iter().any(|s| s.contains('\u{1b}')),
                "the JSON strings still hold the escape, as data: {parsed}"
            );
        } else {
            assert!(out.stdout.contains("\\x1b"), "{probe:?}:\n{}", out.stdout);
        }
    }
    server.finish();
}

/// Every string in a JSON document.
fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(text) => vec![text.clone()],
        serde_json::Value::Array(items) => items.iter().flat_map(strings).collect(),
        serde_json::Value::Object(members) => members.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn a_queued_error_with_escapes_lists_safely() {
    let server = Server::builder()
        .on(
            Verb::Mail,
            Action::reply(451, &format!("4.3.0 later {ESCAPES}")),
        )
        .start();
    let home = Home::new();
    let out = home
        .run(PLAIN)
        .args(["--queue", "on-failure"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for list in [&["--list-queue"][..], &["--list-queue", "--json"]] {
        let out = home.run(list).output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_no_controls(&format!("{list:?}"), &out.stdout_bytes);
        assert!(out.stdout.contains("later"), "{}", out.stdout);
    }
    server.finish();
}

/// A plain message, without login.
const PLAIN: [&str; 6] = [
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--body",
    "x",
];

/// Runs a plain send against `builder`'s server and returns the output and the record.
fn run_against(builder: Builder, extra: &[&str]) -> (Output, Record) {
    let server = builder.start();
    let out = Run::new(PLAIN).args(extra).server(&server).output();
    (out, server.finish())
}

#[test]
fn a_reply_of_the_wrong_class_is_a_protocol_violation() {
    let no_pipelining = || Server::builder().capabilities(&["8BITMIME", "SIZE 1000000"]);
    let cases: Vec<(&str, Builder)> = vec![
        (
            "250 answering DATA",
            Server::builder().on(Verb::Data, Action::reply(250, "2.0.0 ok, go on")),
        ),
        (
            "250 answering DATA, no pipelining",
            no_pipelining().on(Verb::Data, Action::reply(250, "2.0.0 ok, go on")),
        ),
        (
            "354 answering MAIL",
            Server::builder().on(Verb::Mail, Action::reply(354, "go ahead")),
        ),
        (
            "354 answering MAIL, no pipelining",
            no_pipelining().on(Verb::Mail, Action::reply(354, "go ahead")),
        ),
        (
            "334 answering RCPT",
            no_pipelining().on(Verb::Rcpt, Action::reply(334, "VXNlcm5hbWU6")),
        ),
        (
            "a 3xx greeting",
            Server::builder().greeting(354, "start mail input"),
        ),
        (
            "354 answering EHLO",
            Server::builder().on(Verb::Ehlo, Action::reply(354, "go ahead")),
        ),
        (
            "one reply too many to a pipelined MAIL",
            Server::builder().on(Verb::Mail, Action::Raw(b"250 ok\r\n250 extra\r\n".to_vec())),
        ),
        (
            "one reply too few in a pipelined group (DATA's 354 where RCPT's reply is due)",
            Server::builder().on(Verb::Rcpt, Action::Raw(b"354 go ahead\r\n".to_vec())),
        ),
        (
            "an extra reply after EHLO",
            no_pipelining().on(
                Verb::Ehlo,
                Action::Raw(b"250-test\r\n250 8BITMIME\r\n250 surprise\r\n".to_vec()),
            ),
        ),
        (
            "354 answering BDAT",
            Server::builder()
                .capability("CHUNKING")
                .on(Verb::Bdat, Action::reply(354, "go ahead")),
        ),
        (
            "a 221 instead of the reply after the data",
            Server::builder().on(Verb::EndOfData, Action::reply(221, "2.0.0 bye")),
        ),
    ];
    for (case, builder) in cases {
        let (out, record) = run_against(builder, &[]);
        assert_eq!(out.code, 76, "{case}: {}", out.stderr);
        assert!(
            out.stderr.contains("broke the protocol"),
            "{case}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{case}: {}", out.stderr);
        if case.starts_with("a 221") {
            // The data went, the reply did not: maybe delivered (the RFC 1047 window).
            continue;
        }
        assert!(
            record.completed().is_empty(),
            "{case}: nothing may be delivered"
        );
        if !case.contains("BDAT") {
            // BDAT carries its data with the command; DATA's must not follow a violation.
            assert!(
                record.transactions().iter().all(|t| t.data_wire.is_empty()),
                "{case}: no data went out"
            );
        }
    }
}

#[test]
fn an_unasked_421_is_the_server_closing_not_a_violation() {
    let (out, record) = run_against(
        Server::builder().capabilities(&["8BITMIME"]).on(
            Verb::Ehlo,
            Action::Raw(b"250 test\r\n421 4.3.2 shutting down\r\n".to_vec()),
        ),
        &[],
    );
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains("421 4.3.2 shutting down"),
        "{}",
        out.stderr
    );
    assert!(record.completed().is_empty());
}

#[test]
fn a_protocol_violation_is_temporary_for_retries_and_the_outbox() {
    let server = Server::builder()
        .on_first(3, Verb::Mail, Action::reply(354, "go ahead"))
        .start();
    let out = Run::new(PLAIN)
        .args(["--retries", "1"])
        .server(&server)
        .output();
    assert_eq!(out.code, 76, "{}", out.stderr);
    assert!(out.stderr.contains("trying again"), "{}", out.stderr);

    let home = Home::new();
    let out = Run::new(PLAIN)
        .args(["--queue", "on-failure"])
        .server(&server)
        .home(&home)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("queued as"), "{}", out.stderr);
    let flush = home.run(["-q"]).output();
    assert_eq!(flush.code, 0, "{}", flush.stderr);
    let record = server.finish();
    assert_eq!(record.connection_count(), 4);
    assert_eq!(record.completed().len(), 1, "delivered once, by the flush");
}

#[test]
fn a_250_to_starttls_is_a_protocol_violation() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .starttls(certs.identity.clone())
        .on(Verb::Starttls, Action::reply(250, "2.0.0 sure"))
        .start();
    let out = Run::new(PLAIN)
        .args(["--tls", "starttls", "--tls-ca-file", certs.ca_file()])
        .server(&server)
        .output();
    assert_eq!(out.code, 76, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: the server broke the protocol: \"250 2.0.0 sure\" came as the reply to \
         STARTTLS, where only 220, 4xx or 5xx may\n"
    );
    assert!(server.finish().transactions().is_empty());
}

/// A server that takes the envelope, says 354, then reads the data one byte every `pace`:
/// progress, so no write deadline trips, but the message would take days.
struct SlowReader {
    addr: String,
    /// Set once the client is done: the rest is read at full speed to see how it ended.
    hurry: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<bool>,
}

impl SlowReader {
    /// True when the end of the data arrived (the message was completed).
    fn completed(self) -> bool {
        self.hurry.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn slow_reader(pace: Duration) -> SlowReader {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hurry = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hurried = std::sync::Arc::clone(&hurry);
    let handle = std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return false;
        };
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        // Small receive buffer, so the client's writes block early.
        let mut writer = tcp.try_clone().unwrap();
        let mut reader = BufReader::with_capacity(1, tcp);
        let _ = writer.write_all(b"220 slow ESMTP\r\n");
        let started = Instant::now();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return false;
            }
            let reply: &[u8] = match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                "EHLO" => b"250-slow\r\n250 8BITMIME\r\n",
                "DATA" => b"354 go ahead\r\n",
                "QUIT" => b"221 bye\r\n",
                _ => b"250 ok\r\n",
            };
            let _ = writer.write_all(reply);
            if line.starts_with("DATA") {
                break;
            }
        }
        let mut tail = Vec::new();
        let mut byte = [0u8; 1];
        while started.elapsed() < Duration::from_secs(30) {
            match reader.read(&mut byte) {
                Ok(1) => tail.push(byte[0]),
                _ => return false,
            }
            if tail.ends_with(b"\r\n.\r\n") {
                return true;
            }
            if !hurried.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(pace);
            }
        }
        false
    });
    SlowReader {
        addr,
        hurry,
        handle,
    }
}

fn big_attachment(dir: &Path) -> String {
    let path = dir.join("big.bin");
    std::fs::write(&path, vec![0x5a; 8 << 20]).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_slow_reading_server_cannot_hold_the_run_past_max_time() {
    let dir = tempfile::tempdir().unwrap();
    let file = big_attachment(dir.path());
    let server = slow_reader(Duration::from_millis(20));
    let out = Run::new(PLAIN)
        .args(["--attach", &file, "--max-time", "3", "--timeout", "60"])
        .server(&server.addr)
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains("longer than --max-time 3 s"),
        "{}",
        out.stderr
    );
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    assert!(!server.completed(), "the message was not completed");
}

#[test]
fn max_time_queues_the_message_when_the_outbox_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = big_attachment(dir.path());
    let server = slow_reader(Duration::from_millis(20));
    let home = Home::new();
    let out = Run::new(PLAIN)
        .args([
            "--attach",
            &file,
            "--max-time",
            "2",
            "--queue",
            "on-failure",
        ])
        .server(&server.addr)
        .home(&home)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("queued as"), "{}", out.stderr);
    assert!(out.stderr.contains("--max-time 2 s"), "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    assert!(!server.completed());
    let listed = home.run(["--list-queue"]).output();
    assert!(listed.stdout.contains("1 message"), "{}", listed.stdout);
}

#[test]
fn max_time_bounds_silent_servers_and_retries() {
    // A server that never greets, with a long per-reply deadline.
    let silent = Server::builder().on(Verb::Greeting, Action::Silent).start();
    let addr = silent.addr();
    let out = Run::new(PLAIN)
        .args(["--timeout", "600", "--max-time", "2"])
        .server(&addr)
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(out.stderr.contains("--max-time 2 s"), "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
    drop(silent);

    // Retries with their back-off waits stop at the bound too.
    let busy = Server::builder()
        .on(Verb::Mail, Action::reply(451, "4.3.0 busy"))
        .start();
    let addr = busy.addr();
    let out = Run::new(PLAIN)
        .args(["--retries", "10", "--max-time", "2"])
        .server(&addr)
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    // The retries, each named, then the bound (how many retries fit before it depends on
    // how fast the machine is).
    let lines: Vec<&str> = out.stderr.lines().collect();
    let first = "smtpsend: server refused MAIL FROM: 451 4.3.0 busy; trying again in 1s (retry 1 \
                 of 10)";
    let last = "smtpsend: the run took longer than --max-time 2 s (a bound on the whole run)";
    assert_eq!(lines.first(), Some(&first), "{}", out.stderr);
    assert_eq!(lines.last(), Some(&last), "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
    assert!(busy.finish().connection_count() <= 3);
}

#[test]
fn max_time_must_be_a_sane_number() {
    for (bad, shown) in [("-1", "-1"), ("nan", "NaN"), ("999999999", "999999999")] {
        let out = Run::new([
            "--max-time",
            bad,
            "--dry-run",
            "--to",
            "b@example.com",
            "--body",
            "x",
        ])
        .output();
        assert_eq!(out.code, 64, "{bad}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "smtpsend: --max-time {shown}: give a number of seconds from 0 (no bound) to \
                 604800\n"
            )
        );
    }
    let out = Run::new(["--show-config", "--max-time", "0"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .lines()
            .any(|line| line == "max-time        none  (--max-time)"),
        "{}",
        out.stdout
    );
}

#[test]
fn what_a_password_command_prints_on_stderr_is_scrubbed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let command = format!(
        "echo \"debug: using $(cat {0})\" >&2; cat {0}",
        file.display()
    );
    let server = Server::builder().auth("PLAIN", USER, PASSWORD).start();
    let out = Run::new(SEND)
        .args(["--password-command", &command])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_output_clean(&out);
    assert!(
        out.stderr.contains("says: debug: using <redacted>"),
        "the command's stderr is shown, scrubbed: {}",
        out.stderr
    );
    assert_eq!(server.finish().completed().len(), 1);
}
