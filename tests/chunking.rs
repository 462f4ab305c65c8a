//! CHUNKING (RFC 3030): `BDAT n LAST` instead of DATA when the server offers it, pipelined
//! behind MAIL and RCPT where the recipient rule allows; BINARYMIME for raw bodies that DATA
//! cannot carry unchanged. What reached the server, round trips, exit codes, stderr.

use crate::support::*;

/// The test server's default capabilities plus CHUNKING.
fn chunking() -> Builder {
    Server::builder().capability("CHUNKING")
}

/// A complete message with dots at line starts and no line end at the very end.
const DOTTED: &[u8] =
    b"From: a@example.com\nTo: b@example.com\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n\
Message-ID: <fixed@example.com>\nSubject: dots\n\n.starts with a dot\n..two dots\n.\nno line end";

#[test]
fn bdat_carries_the_bytes_data_carries_without_dot_stuffing() {
    let with_data = Server::start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&with_data)
        .sender("a@example.com")
        .stdin(DOTTED)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let with_bdat = chunking().start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&with_bdat)
        .sender("a@example.com")
        .stdin(DOTTED)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);

    let data = with_data.finish().only_completed().clone();
    let bdat = with_bdat.finish().only_completed().clone();
    assert_eq!(bdat.message, data.message, "the same message arrived");
    assert!(bdat.message.ends_with(b"\r\n.\r\nno line end\r\n"));
    assert_eq!(bdat.data_wire, bdat.message, "no dot-stuffing, no end mark");
    assert_eq!(
        bdat.bdat_chunks,
        [bdat.message.len()],
        "one chunk, exact size"
    );
    assert!(data.data_wire.windows(5).any(|w| w == b"\n..st"));
    assert!(data.bdat_chunks.is_empty());
    assert_eq!(bdat.mail_params(), data.mail_params(), "same SIZE");
}

#[test]
fn one_recipient_costs_two_round_trips_and_the_transcript_shows_bdat() {
    let server = chunking().start();
    let out = Run::new(["-d", "--to", "b@example.com", "--body", "hello"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let sent = record.only_completed();
    let size = sent.bdat_chunks[0];
    let commands = record.commands();
    let verbs: Vec<&str> = commands
        .iter()
        .map(|c| c.split(' ').next().unwrap())
        .collect();
    assert_eq!(verbs, ["EHLO", "MAIL", "RCPT", "BDAT", "QUIT"]);
    assert_eq!(commands[3], format!("BDAT {size} LAST"));
    // EHLO; then MAIL, RCPT, BDAT with the data and QUIT in one write.
    assert_eq!(record.round_trips(), 2);
    let bdat_line = format!("send: 'BDAT {size} LAST\\r\\n'\n");
    let summary = format!("send: <message: {size} bytes, ");
    assert!(out.stderr.contains(&bdat_line), "{}", out.stderr);
    let after_bdat = &out.stderr[out.stderr.find(&bdat_line).unwrap()..];
    assert!(after_bdat.contains(&summary), "{}", out.stderr);
    assert!(after_bdat.contains("send: 'QUIT\\r\\n'"), "{}", out.stderr);
    assert!(!out.stderr.contains("DATA"), "{}", out.stderr);
}

#[test]
fn all_or_nothing_with_two_recipients_waits_for_the_rcpt_replies_first() {
    let server = chunking().start();
    let out = Run::new([
        "--to",
        "b@example.com",
        "--to",
        "c@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.only_completed().accepted.len(), 2);
    // EHLO; MAIL+RCPT+RCPT; BDAT with the data and QUIT.
    assert_eq!(record.round_trips(), 3);
}

#[test]
fn partial_with_two_recipients_sends_everything_in_one_write() {
    let server = chunking().start();
    let out = Run::new([
        "--partial",
        "--to",
        "b@example.com",
        "--to",
        "c@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.only_completed().accepted.len(), 2);
    assert_eq!(record.round_trips(), 2);
}

#[test]
fn partial_a_refused_recipient_still_gets_nothing_and_the_other_gets_the_message() {
    let server = chunking()
        .on_rcpt("gone@", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = Run::new([
        "--partial",
        "--to",
        "gone@example.com",
        "--to",
        "c@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("<gone@example.com> refused"),
        "{}",
        out.stderr
    );
    assert_eq!(server.finish().only_completed().accepted, ["c@example.com"]);
}

#[test]
fn all_or_nothing_a_refused_recipient_means_no_bdat_at_all() {
    let server = chunking()
        .on_rcpt("gone@", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = Run::new([
        "--to",
        "b@example.com",
        "--to",
        "gone@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("smtpsend: nothing sent"),
        "{}",
        out.stderr
    );
    let record = server.finish();
    assert_eq!(record.connection_count(), 1);
    assert!(record.completed().is_empty());
    assert!(!record.commands().iter().any(|c| c.starts_with("BDAT")));
}

#[test]
fn the_only_recipient_refused_the_pipelined_chunk_is_discarded() {
    let server = chunking()
        .on_rcpt("gone@", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = Run::new(["--to", "gone@example.com", "--body", "x"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: nothing sent: the server refused 1 of 1 recipients: <gone@example.com> \
         (550 5.1.1 no such user)\n"
    );
    let record = server.finish();
    assert!(record.completed().is_empty());
    assert_eq!(record.round_trips(), 2);
}

#[test]
fn without_pipelining_one_command_per_round_trip() {
    let server = Server::builder()
        .capabilities(&["CHUNKING", "8BITMIME", "SIZE 10485760"])
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "x"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.only_completed().bdat_chunks.len(), 1);
    // EHLO, MAIL, RCPT, BDAT with its data, QUIT.
    assert_eq!(record.round_trips(), 5);
}

#[test]
fn a_refused_bdat_exits_69_in_one_line() {
    let server = chunking()
        .on(
            Verb::Bdat,
            Action::reply(554, "5.6.0 message content rejected"),
        )
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "x"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: server refused the message data (BDAT): 554 5.6.0 message content rejected\n"
    );
}

#[test]
fn a_temporarily_refused_bdat_exits_75() {
    let server = chunking()
        .on(Verb::Bdat, Action::reply(452, "4.3.1 insufficient storage"))
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "x"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: server refused the message data (BDAT): 452 4.3.1 insufficient storage\n"
    );
}

#[test]
fn no_chunking_sends_with_data() {
    let server = chunking().start();
    let out = Run::new(["--no-chunking", "--to", "b@example.com", "--body", "x"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert!(record.only_completed().bdat_chunks.is_empty());
    assert!(record.commands().iter().any(|c| c == "DATA"));
}

#[test]
fn dsn_and_size_parameters_go_with_bdat_too() {
    let server = chunking().capability("DSN").start();
    let out = Run::new([
        "-N",
        "failure",
        "-R",
        "hdrs",
        "-V",
        "env1",
        "--to",
        "b@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let sent = record.only_completed();
    let params = sent.mail_params();
    assert!(params.iter().any(|p| p.starts_with("SIZE=")), "{params:?}");
    assert!(params.contains(&"RET=HDRS"), "{params:?}");
    assert!(params.contains(&"ENVID=env1"), "{params:?}");
    assert!(
        sent.rcpt_to[0].contains("NOTIFY=FAILURE"),
        "{:?}",
        sent.rcpt_to
    );
    let size: usize = params
        .iter()
        .find_map(|p| p.strip_prefix("SIZE="))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sent.bdat_chunks, [size], "SIZE and the chunk agree");
}

// --- BINARYMIME ---

/// A raw message whose body DATA cannot carry unchanged: a NUL byte, a bare CR, a line of
/// 1200 octets, and bare LF line ends.
fn binary_message() -> Vec<u8> {
    let mut message =
        b"From: a@example.com\nTo: b@example.com\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n\
Message-ID: <bin@example.com>\nSubject: binary\nContent-Type: application/octet-stream\n\n"
            .to_vec();
    message.extend_from_slice(b"\x00\x01bare\rcr\n");
    message.extend_from_slice(&[b'x'; 1200]);
    message.extend_from_slice(b"\n.dot\n\xff\xfe");
    message
}

/// [`binary_message`] without its NUL byte: a body DATA can carry once its line ends are
/// CRLF (a body with a NUL goes only with BINARYMIME; see tests/hostile_message.rs).
fn binary_message_without_nul() -> Vec<u8> {
    let mut message = binary_message();
    let nul = message.iter().position(|b| *b == 0).unwrap();
    message.remove(nul);
    message
}

const BINARY_HEADER: &[u8] =
    b"From: a@example.com\r\nTo: b@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <bin@example.com>\r\nSubject: binary\r\nContent-Type: application/octet-stream\r\n\r\n";

#[test]
fn binarymime_body_arrives_byte_exact() {
    let server = chunking().capability("BINARYMIME").start();
    let message = binary_message();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .sender("a@example.com")
        .stdin(&message)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let sent = record.only_completed();
    let body_start = message.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    let mut expected = BINARY_HEADER.to_vec();
    expected.extend_from_slice(&message[body_start..]);
    assert_eq!(
        sent.message, expected,
        "header made CRLF, body exactly as given"
    );
    assert!(
        sent.mail_params().contains(&"BODY=BINARYMIME"),
        "{:?}",
        sent.mail_params()
    );
    assert_eq!(sent.bdat_chunks, [expected.len()]);
}

#[test]
fn without_binarymime_the_body_goes_as_before_with_crlf_line_ends() {
    let server = chunking().start();
    let message = binary_message_without_nul();
    let out = Run::new(["-d", "--raw", "b@example.com"])
        .server(&server)
        .sender("a@example.com")
        .stdin(&message)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "binarymime: the body has a bare CR and the server does not offer BINARYMIME"
        ),
        "{}",
        out.stderr
    );
    let record = server.finish();
    let sent = record.only_completed();
    assert!(!sent.mail_from.contains("BINARYMIME"));
    assert!(sent.message.starts_with(BINARY_HEADER));
    let body = &sent.message[BINARY_HEADER.len()..];
    assert!(body.starts_with(b"\x01bare\r\ncr\r\n"), "{body:?}");
    assert!(!body.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
}

#[test]
fn without_binarymime_a_refusal_says_why_in_one_line() {
    let server = Server::builder()
        .on(
            Verb::EndOfData,
            Action::reply(554, "5.6.1 NUL bytes not allowed"),
        )
        .start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .sender("a@example.com")
        .stdin(binary_message_without_nul())
        .output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: server refused the message data (its body needs BINARYMIME, which the \
         server does not offer): 554 5.6.1 NUL bytes not allowed\n"
    );
}

#[test]
fn a_plain_unix_text_body_is_not_binary() {
    let server = chunking().capability("BINARYMIME").start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .sender("a@example.com")
        .stdin(DOTTED)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let sent = record.only_completed();
    assert!(!sent.mail_from.contains("BINARYMIME"));
    assert!(sent.message.ends_with(b"\r\nno line end\r\n"));
}

// --- with the 452 split, LMTP and --bulk ---

#[test]
fn split_all_or_nothing_with_bdat_needs_no_second_connection() {
    let server = chunking().recipient_limit(100).start();
    let recipients = many(250);
    let out = Run::new(["--body", "x"])
        .args(&recipients)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.connection_count(), 1);
    let (all, sizes) = delivered(&record);
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(all, recipients, "each recipient exactly once, in order");
    assert!(record.completed().iter().all(|t| t.bdat_chunks.len() == 1));
    // EHLO; MAIL+RCPT… (then RSET); the two checks in one write; per transaction
    // MAIL+RCPT…, then BDAT with the data (QUIT rides on the last).
    assert_eq!(record.round_trips(), 1 + 1 + 1 + 1 + 3 * 2);
}

#[test]
fn split_partial_with_bdat_sends_each_batch_as_it_goes() {
    let server = chunking().recipient_limit(100).start();
    let recipients = many(250);
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
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(all, recipients);
    // EHLO; then each transaction in one write.
    assert_eq!(record.round_trips(), 1 + 3);
}

#[test]
fn split_partial_below_the_rfc_minimum_reconnects_after_the_pipelined_quit() {
    // A server that takes fewer than RFC 5321's 100: QUIT already followed the data.
    let server = chunking().recipient_limit(2).start();
    let recipients = many(5);
    let out = Run::new(["--body", "x"])
        .args(["--partial", "-d"])
        .args(&recipients)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("split: connecting again"),
        "{}",
        out.stderr
    );
    let record = server.finish();
    let (all, sizes) = delivered(&record);
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(all, recipients, "each recipient exactly once");
    assert_eq!(record.connection_count(), 2);
}

#[test]
fn lmtp_with_bdat_reads_one_reply_per_recipient() {
    let server = chunking()
        .lmtp()
        .on_lmtp_recipient("full", Action::reply(452, "4.2.2 mailbox full"))
        .start();
    let out = Run::new([
        "--lmtp",
        "--json",
        "--to",
        "ok@example.com",
        "--to",
        "full@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .sender("a@example.com")
    .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(out.stderr.contains("<full@example.com>"), "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["recipients"][0]["delivered"], true);
    assert_eq!(report["recipients"][1]["delivered"], false);
    let record = server.finish();
    assert!(record.commands().iter().any(|c| c.starts_with("BDAT ")));
    assert!(!record.commands().iter().any(|c| c == "DATA"));
    // LHLO; MAIL+RCPT+RCPT; BDAT with the data and QUIT (both LMTP replies in one go).
    assert_eq!(record.round_trips(), 3);
}

#[test]
fn lmtp_with_bdat_one_recipient_in_one_write() {
    let server = chunking().lmtp().start();
    let out = Run::new(["--lmtp", "--to", "ok@example.com", "--body", "x"])
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.only_completed().bdat_chunks.len(), 1);
    assert_eq!(record.round_trips(), 2);
}

#[test]
fn bulk_with_bdat_one_connection_one_round_trip_per_message_or_one_for_a_window() {
    let dir = tempfile::tempdir().unwrap();
    for index in 0..3 {
        let text = format!(
            "From: a@example.com\nTo: r{index}@example.com\nSubject: {index}\n\nbody {index}\n"
        );
        std::fs::write(dir.path().join(format!("{index:02}.eml")), text).unwrap();
    }
    // EHLO, then one round trip per message without a window (--window 1), and one for the
    // three together in the default window of 16.
    for (window, round_trips) in [("1", 1 + 3), ("16", 1 + 1)] {
        let server = chunking().start();
        let out = Run::new(["--bulk", dir.path().to_str().unwrap(), "--window", window])
            .server(&server)
            .output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let record = server.finish();
        assert_eq!(record.connection_count(), 1);
        let sent = record.completed();
        assert_eq!(sent.len(), 3);
        assert!(sent.iter().all(|t| t.bdat_chunks.len() == 1));
        assert!(sent[2].message_text().ends_with("\r\nbody 2\r\n"));
        assert_eq!(record.round_trips(), round_trips, "--window {window}");
    }
}

#[test]
fn bulk_with_bdat_and_several_recipients_announces_mail_and_rcpt_behind_each_chunk() {
    let dir = tempfile::tempdir().unwrap();
    for index in 0..3 {
        let text = format!(
            "From: a@example.com\nTo: r{index}@example.com, s{index}@example.com\n\
             Subject: {index}\n\nbody {index}\n"
        );
        std::fs::write(dir.path().join(format!("{index:02}.eml")), text).unwrap();
    }
    let server = chunking().start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap()])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.connection_count(), 1);
    let sent = record.completed();
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter()
            .all(|t| t.accepted.len() == 2 && t.bdat_chunks.len() == 1)
    );
    assert!(!record.commands().iter().any(|c| c == "RSET" || c == "DATA"));
    // EHLO; the first MAIL+RCPT…; then per message its chunk with the next one's MAIL and
    // RCPTs behind it (QUIT behind the last).
    assert_eq!(record.round_trips(), 1 + 1 + 3);
}
