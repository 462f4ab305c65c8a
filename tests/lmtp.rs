//! LMTP (RFC 2033): LHLO, one reply per recipient after the data, per-recipient results on
//! stderr and in --json, exit codes, `lmtp://` and unix sockets.

use crate::support::*;

const TWO: [&str; 4] = ["--to", "ok@example.com", "--to", "full@example.com"];

#[test]
fn every_recipient_delivered_exits_0_after_lhlo() {
    let server = Server::builder().lmtp().start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let record = server.finish();
    let commands = record.commands();
    assert!(commands[0].starts_with("LHLO "), "{commands:?}");
    assert!(
        !commands
            .iter()
            .any(|c| c.starts_with("EHLO") || c.starts_with("HELO"))
    );
    assert_eq!(
        record.only_completed().accepted,
        ["ok@example.com", "full@example.com"]
    );
    // LHLO; MAIL+RCPT+RCPT+DATA; the data and QUIT (both LMTP replies come in one go).
    assert_eq!(record.round_trips(), 3, "{commands:?}");
}

#[test]
fn a_temporary_failure_for_one_recipient_exits_75_and_names_both() {
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::reply(452, "4.2.2 mailbox full"))
        .start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: delivered to 1 of 2 recipients (<ok@example.com>); \
         not to <full@example.com> (452 4.2.2 mailbox full)\n"
    );
    // The data went out once; the server delivered it to one of the two.
    assert_eq!(server.finish().completed().len(), 1);
}

#[test]
fn a_permanent_failure_for_one_recipient_exits_67() {
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::reply(552, "5.2.2 over quota"))
        .start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("not to <full@example.com> (552 5.2.2 over quota)"),
        "{}",
        out.stderr
    );
}

#[test]
fn nobody_delivered_names_every_recipient() {
    let server = Server::builder()
        .lmtp()
        .on(Verb::EndOfData, Action::reply(451, "4.3.0 try later"))
        .start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: the message reached none of the 2 recipients: \
         <ok@example.com> (451 4.3.0 try later), <full@example.com> (451 4.3.0 try later)\n"
    );
}

#[test]
fn partial_exits_0_and_notes_the_recipient_that_failed() {
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::reply(452, "4.2.2 mailbox full"))
        .start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi", "--partial"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: recipient <full@example.com> not delivered, delivered to the others: \
         452 4.2.2 mailbox full\n"
    );
}

#[test]
fn a_refused_rcpt_still_means_nothing_is_sent() {
    let server = Server::builder()
        .lmtp()
        .on_rcpt("full", Action::reply(550, "5.1.1 no such mailbox"))
        .start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert!(out.stderr.contains("nothing sent"), "{}", out.stderr);
    assert!(server.finish().completed().is_empty());
}

#[test]
fn json_has_each_recipients_reply_after_the_data() {
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::reply(452, "4.2.2 mailbox full"))
        .start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi", "--json"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], "partial");
    assert_eq!(report["exit_code"], 75);
    assert_eq!(report["reply"], serde_json::Value::Null);
    let ok = &report["recipients"][0];
    assert_eq!(ok["accepted"], true);
    assert_eq!(ok["delivered"], true);
    assert_eq!(ok["delivery"]["code"], 250);
    assert_eq!(
        ok["delivery"]["text"],
        "2.0.0 <ok@example.com> Ok: delivered"
    );
    let full = &report["recipients"][1];
    assert_eq!(full["accepted"], true);
    assert_eq!(full["delivered"], false);
    assert_eq!(full["delivery"]["code"], 452);
    assert_eq!(full["delivery"]["enhanced_code"], "4.2.2");
}

#[test]
fn the_transcript_shows_lhlo_and_one_reply_per_recipient() {
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::reply(452, "4.2.2 mailbox full"))
        .start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi", "-d"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("send: 'LHLO ")),
        "{}",
        out.stderr
    );
    let end = lines
        .iter()
        .position(|l| *l == r"send: '.\r\n'")
        .expect("end of data");
    assert_eq!(
        lines[end + 1..end + 4],
        [
            r"send: 'QUIT\r\n'",
            r"reply: '250 2.0.0 <ok@example.com> Ok: delivered\r\n'",
            r"reply: '452 4.2.2 mailbox full\r\n'",
        ]
    );
}

#[test]
fn lmtp_scheme_needs_no_flag() {
    let server = Server::builder().lmtp().start();
    let url = format!("lmtp://{}", server.addr());
    let out = Run::new(["--to", "b@example.com", "--body", "x"])
        .server(&url)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.finish().commands()[0].starts_with("LHLO "));
}

#[test]
fn over_a_unix_socket_by_path_and_by_unix_prefix() {
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::reply(452, "4.2.2 mailbox full"))
        .start();
    let relay = UnixRelay::start(&server.addr());
    let path = relay.arg();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "one"])
        .server(&path)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains("not to <full@example.com>"),
        "{}",
        out.stderr
    );
    let unix = format!("unix:{path}");
    let out = Run::new(["--lmtp"])
        .args(["--to", "ok@example.com", "--body", "two", "-d"])
        .server(&unix)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!("connect: unix:{path}\n")),
        "{}",
        out.stderr
    );
    let record = server.finish();
    assert_eq!(record.connection_count(), 2);
    let texts: Vec<String> = record
        .completed()
        .iter()
        .map(|t| t.message_text())
        .collect();
    assert!(texts[0].ends_with("\r\n\r\none\r\n") && texts[1].ends_with("\r\n\r\ntwo\r\n"));
}

#[test]
fn connection_lost_among_the_replies_names_who_already_has_the_message() {
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::HangUp)
        .start();
    let out = Run::new(["--lmtp"])
        .args(TWO)
        .args(["--body", "hi"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "the message was already delivered to <ok@example.com> (do not send it to them again)"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn smtp_over_a_unix_socket_too() {
    let server = Server::start();
    let relay = UnixRelay::start(&server.addr());
    let path = relay.arg();
    let out = Run::new(["--to", "b@example.com", "--body", "x"])
        .server(&path)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.finish().commands()[0].starts_with("EHLO "));
}

/// `lmtp:///path/to/socket` (and `smtp:///path`) name a unix socket, as `file:///` does a
/// file: LMTP without --lmtp, over the socket.
#[test]
fn lmtp_and_smtp_urls_with_a_path_are_unix_sockets() {
    let server = Server::builder().lmtp().start();
    let relay = UnixRelay::start(&server.addr());
    let url = format!("lmtp://{}", relay.arg());
    let out = Run::new(["--to", "ok@example.com", "--body", "hi", "-d"])
        .server(&url)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with(&format!("connect: unix:{}\n", relay.arg())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("send: 'LHLO "), "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);

    let server = Server::start();
    let relay = UnixRelay::start(&server.addr());
    let url = format!("smtp://{}", relay.arg());
    let out = Run::new(["--to", "ok@example.com", "--body", "hi"])
        .server(&url)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);

    let out = Run::new(["--to", "ok@example.com", "--body", "hi"])
        .server("smtp://127.0.0.1:2525/path")
        .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: --server \"smtp://127.0.0.1:2525/path\": a path is not allowed after the \
         host; for a unix socket write smtp:///path/to/socket, lmtp:///path/to/socket or \
         unix:/path/to/socket\n"
    );
}
