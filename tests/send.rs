//! The session as the user sees it: round trips, recipient rule, exit codes, transcript,
//! dry run and JSON.

use crate::support::*;

const THREE: [&str; 6] = [
    "--to",
    "one@example.com",
    "--to",
    "two@example.com",
    "--cc",
    "three@example.com",
];

#[test]
fn pipelining_costs_three_round_trips_after_the_greeting() {
    let server = Server::start();
    let out = Run::new(THREE)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.only_completed().recipients().len(), 3);
    assert_eq!(record.round_trips(), 3, "{:?}", record.commands());
}

#[test]
fn without_pipelining_one_round_trip_per_command() {
    let server = Server::builder()
        .capabilities(&["8BITMIME", "SIZE 1000000"])
        .start();
    let out = Run::new(THREE)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    // EHLO, MAIL, 3 × RCPT, DATA, end of data, QUIT.
    assert_eq!(record.round_trips(), 8, "{:?}", record.commands());
    assert_eq!(record.only_completed().recipients().len(), 3);
}

#[test]
fn size_and_8bitmime_are_declared_when_offered() {
    let server = Server::start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .sender("a@example.com")
        .stdin("Subject: x\n\nGrüße\n".as_bytes())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    let size = format!("SIZE={}", transaction.message.len());
    assert_eq!(transaction.mail_params(), [size.as_str(), "BODY=8BITMIME"]);
}

#[test]
fn eight_bit_data_without_8bitmime_is_refused_before_mail() {
    let server = Server::builder().capabilities(&["PIPELINING"]).start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .sender("a@example.com")
        .stdin("Subject: x\n\nGrüße\n".as_bytes())
        .output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(out.stderr.contains("8BITMIME"), "{}", out.stderr);
    let record = server.finish();
    assert!(record.transactions().is_empty());
}

#[test]
fn helo_fallback_when_ehlo_is_refused() {
    let server = Server::builder().no_ehlo().start();
    let out = Run::new(["--to", "b@example.com", "--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let commands = record.commands();
    assert!(
        commands[0].starts_with("EHLO ") && commands[1].starts_with("HELO "),
        "{commands:?}"
    );
    // No extensions after HELO: no SIZE parameter, one command per round trip.
    assert_eq!(record.only_completed().mail_from, "<a@example.com>");
}

#[test]
fn a_refused_recipient_sends_nothing_and_names_it() {
    let server = Server::builder()
        .on_rcpt("two", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = Run::new(THREE)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert!(out.stderr.contains("<two@example.com>"), "{}", out.stderr);
    assert!(out.stderr.contains("5.1.1 no such user"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let record = server.finish();
    assert!(record.completed().is_empty(), "a message was delivered");
}

#[test]
fn a_temporarily_refused_recipient_exits_75() {
    let server = Server::builder()
        .on_rcpt("two", Action::reply(450, "4.2.1 mailbox busy"))
        .start();
    let out = Run::new(THREE)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: nothing sent (all or nothing: --partial sends to the others): the server \
         refused 1 of 3 recipients: <two@example.com> (450 4.2.1 mailbox busy)\n"
    );
    assert!(server.finish().completed().is_empty());
}

#[test]
fn without_pipelining_a_refused_recipient_gets_rset_and_no_data() {
    let server = Server::builder()
        .capabilities(&["8BITMIME"])
        .on_rcpt("one", Action::reply(553, "5.1.3 bad address"))
        .start();
    let out = Run::new(THREE)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: nothing sent (all or nothing: --partial sends to the others): the server \
         refused 1 of 3 recipients: <one@example.com> (553 5.1.3 bad address)\n"
    );
    let record = server.finish();
    let commands = record.commands();
    assert!(commands.iter().any(|c| c == "RSET"), "{commands:?}");
    assert!(!commands.iter().any(|c| c == "DATA"), "{commands:?}");
    assert!(record.completed().is_empty());
}

#[test]
fn all_recipients_refused_resets_the_transaction() {
    let server = Server::builder()
        .on(Verb::Rcpt, Action::reply(550, "5.1.1 unknown"))
        .start();
    let out = Run::new(["--to", "x@example.com", "--body", "hi", "--partial"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: nothing sent: the server refused 1 of 1 recipients: <x@example.com> (550 \
         5.1.1 unknown)\n"
    );
    let record = server.finish();
    assert!(record.commands().iter().any(|c| c == "RSET"));
    assert!(record.completed().is_empty());
}

#[test]
fn partial_sends_to_the_accepted_and_reports_the_refused() {
    let server = Server::builder()
        .on_rcpt("two", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = Run::new(THREE)
        .args(["--body", "hi", "--partial"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: recipient <two@example.com> refused, sent to the others: 550 5.1.1 no such \
         user\n"
    );
    let record = server.finish();
    assert_eq!(
        record.only_completed().accepted,
        ["one@example.com", "three@example.com"]
    );
}

#[test]
fn mail_from_refused_permanently_exits_69() {
    let server = Server::builder()
        .on(Verb::Mail, Action::reply(553, "5.7.1 sender rejected"))
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("5.7.1 sender rejected"),
        "{}",
        out.stderr
    );
}

#[test]
fn data_refused_after_the_dot_is_reported_with_its_code() {
    for (code, exit) in [(554, 69), (451, 75)] {
        let server = Server::builder()
            .on(
                Verb::EndOfData,
                Action::reply(code, "x.y.z content rejected"),
            )
            .start();
        let out = Run::new(["--to", "b@example.com", "--body", "hi"])
            .server(&server)
            .sender("a@example.com")
            .output();
        assert_eq!(out.code, exit, "{}", out.stderr);
        // The server's reply, whole, where the line says what it refused.
        assert_eq!(
            out.stderr,
            format!("smtpsend: server refused the message data: {code} x.y.z content rejected\n")
        );
        assert!(server.finish().completed().is_empty(), "{code}");
    }
}

#[test]
fn greeting_421_is_temporary() {
    let server = Server::builder().greeting(421, "4.3.2 try later").start();
    let out = Run::new(["--to", "b@example.com", "--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(out.stderr.contains("4.3.2 try later"), "{}", out.stderr);
}

#[test]
fn connection_refused_exits_75() {
    let addr = refused_addr();
    let out = Run::new(["--to", "b@example.com", "--body", "hi"])
        .server(&addr)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("smtpsend: cannot connect to"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_silent_server_times_out_with_75() {
    let server = Server::builder().on(Verb::Greeting, Action::Silent).start();
    let started = std::time::Instant::now();
    let out = Run::new(["--timeout", "1", "--to", "b@example.com", "--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    // A hang check, not a speed test: the deadline must have ended the wait.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn bad_input_is_refused_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pdf");
    let missing = missing.to_str().unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["--to", "b@example.com", "-a", missing],
            66,
            "missing.pdf",
        ),
        (
            vec!["--to", "b@example.com", "--subject", "a\r\nBcc: x@y.z"],
            65,
            "--subject",
        ),
        (
            vec!["--to", "b@example.com", "-H", "X-A: b\nc"],
            65,
            "--header",
        ),
        (
            vec!["--to", "b@example.com\r\nRCPT TO:<x@y.z>"],
            65,
            "line break",
        ),
        (vec!["--to", "not an address"], 64, "not an address"),
        (vec!["--from", "a@", "--to", "b@example.com"], 64, "a@"),
        (vec!["--subject", "no recipients"], 64, "no recipients"),
        (
            vec!["--to", "b@example.com", "--body-file", missing],
            66,
            "missing.pdf",
        ),
        (vec!["--to", "b@example.com", "-H", "Bcc: x@y.z"], 64, "Bcc"),
        (
            vec!["--raw", "--subject", "x", "b@example.com"],
            64,
            "--subject",
        ),
    ];
    for (extra, code, mention) in cases {
        let server = Server::start();
        let body: &[&str] = if extra.first() == Some(&"--raw") || extra.contains(&"--body-file") {
            &[]
        } else {
            &["--body", "x"]
        };
        let out = Run::new(body).args(&extra).server(&server).output();
        assert_eq!(out.code, code, "{extra:?}: {}", out.stderr);
        assert!(out.stderr.contains(mention), "{extra:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{extra:?}: {}", out.stderr);
        assert_eq!(server.finish().connection_count(), 0, "{extra:?} connected");
    }
}

#[test]
fn transcript_shows_every_line_quoted_and_summarises_the_data() {
    let server = Server::start();
    let addr = server.addr();
    let out = Run::new([
        "-d",
        "--ehlo-name",
        "client.example.org",
        "--to",
        "b@example.com",
        "--body",
        "hi",
    ])
    .server(&addr)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines[0], format!("connect: {addr}"));
    assert_eq!(lines[1], "reply: '220 test.local ESMTP\\r\\n'");
    assert_eq!(lines[2], "send: 'EHLO client.example.org\\r\\n'");
    assert!(
        lines.contains(&"reply: '250-PIPELINING\\r\\n'"),
        "{lines:#?}"
    );
    let mail = lines
        .iter()
        .position(|l| l.starts_with("send: 'MAIL FROM:<a@example.com> SIZE="))
        .unwrap();
    assert_eq!(lines[mail + 1], "send: 'RCPT TO:<b@example.com>\\r\\n'");
    assert_eq!(lines[mail + 2], "send: 'DATA\\r\\n'");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("send: <message: ") && l.ends_with(" lines>")),
        "{lines:#?}"
    );
    assert!(lines.contains(&"send: '.\\r\\n'"));
    assert!(lines.contains(&"send: 'QUIT\\r\\n'"));
    assert_eq!(*lines.last().unwrap(), "reply: '221 2.0.0 Bye\\r\\n'");
    assert!(
        !out.stderr.contains("hi\\r\\n"),
        "data must be summarised at -d"
    );
}

#[test]
fn transcript_levels_add_timestamps_and_data() {
    let server = Server::start();
    let out = Run::new(["-ddd", "--to", "b@example.com", "--body", "secret body"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = out.stderr.lines().next().unwrap();
    let (stamp, rest) = first.split_once(' ').unwrap();
    assert_eq!(stamp.len(), "HH:MM:SS.uuuuuu".len(), "{first}");
    assert!(rest.starts_with("connect: "), "{first}");
    // The body has no final newline: the CRLF the end mark supplies shows on its line.
    assert!(
        out.stderr.contains(" send: 'secret body\\r\\n'\n"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(" send: '.\\r\\n'\n"), "{}", out.stderr);
}

#[test]
fn dry_run_prints_the_envelope_and_exact_bytes_and_connects_nowhere() {
    let server = Server::start();
    let out = Run::new([
        "--dry-run",
        "--to",
        "b@example.com",
        "--bcc",
        "c@example.com",
        "--subject",
        "dry",
    ])
    .server(&server)
    .sender("a@example.com")
    .stdin(b"body\n")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().connection_count(), 0);
    assert_eq!(
        out.stderr,
        "MAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\nRCPT TO:<c@example.com>\n\
         smtpsend: to send the saved message later to this envelope (some recipients are in \
         no header field, as with Bcc): smtpsend -t c@example.com < FILE\n"
    );
    let message = &out.stdout;
    assert!(
        message.starts_with("From: <a@example.com>\r\nTo: <b@example.com>\r\nSubject: dry\r\n"),
        "{message:?}"
    );
    assert!(message.ends_with("\r\n\r\nbody\r\n"), "{message:?}");
    assert!(!message.contains("c@example.com"));
}

#[test]
fn json_reports_each_recipient_and_the_final_reply() {
    let server = Server::builder()
        .on_rcpt("two", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = Run::new(THREE)
        .args(["--body", "hi", "--partial", "--json"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], "partial");
    assert_eq!(report["envelope"]["from"], "a@example.com");
    assert_eq!(report["recipients"][1]["address"], "two@example.com");
    assert_eq!(report["recipients"][1]["code"], 550);
    assert_eq!(report["recipients"][1]["enhanced_code"], "5.1.1");
    assert_eq!(report["recipients"][1]["accepted"], false);
    assert_eq!(report["recipients"][0]["accepted"], true);
    assert_eq!(report["reply"]["code"], 250);
    assert_eq!(report["reply"]["text"], "2.0.0 Ok: queued as ABC");
}

/// `--source-address` (and its variable and account key) binds the connection to that
/// local address: the server sees the client come from it.
#[test]
fn source_address_is_the_address_the_server_sees() {
    // 127.0.0.2 is on the loopback interface (all of 127/8 is), and is not the address
    // the system would choose to reach 127.0.0.1.
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("config.toml");
    std::fs::write(
        &config,
        "default = \"local\"\n[accounts.local]\nsource-address = \"127.0.0.2\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for (how, extra, env) in [
        ("flag", vec!["--source-address", "127.0.0.2"], vec![]),
        (
            "variable",
            vec![],
            vec![("SMTPSEND_SOURCE_ADDRESS", "127.0.0.2")],
        ),
        ("account key", vec!["--config", config], vec![]),
    ] {
        let server = Server::start();
        let addr = server.addr();
        let out = Run::new(["--to", "b@example.com", "--body", "hi", "-d"])
            .args(&extra)
            .server(&server)
            .sender("a@example.com")
            .envs(&env)
            .output();
        assert_eq!(out.code, 0, "{how}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("connect: {addr} from 127.0.0.2\n")),
            "{how}: {}",
            out.stderr
        );
        let record = server.finish();
        assert_eq!(record.only_completed().recipients().len(), 1, "{how}");
        let peer = record.connections[0].peer.expect("peer address");
        assert_eq!(peer.ip().to_string(), "127.0.0.2", "{how}");
    }

    let server = Server::start();
    let out = Run::new([
        "--to",
        "b@example.com",
        "--body",
        "hi",
        "--source-address",
        "127.0.0.1",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let peer = server.finish().connections[0].peer.expect("peer address");
    assert_eq!(peer.ip().to_string(), "127.0.0.1");
}

#[test]
fn a_source_address_that_cannot_be_used_is_one_line_before_connecting() {
    let server = Server::start();
    // 192.0.2.7 is a documentation address (RFC 5737): never one of this host's.
    let out = Run::new([
        "--to",
        "b@example.com",
        "--body",
        "hi",
        "--source-address",
        "192.0.2.7",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("smtpsend: --source-address 192.0.2.7: not an address of this host (")
            && out.stderr.lines().count() == 1,
        "{}",
        out.stderr
    );
    let out = Run::new(["--to", "b@example.com", "--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .env("SMTPSEND_SOURCE_ADDRESS", "192.0.2.7")
        .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("smtpsend: SMTPSEND_SOURCE_ADDRESS=192.0.2.7: not an address")
    );
    assert_eq!(server.finish().connection_count(), 0);

    // An IPv4 source cannot reach an IPv6 server; nothing connects anywhere.
    let out = Run::new([
        "--to",
        "b@example.com",
        "--body",
        "hi",
        "--source-address",
        "127.0.0.1",
    ])
    .server("[::1]:2525")
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: the source address 127.0.0.1 is IPv4, but [::1]:2525 is IPv6: give a \
         source address of the server's family\n"
    );
}

/// A server's reply quoted in an error line cannot drive the terminal: its control
/// characters (an ESC colour sequence here) are escaped, as in the transcript.
#[test]
fn control_characters_in_a_reply_are_escaped_on_stderr() {
    let server = Server::builder()
        .on_rcpt(
            "two",
            Action::reply(550, "5.1.1 \u{1b}[31mno such user\u{1b}[0m"),
        )
        .start();
    let out = Run::new(THREE)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    assert!(
        out.stderr.contains("5.1.1 \\x1b[31mno such user\\x1b[0m"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    server.finish();
}

/// A body without a final line break: stdout keeps the exact bytes, and stderr says that
/// the message ends without one (and what sending does about it), on a line of its own.
#[test]
fn dry_run_says_when_the_message_does_not_end_with_a_line_break() {
    let out = Run::new(["--dry-run", "--to", "b@example.com", "--body", "it works"])
        .server("127.0.0.1:1")
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.ends_with("\r\n\r\nit works"), "{:?}", out.stdout);
    assert_eq!(
        out.stderr,
        "MAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\n\
         smtpsend: (the message does not end with a line break; sending adds CRLF before the \
         end mark)\n"
    );

    let out = Run::new(["--dry-run", "--to", "b@example.com"])
        .server("127.0.0.1:1")
        .sender("a@example.com")
        .stdin(b"ends well\n")
        .output();
    assert!(out.stdout.ends_with("ends well\r\n"), "{:?}", out.stdout);
    assert_eq!(
        out.stderr,
        "MAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\n"
    );
}

#[test]
fn a_message_over_the_size_limit_is_refused_before_mail_and_the_session_ends_with_quit() {
    let server = Server::builder()
        .capabilities(&["PIPELINING", "SIZE 100"])
        .start();
    let body = "x".repeat(500);
    let out = Run::new(["--to", "b@example.com", "--body", &body])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("the server accepts at most 100"),
        "{}",
        out.stderr
    );
    let record = server.finish();
    let verbs: Vec<String> = record
        .commands()
        .iter()
        .map(|c| c.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(verbs, ["EHLO", "QUIT"]);
}
