//! SMTPUTF8 (RFC 6531) as the server sees it: UTF-8 addresses and header fields with the
//! SMTPUTF8 parameter when it is offered; A-label domains when it is not; a non-ASCII local
//! part refused (69) before any MAIL.

use crate::support::*;

const IDN_COMPOSED: [&str; 8] = [
    "--from",
    "Jörg <info@exämple.com>",
    "--to",
    "jörg@bücher.example",
    "--subject",
    "Grüße",
    "--body",
    "hallo",
];

/// The header block of a stored message.
fn header(mail: &Transaction) -> String {
    let text = mail.message_text();
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn offered_smtputf8_sends_utf8_addresses_and_headers_with_the_parameter() {
    let server = Server::builder().capability("SMTPUTF8").start();
    let out = Run::new(IDN_COMPOSED).server(&server).output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mail = record.only_completed();
    assert!(
        mail.mail_params().contains(&"SMTPUTF8"),
        "{}",
        mail.mail_from
    );
    assert_eq!(mail.sender(), "info@exämple.com");
    assert_eq!(mail.recipients(), ["jörg@bücher.example"]);
    let header = header(mail);
    assert!(header.contains("\r\nTo: <jörg@bücher.example>"), "{header}");
    assert!(header.contains("<info@exämple.com>"), "{header}");
}

#[test]
fn an_ascii_message_does_not_ask_for_smtputf8() {
    let server = Server::builder().capability("SMTPUTF8").start();
    let out = Run::new([
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        "Grüße",
        "--body",
        "x",
    ])
    .server(&server)
    .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !record.only_completed().mail_params().contains(&"SMTPUTF8"),
        "{}",
        record.only_completed().mail_from
    );
}

#[test]
fn without_smtputf8_domains_become_a_labels_in_envelope_and_address_headers() {
    let server = Server::start();
    let out = Run::new([
        "--from",
        "Jörg <info@exämple.com>",
        "--to",
        "orders@bücher.example",
        "--cc",
        "x@example.org",
        "--subject",
        "Grüße",
        "--body",
        "hallo",
    ])
    .server(&server)
    .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mail = record.only_completed();
    assert!(
        !mail.mail_params().contains(&"SMTPUTF8"),
        "{}",
        mail.mail_from
    );
    assert_eq!(mail.sender(), "info@xn--exmple-cua.com");
    assert_eq!(
        mail.recipients(),
        ["orders@xn--bcher-kva.example", "x@example.org"]
    );
    let header = header(mail);
    assert!(header.is_ascii(), "{header}");
    assert!(
        header.contains("\r\nTo: <orders@xn--bcher-kva.example>"),
        "{header}"
    );
    assert!(header.contains("<info@xn--exmple-cua.com>"), "{header}");
    assert!(header.contains("Subject: =?utf-8?"), "{header}");
}

#[test]
fn without_smtputf8_a_non_ascii_local_part_exits_69_before_mail() {
    let server = Server::start();
    let out = Run::new(IDN_COMPOSED).server(&server).output();
    let record = server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("does not offer SMTPUTF8")
            && out.stderr.contains("<jörg@bücher.example>")
            && out.stderr.contains("nothing was sent"),
        "{}",
        out.stderr
    );
    assert!(record.transactions().is_empty(), "{:?}", record.commands());
    assert!(
        !record.commands().iter().any(|c| c.starts_with("MAIL")),
        "{:?}",
        record.commands()
    );
}

#[test]
fn a_raw_message_with_a_utf8_header_asks_for_smtputf8_when_offered() {
    let raw = "From: a@example.com\nTo: b@example.com\nSubject: Grüße aus Köln\n\nhallo\n";
    let server = Server::builder().capability("SMTPUTF8").start();
    let out = Run::new(["b@example.com"])
        .server(&server)
        .stdin(raw.as_bytes())
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mail = record.only_completed();
    let params = mail.mail_params();
    assert!(params[0].starts_with("SIZE="), "{params:?}");
    assert_eq!(params[1..], ["BODY=8BITMIME", "SMTPUTF8"]);
    assert!(header(mail).contains("Subject: Grüße aus Köln"));

    // Without SMTPUTF8 the subject is not an address: it goes unchanged, as before.
    let server = Server::start();
    let out = Run::new(["b@example.com"])
        .server(&server)
        .stdin(raw.as_bytes())
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mail = record.only_completed();
    assert!(!mail.mail_params().contains(&"SMTPUTF8"));
    assert!(header(mail).contains("Subject: Grüße aus Köln"));
}

#[test]
fn bulk_messages_get_a_labels_when_pipelined() {
    let dir = tempfile::tempdir().unwrap();
    for (index, to) in ["eins@bücher.example", "zwei@bücher.example"]
        .iter()
        .enumerate()
    {
        std::fs::write(
            dir.path().join(format!("{index}.eml")),
            format!("From: a@example.com\nTo: {to}\nSubject: {index}\n\nx\n"),
        )
        .unwrap();
    }
    let server = Server::start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap()])
        .server(&server)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sent = record.completed();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].recipients(), ["eins@xn--bcher-kva.example"]);
    assert_eq!(sent[1].recipients(), ["zwei@xn--bcher-kva.example"]);
    assert!(header(sent[1]).contains("To: zwei@xn--bcher-kva.example"));
}

#[test]
fn dry_run_shows_smtputf8_and_the_ascii_fallback() {
    let out = Run::new([
        "--dry-run",
        "--from",
        "info@exämple.com",
        "--to",
        "orders@bücher.example",
        "--body",
        "x",
    ])
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "MAIL FROM:<info@exämple.com> SMTPUTF8\nRCPT TO:<orders@bücher.example>\n"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.starts_with("From: "), "{}", out.stdout);
    assert!(
        out.stderr.contains(
            "MAIL FROM:<info@xn--exmple-cua.com>, RCPT TO:<orders@xn--bcher-kva.example>"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn dry_run_of_a_raw_message_with_a_utf8_subject_says_it_goes_unchanged_without_smtputf8() {
    let raw = "From: a@example.com\nTo: b@example.com\nSubject: Grüße\n\nx\n";
    let out = Run::new(["--dry-run", "b@example.com"])
        .stdin(raw.as_bytes())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("MAIL FROM:<a@example.com> SMTPUTF8\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("unchanged without SMTPUTF8"),
        "{}",
        out.stderr
    );
}
