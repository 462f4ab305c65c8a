//! `--bulk`: several complete messages over one connection.

use crate::support::*;

fn batch(messages: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (index, text) in messages.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{index:02}.eml")), text).unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not a message").unwrap();
    dir
}

const ONE: &str = "From: a@example.com\nTo: one@example.com\nSubject: 1\n\nfirst\n";
const TWO: &str =
    "From: b@example.com\nTo: two@example.com\nBcc: hidden@example.com\nSubject: 2\n\nsecond\n";
const THREE: &str = "From: c@example.com\nCc: three@example.com\nSubject: 3\n\nthird\n";

#[test]
fn sends_every_message_over_one_connection() {
    let dir = batch(&[ONE, TWO, THREE]);
    let server = Server::start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap()])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.connection_count(), 1);
    let sent = record.completed();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].sender(), "a@example.com");
    assert_eq!(
        sent[1].recipients(),
        ["two@example.com", "hidden@example.com"]
    );
    assert!(!sent[1].message_text().contains("hidden"));
    assert_eq!(sent[2].recipients(), ["three@example.com"]);
    assert!(sent[2].message_text().ends_with("\r\nthird\r\n"));
    assert_eq!(record.commands().iter().filter(|c| *c == "QUIT").count(), 1);
}

#[test]
fn a_refused_message_does_not_stop_the_others() {
    let dir = batch(&[ONE, TWO, THREE]);
    let server = Server::builder()
        .on_rcpt("two@", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap()])
        .server(&server)
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert!(
        out.stderr.contains("01.eml") && out.stderr.contains("<two@example.com>"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("1 of 3 messages not sent"),
        "{}",
        out.stderr
    );
    let record = server.finish();
    let subjects: Vec<String> = record
        .completed()
        .iter()
        .map(|t| {
            t.message_text()
                .lines()
                .find(|l| l.starts_with("Subject"))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(subjects, ["Subject: 1", "Subject: 3"]);
}

#[test]
fn a_message_without_recipients_stops_the_run_before_connecting() {
    let dir = batch(&[ONE, "Subject: nobody\n\nlost\n"]);
    let server = Server::start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap()])
        .server(&server)
        .output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    assert!(out.stderr.contains("01.eml"), "{}", out.stderr);
    assert_eq!(server.finish().connection_count(), 0);
}

#[test]
fn json_is_one_array_even_when_a_message_is_refused() {
    let dir = batch(&[ONE, TWO]);
    let server = Server::builder()
        .on_rcpt("two@", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = Run::new(["--json", "--bulk", dir.path().to_str().unwrap()])
        .server(&server)
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", out.stdout));
    assert_eq!(report[0]["status"], "sent");
    assert_eq!(report[1]["status"], "failed");
    assert_eq!(report[1]["exit_code"], 67);
}

#[test]
fn each_next_message_is_pipelined_behind_the_previous_end_mark() {
    let dir = batch(&[ONE, TWO, THREE, ONE, TWO]);
    let server = Server::start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap(), "-d"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.completed().len(), 5);
    // EHLO; the first MAIL+RCPT+DATA; then one per message: its data, the end mark and the
    // next message's MAIL+RCPT+DATA (QUIT after the last) in one write.
    assert_eq!(record.round_trips(), 2 + 5, "{:?}", record.commands());
    let sent: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("send: "))
        .collect();
    let first_end = sent
        .iter()
        .position(|l| *l == r"send: '.\r\n'")
        .expect("an end mark");
    assert!(
        sent[first_end + 1].starts_with("send: 'MAIL FROM:<b@example.com>"),
        "{sent:?}"
    );
}

#[test]
fn without_pipelining_the_next_message_waits_for_the_reply() {
    let dir = batch(&[ONE, TWO]);
    let server = Server::builder()
        .capabilities(&["8BITMIME", "SIZE 1000000"])
        .start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap()])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.completed().len(), 2);
    // EHLO; per message MAIL, RCPT (×1 or ×2), DATA, end of data; QUIT.
    assert_eq!(
        record.round_trips(),
        1 + 4 + 5 + 1,
        "{:?}",
        record.commands()
    );
}
