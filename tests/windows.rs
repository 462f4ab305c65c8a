//! Windows of messages (`--window`): with PIPELINING and CHUNKING, `--bulk` and `-q` write
//! the whole transactions of several messages before reading the replies of the first. The
//! round trips that saves, counted by the scripted server; a refusal inside a window; a
//! connection lost in the middle of one.

use crate::support::*;

/// `count` one-recipient messages `00.eml`… to `rN@example.com`, in a new directory.
fn messages(count: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for index in 0..count {
        let text = format!(
            "From: a@example.com\nTo: r{index}@example.com\nSubject: {index}\n\nbody {index}\n"
        );
        std::fs::write(dir.path().join(format!("{index:02}.eml")), text).unwrap();
    }
    dir
}

fn chunking() -> Builder {
    Server::builder().capability("CHUNKING")
}

/// How many completed transactions went to each recipient `r0`… `r{count-1}`.
fn deliveries(records: &[&Record], count: usize) -> Vec<usize> {
    (0..count)
        .map(|index| {
            let address = format!("r{index}@example.com");
            records
                .iter()
                .flat_map(|record| record.completed())
                .filter(|t| t.recipients() == [address.as_str()])
                .count()
        })
        .collect()
}

/// Queues `count` messages to `r0`… through `server`, whose first `count` connections
/// refuse every recipient for now, so that each is kept (`--queue on-failure`).
pub fn queue_messages(home: &Home, server: &Server, count: usize) {
    for index in 0..count {
        let out = home
            .run([
                "-f",
                "a@example.com",
                "--to",
                &format!("r{index}@example.com"),
                "--subject",
                &index.to_string(),
                "--body",
                &format!("body {index}"),
                "--queue",
                "on-failure",
            ])
            .server(server)
            .output();
        assert_eq!(out.code, 0, "queueing {index}: {}", out.stderr);
    }
    assert_eq!(home.ids().len(), count);
}

#[test]
fn ten_messages_take_one_round_trip_each_without_a_window_and_fewer_with_one() {
    let dir = messages(10);
    // EHLO is one round trip. Without a window each message is one more: its MAIL, RCPT,
    // BDAT and data go in one write and its replies are read before the next message (10).
    // A window of 4 writes messages 1-4, reads their replies, writes 5-8, reads, writes 9-10
    // with QUIT: ceil(10 / 4) = 3. The default window of 16 holds all ten and QUIT: 1.
    for (window, round_trips) in [("1", 1 + 10), ("4", 1 + 3), ("16", 1 + 1)] {
        let server = chunking().start();
        let out = Run::new(["--bulk", dir.path().to_str().unwrap(), "--window", window])
            .server(&server)
            .output();
        assert_eq!(out.code, 0, "--window {window}: {}", out.stderr);
        let record = server.finish();
        assert_eq!(record.connection_count(), 1);
        assert_eq!(
            record.round_trips(),
            round_trips,
            "--window {window}: {:?}",
            record.commands()
        );
        assert_eq!(deliveries(&[&record], 10), [1; 10], "--window {window}");
        // In order, each whole, in one chunk of its exact size.
        let sent = record.completed();
        for (index, transaction) in sent.iter().enumerate() {
            assert!(
                transaction
                    .message_text()
                    .ends_with(&format!("\r\nbody {index}\r\n"))
            );
            assert_eq!(transaction.bdat_chunks, [transaction.message.len()]);
        }
        // Behind the first message of a window, each goes after an RSET.
        let resets = record.commands().iter().filter(|c| *c == "RSET").count();
        let expected = match window {
            "1" => 0,
            "4" => 3 + 3 + 1,
            _ => 9,
        };
        assert_eq!(resets, expected, "--window {window}");
    }
}

#[test]
fn the_default_window_is_not_used_without_chunking() {
    let dir = messages(4);
    let server = Server::start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap()])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    // DATA needs its 354: EHLO, MAIL+RCPT+DATA, then one per message (its data with the
    // next message's commands behind it).
    assert_eq!(record.round_trips(), 2 + 4, "{:?}", record.commands());
    assert_eq!(deliveries(&[&record], 4), [1; 4]);
}

#[test]
fn a_refusal_inside_a_window_fails_only_that_message_and_the_first_failure_decides() {
    let dir = messages(10);
    for (first, second, code) in [
        ((451, "4.2.1 mailbox busy"), (550, "5.1.1 no such user"), 75),
        ((550, "5.1.1 no such user"), (451, "4.2.1 mailbox busy"), 67),
    ] {
        let server = chunking()
            .on_rcpt("r3@", Action::reply(first.0, first.1))
            .on_rcpt("r6@", Action::reply(second.0, second.1))
            .start();
        let out = Run::new(["--bulk", dir.path().to_str().unwrap(), "--json"])
            .server(&server)
            .output();
        let record = server.finish();
        assert_eq!(out.code, code, "{}", out.stderr);
        let named: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(named.len(), 3, "{}", out.stderr);
        assert!(named[0].contains("03.eml") && named[0].contains(first.1));
        assert!(named[1].contains("06.eml") && named[1].contains(second.1));
        assert!(
            named[2].contains("2 of 10 messages not sent"),
            "{}",
            out.stderr
        );
        let mut expected = [1; 10];
        expected[3] = 0;
        expected[6] = 0;
        assert_eq!(deliveries(&[&record], 10), expected);
        assert_eq!(record.round_trips(), 2, "{:?}", record.commands());
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let statuses: Vec<&str> = (0..10)
            .map(|i| report[i]["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses.iter().filter(|s| **s == "sent").count(), 8);
        let first_code = if first.0 < 500 { 75 } else { 67 };
        assert_eq!(report[3]["exit_code"], first_code);
        assert!((0..10).all(|i| report[i]["connection"] == 1));
    }
}

#[test]
fn a_connection_lost_mid_window_delivers_nothing_twice_and_keeps_the_rest() {
    let home = Home::new();
    // Connections 0-9 queue the messages; the flush's first connection (10) hangs up at
    // its fourth MAIL, after answering the first three messages.
    let server = chunking()
        .on_first(10, Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .on_nth_of(10, Verb::Mail, 4, Action::HangUp)
        .start();
    queue_messages(&home, &server, 10);
    let ids = home.ids();
    let recipient_of = |id: &String| {
        home.meta(id)["envelope"]["recipients"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    let recipients: Vec<String> = ids.iter().map(recipient_of).collect();
    let out = home.run(["-q", "--window", "4", "--json"]).output();
    // Messages 1-3 were answered; 4 was written whole and never answered, so the server
    // may have it: it stays queued (75) and is not sent again at once. 5-10 had not been
    // written: they go on a new connection.
    assert_eq!(out.code, 75, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    for (index, id) in ids.iter().enumerate() {
        let entry = report
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap();
        let (status, connection) = match index {
            0..=2 => ("sent", 1),
            3 => ("queued", 1),
            _ => ("sent", 2),
        };
        assert_eq!(entry["status"], status, "{index}: {entry}");
        assert_eq!(entry["connection"], connection, "{index}: {entry}");
    }
    assert!(
        report[3]["error"]
            .as_str()
            .unwrap()
            .contains("the server may have accepted the message"),
        "{report}"
    );
    assert_eq!(home.ids(), [ids[3].clone()]);
    assert_eq!(recipients[3], "r3@example.com");
    // The next flush sends the one kept; nothing was delivered twice.
    let again = home.run(["-q"]).output();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
    let record = server.finish();
    assert_eq!(deliveries(&[&record], 10), [1; 10]);
}
