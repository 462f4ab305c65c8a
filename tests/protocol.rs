//! Protocol extensions as the user sees them: enhanced status codes, DSN, the 452 split,
//! CHUNKING, SMTPUTF8 — what reached the server, the exit code, stderr, round trips.

use crate::support::*;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", out.stdout))
}

// --- Enhanced status codes (RFC 3463, RFC 2034) ---

#[test]
fn enhanced_codes_appear_once_in_error_lines_and_with_their_meaning_in_json() {
    let server = Server::builder()
        .on_rcpt(
            "gone",
            Action::reply(
                550,
                "5.1.1 The account does not exist.\n5.1.1 Please check the address.",
            ),
        )
        .start();
    let out = Run::new(["--to", "gone@example.com", "--body", "x", "--json"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: nothing sent: the server refused 1 of 1 recipients: <gone@example.com> \
         (550 5.1.1 The account does not exist. Please check the address.)\n"
    );
    let report = json(&out);
    let gone = &report["recipients"][0];
    assert_eq!(gone["enhanced_code"], "5.1.1");
    assert_eq!(gone["enhanced_meaning"], "bad destination mailbox address");
}

#[test]
fn a_refused_sender_shows_the_enhanced_code_and_exits_69() {
    let server = Server::builder()
        .on(Verb::Mail, Action::reply(553, "5.7.1 sender rejected"))
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "x", "--json"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: server refused MAIL FROM: 553 5.7.1 sender rejected\n"
    );
    let report = json(&out);
    assert_eq!(report["reply"]["enhanced_code"], "5.7.1");
    assert_eq!(
        report["reply"]["enhanced_meaning"],
        "delivery not authorized, message refused"
    );
}

#[test]
fn a_code_of_the_wrong_class_is_not_taken_for_an_enhanced_code() {
    let server = Server::builder()
        .on_rcpt("b@", Action::reply(550, "2.0.0 confused server"))
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "x", "--json"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert_eq!(
        json(&out)["recipients"][0]["enhanced_code"],
        serde_json::Value::Null
    );
}

// --- DSN (RFC 3461) ---

#[test]
fn dsn_parameters_go_on_mail_and_every_rcpt_when_offered() {
    let server = Server::builder().capability("DSN").start();
    let out = Run::new([
        "-N",
        "success,failure",
        "-R",
        "hdrs",
        "-V",
        "run=42",
        "--to",
        "b+tag@example.com",
        "--to",
        "c@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let record = server.finish();
    let mail = record.only_completed();
    let params = mail.mail_params();
    assert_eq!(params[1..], ["RET=HDRS", "ENVID=run+3D42"], "{params:?}");
    assert_eq!(
        mail.rcpt_to,
        [
            "<b+tag@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Btag@example.com",
            "<c@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@example.com",
        ]
    );
}

#[test]
fn sendmail_spelling_never_and_return_full() {
    let server = Server::builder().capability("DSN").start();
    let addr = server.addr();
    let out = Run::new([
        "-f",
        "a@example.com",
        "--server",
        &addr,
        "-Nnever",
        "-RFULL",
        "b@example.com",
    ])
    .stdin(b"Subject: x\n\nbody\n")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let mail = record.only_completed();
    assert!(mail.mail_params().contains(&"RET=FULL"));
    assert_eq!(
        mail.rcpt_to,
        ["<b@example.com> NOTIFY=NEVER ORCPT=rfc822;b@example.com"]
    );
}

#[test]
fn without_dsn_on_offer_a_warning_and_the_message_goes_without() {
    let server = Server::start();
    let out = Run::new([
        "-N",
        "failure",
        "-V",
        "x1",
        "--to",
        "b@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: warning: the server does not offer DSN, so no delivery status \
         notifications are requested (-N, -R, -V are left out); sending without them\n"
    );
    let record = server.finish();
    let mail = record.only_completed();
    assert!(mail.mail_params().iter().all(|p| !p.starts_with("ENVID")));
    assert_eq!(mail.rcpt_to, ["<b@example.com>"]);
}

#[test]
fn no_dsn_flags_no_dsn_parameters() {
    let server = Server::builder().capability("DSN").start();
    let out = Run::new(["--to", "b@example.com", "--body", "x"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        server.finish().only_completed().rcpt_to,
        ["<b@example.com>"]
    );
}

#[test]
fn a_queued_message_keeps_its_dsn_request() {
    let home = Home::new();
    let server = Server::builder()
        .capability("DSN")
        .on_first(1, Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .start();
    let out = home
        .run([
            "-N",
            "delay",
            "-R",
            "hdrs",
            "--to",
            "b@example.com",
            "--body",
            "x",
            "--queue",
            "on-failure",
        ])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("queued as"), "{}", out.stderr);
    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let mail = record.only_completed();
    assert!(
        mail.mail_params().contains(&"RET=HDRS"),
        "{:?}",
        mail.mail_params()
    );
    assert_eq!(
        mail.rcpt_to,
        ["<b@example.com> NOTIFY=DELAY ORCPT=rfc822;b@example.com"]
    );
}

// --- 452 "too many recipients": further transactions on the same connection ---

#[test]
fn a_thousand_recipients_through_a_server_taking_100_with_partial() {
    let server = Server::builder().recipient_limit(100).start();
    let recipients = many(1000);
    let out = Run::new(["--body", "x"])
        .args(["--partial"])
        .args(&recipients)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let record = server.finish();
    assert_eq!(record.connection_count(), 1);
    let (all, sizes) = delivered(&record);
    assert_eq!(sizes, [100; 10]);
    assert_eq!(all, recipients, "each recipient exactly once, in order");
    // EHLO; then per transaction MAIL+RCPT…+DATA and the data (QUIT rides on the last).
    assert_eq!(record.round_trips(), 1 + 10 * 2);
}

#[test]
fn a_thousand_recipients_all_or_nothing_checks_every_batch_before_sending() {
    let server = Server::builder().recipient_limit(100).start();
    let recipients = many(1000);
    let out = Run::new(["--body", "x"])
        .args(["-d"])
        .args(&recipients)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "split: the server takes 100 recipients per transaction; checking the other 900 before sending to anyone"
        ),
        "{}",
        &out.stderr[out.stderr.len().saturating_sub(3000)..]
    );
    let record = server.finish();
    // The first transaction reached DATA (pipelined) and had to be dropped with its
    // connection; the second connection checks, then sends.
    assert_eq!(record.connection_count(), 2);
    assert!(
        record.connections[0]
            .transactions
            .iter()
            .all(|t| !t.completed)
    );
    let (all, sizes) = delivered(&record);
    assert_eq!(sizes, [100; 10]);
    assert_eq!(all, recipients, "each recipient exactly once, in order");
    let rsets = record.connections[1]
        .commands()
        .iter()
        .filter(|c| *c == "RSET")
        .count();
    assert_eq!(rsets, 9, "one checked transaction per further batch");
    // First connection: EHLO, the group. Second: EHLO, all checks in one write, then two
    // per transaction.
    assert_eq!(record.round_trips(), 2 + 1 + 1 + 10 * 2);
}

#[test]
fn all_or_nothing_a_refusal_in_a_later_batch_sends_nothing_at_all() {
    let server = Server::builder()
        .recipient_limit(100)
        .on_rcpt("r180@", Action::reply(550, "5.1.1 no such user"))
        .start();
    let recipients = many(250);
    let out = Run::new(["--body", "x"])
        .args(&recipients)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("smtpsend: nothing sent (all or nothing: --partial sends to the others): the server refused 1 of 250 recipients: <r180@example.com> (550 5.1.1 no such user)"),
        "{}",
        out.stderr
    );
    assert!(server.finish().completed().is_empty());
}

#[test]
fn partial_a_refusal_in_a_later_batch_skips_only_that_recipient() {
    let server = Server::builder()
        .recipient_limit(100)
        .on_rcpt("r180@", Action::reply(550, "5.1.1 no such user"))
        .start();
    let recipients = many(250);
    let out = Run::new(["--body", "x"])
        .args(["--partial"])
        .args(&recipients)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: recipient <r180@example.com> refused, sent to the others: 550 5.1.1 no \
         such user\n"
    );
    let (all, _) = delivered(&server.finish());
    let expected: Vec<String> = recipients
        .into_iter()
        .filter(|r| r != "r180@example.com")
        .collect();
    assert_eq!(all, expected);
}

#[test]
fn without_pipelining_the_split_needs_no_second_connection() {
    let server = Server::builder()
        .capabilities(&["8BITMIME", "ENHANCEDSTATUSCODES"])
        .recipient_limit(2)
        .start();
    let recipients = many(5);
    let out = Run::new(["--body", "x"])
        .args(&recipients)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.connection_count(), 1);
    let (all, sizes) = delivered(&record);
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(all, recipients);
    // EHLO; MAIL, 5 RCPT, RSET; checks: MAIL, 2 RCPT, RSET, MAIL, RCPT, RSET; three
    // transactions of MAIL, RCPT…, DATA, data; QUIT.
    assert_eq!(record.round_trips(), 1 + 7 + 7 + (5 + 5 + 4) + 1);
}

#[test]
fn a_452_that_is_not_about_the_recipient_count_is_an_ordinary_refusal() {
    let server = Server::builder()
        .on_rcpt("full@", Action::reply(452, "4.2.2 mailbox full"))
        .start();
    let recipients = vec!["ok@example.com".to_string(), "full@example.com".to_string()];
    let out = Run::new(["--body", "x"])
        .args(&recipients)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: nothing sent (all or nothing: --partial sends to the others): the server \
         refused 1 of 2 recipients: <full@example.com> (452 4.2.2 mailbox full)\n"
    );
    let record = server.finish();
    assert_eq!(record.connection_count(), 1);
    assert!(record.completed().is_empty());
}

/// Mistakes with an obvious fix say what to try: the error line ends with the hint.
#[test]
fn common_mistakes_end_with_a_hint() {
    let message = [
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--body",
        "hi",
    ];
    let run =
        |server: &Server, extra: &[&str]| Run::new(message).args(extra).server(server).output();
    let check = |what: &str, out: &Output, code: i32, says: &str| {
        assert_eq!(out.code, code, "{what}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{what}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{what}: {}", out.stderr);
    };

    let server = Server::builder().lmtp().start();
    let out = run(&server, &[]);
    check(
        "SMTP to an LMTP server",
        &out,
        69,
        "if it speaks LMTP, as a delivery agent's socket does, add --lmtp)",
    );
    assert!(server.finish().completed().is_empty());

    let server = Server::builder()
        .on(
            Verb::Mail,
            Action::reply(530, "5.7.0 Authentication required"),
        )
        .start();
    let out = run(&server, &[]);
    check(
        "530 without a login",
        &out,
        69,
        "530 5.7.0 Authentication required (the server wants a login first: give --user",
    );
    server.finish();

    let server = Server::builder().on(Verb::Greeting, Action::Silent).start();
    let out = run(&server, &["--tls", "none", "--timeout", "1"]);
    check(
        "plain SMTP to a server that waits for the client to speak first",
        &out,
        75,
        "waiting for the greeting (if it is an implicit-TLS port such as 465, try --tls implicit)",
    );
    server.finish();

    let server = Server::start();
    let out = run(&server, &["--tls", "implicit", "--timeout", "5"]);
    check(
        "implicit TLS to a plain server",
        &out,
        69,
        "failed: the server does not speak TLS on this port (try --tls starttls, or port 587 or 25)",
    );
    assert!(!out.stderr.contains("ssl"), "{}", out.stderr);
    server.finish();
}
