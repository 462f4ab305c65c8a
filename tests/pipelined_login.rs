//! The login pipelined in front of the first command group (RFC 4954 §4): AUTH PLAIN with
//! its initial response goes in one write with MAIL, RCPT and (without CHUNKING) DATA; the
//! round trips that saves, counted by the scripted server; and what a refused or broken
//! login does: 77 or 76, and not one byte of the message on the wire.

use crate::support::*;

const USER: &str = "alice";
const PASSWORD: &str = "Correct-Horse-Battery-7";

const MESSAGE: [&str; 8] = [
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--subject",
    "hello",
    "--body",
    "hello there",
];

/// The verbs the server received, in order.
fn verbs(record: &Record) -> Vec<String> {
    record
        .commands()
        .iter()
        .map(|c| c.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

/// The `send:` and `reply:` lines of a `-d` transcript, timestamps (`-dd`) removed.
fn transcript(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((stamp, rest)) if stamp.contains(':') && stamp.contains('.') => rest,
            _ => line,
        })
        .filter(|line| line.starts_with("send: ") || line.starts_with("reply: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn starttls_auth_plain_and_one_message_at_a_chunking_server_take_the_fewest_waits() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .capability("CHUNKING")
        .starttls(certs.identity.clone())
        .auth("PLAIN LOGIN", USER, PASSWORD)
        .require_auth()
        .start();
    let out = Run::new(MESSAGE)
        .args(["-dd", "--tls", "starttls", "--tls-ca-file", certs.ca_file()])
        .args(["--user", USER])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(
        record.connections[0].authenticated_as,
        Some(("PLAIN".to_string(), USER.to_string()))
    );
    assert_eq!(record.only_completed().recipients(), ["b@example.com"]);
    // The client waits 7 times: for the greeting, the reply to EHLO, the 220 to STARTTLS,
    // the TLS 1.3 handshake (one round trip), the reply to the second EHLO, the replies to
    // the group AUTH PLAIN + MAIL + RCPT, and those to BDAT with the data + QUIT. Fewer is
    // not allowed: EHLO and STARTTLS each end their group (RFC 2920 §3.1, RFC 3207 §4), the
    // second EHLO must follow the handshake and end its group too, and the BDAT chunk is
    // the message itself, which must not go before the 235 (a server that took mail without
    // the login would deliver it after a refused AUTH). The scripted server counts the
    // waits that follow the greeting and are not the handshake: 5.
    assert_eq!(record.round_trips(), 5, "{:?}", record.commands());
    assert_eq!(
        verbs(&record),
        [
            "EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "BDAT", "QUIT"
        ]
    );
    // AUTH, MAIL and RCPT leave before the first of their replies comes back; BDAT only
    // after the 235.
    let lines = transcript(&out.stderr);
    let auth = lines
        .iter()
        .position(|l| l.starts_with("send: 'AUTH PLAIN <redacted>"))
        .unwrap_or_else(|| panic!("no AUTH line: {lines:#?}"));
    assert!(lines[auth + 1].starts_with("send: 'MAIL FROM:<a@example.com>"));
    assert!(lines[auth + 2].starts_with("send: 'RCPT TO:<b@example.com>"));
    assert!(lines[auth + 3].starts_with("reply: '235 "), "{lines:#?}");
    let bdat = lines
        .iter()
        .position(|l| l.starts_with("send: 'BDAT "))
        .expect("a BDAT line");
    assert!(bdat > auth + 3, "{lines:#?}");
    assert!(!out.stderr.contains(PASSWORD) && !out.stderr.contains(&b64(PASSWORD.as_bytes())));
}

#[test]
fn without_chunking_data_rides_with_the_login_and_the_message_waits_for_the_354() {
    let server = Server::builder().auth("PLAIN", USER, PASSWORD).start();
    let out = Run::new(MESSAGE)
        .args(["-d", "--user", USER])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    // EHLO; AUTH PLAIN + MAIL + RCPT + DATA; the data, its end and QUIT: 3 (4 before the
    // login rode with the group).
    assert_eq!(record.round_trips(), 3, "{:?}", record.commands());
    assert_eq!(
        verbs(&record),
        ["EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]
    );
    assert!(
        record
            .only_completed()
            .message_text()
            .contains("hello there")
    );
}

#[test]
fn a_refused_pipelined_login_is_77_and_not_one_byte_of_the_message_is_sent() {
    for chunking in [false, true] {
        // A server that takes mail without a login: after its 535 it answers MAIL and
        // RCPT with 250 and DATA with 354, the worst case for a pipelined login.
        let mut builder = Server::builder().auth("PLAIN", USER, PASSWORD);
        if chunking {
            builder = builder.capability("CHUNKING");
        }
        let server = builder.start();
        let out = Run::new(MESSAGE)
            .args(["--user", USER])
            .server(&server)
            .env("SMTPSEND_PASSWORD", "Wrong-Password-1")
            .output();
        let record = server.finish();
        assert_eq!(out.code, 77, "{}", out.stderr);
        assert_eq!(
            out.stderr,
            "smtpsend: authentication as alice (PLAIN) refused: 535 5.7.8 Authentication \
             credentials invalid\n"
        );
        assert!(record.completed().is_empty(), "{record:#?}");
        assert!(
            record.transactions().iter().all(|t| t.data_wire.is_empty()),
            "message data reached the server: {record:#?}"
        );
        if chunking {
            // No BDAT at all: the session ends with QUIT after the group's replies.
            assert_eq!(verbs(&record), ["EHLO", "AUTH", "MAIL", "RCPT", "QUIT"]);
        } else {
            // DATA got its 354: the connection is closed instead of sending the data.
            assert_eq!(verbs(&record), ["EHLO", "AUTH", "MAIL", "RCPT", "DATA"]);
        }
    }
}

#[test]
fn a_refused_pipelined_login_fails_every_message_of_a_bulk_run_on_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    for index in 0..3 {
        let text =
            format!("From: a@example.com\nTo: b{index}@example.com\nSubject: {index}\n\nx\n");
        std::fs::write(dir.path().join(format!("{index}.eml")), text).unwrap();
    }
    let server = Server::builder()
        .capability("CHUNKING")
        .auth("PLAIN", USER, PASSWORD)
        .require_auth()
        .start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap(), "--user", USER])
        .server(&server)
        .env("SMTPSEND_PASSWORD", "Wrong-Password-1")
        .output();
    let record = server.finish();
    assert_eq!(out.code, 77, "{}", out.stderr);
    assert!(
        out.stderr.contains("3 of 3 messages not sent"),
        "{}",
        out.stderr
    );
    assert_eq!(record.connection_count(), 1, "{:?}", record.commands());
    assert!(record.transactions().is_empty());
}

#[test]
fn a_server_that_answers_the_pipelined_login_out_of_the_rules_gets_76() {
    for (reply, text) in [(334, ""), (250, "2.0.0 fine")] {
        let server = Server::builder()
            .auth("PLAIN", USER, PASSWORD)
            .on(Verb::Auth, Action::reply(reply, text))
            .start();
        let out = Run::new(MESSAGE)
            .args(["--user", USER])
            .server(&server)
            .env("SMTPSEND_PASSWORD", PASSWORD)
            .output();
        let record = server.finish();
        assert_eq!(out.code, 76, "{reply}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("came as the reply to AUTH PLAIN, where only 235, 4xx or 5xx may"),
            "{reply}: {}",
            out.stderr
        );
        assert!(record.completed().is_empty(), "{reply}: {record:#?}");
        assert!(record.transactions().iter().all(|t| t.data_wire.is_empty()));
    }
}

#[test]
fn probes_still_log_in_before_anything_else() {
    let server = Server::builder().auth("PLAIN", USER, PASSWORD).start();
    let out = Run::new(["--check", "--user", USER])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("logged in with PLAIN"),
        "{}",
        out.stdout
    );
    assert_eq!(verbs(&server.finish()), ["EHLO", "AUTH", "NOOP", "QUIT"]);
}
