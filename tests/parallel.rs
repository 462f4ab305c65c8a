//! `--parallel N`: `--bulk` and `-q` over N connections at once, each message exactly once,
//! the transcript and `--json` naming the connection that carried each; a connection that
//! cannot be opened gives its messages to the others; the values are checked.

use std::time::Duration;

use crate::support::*;
use crate::windows::queue_messages;

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

/// How many completed transactions went to each recipient `r0`… `r{count-1}`.
fn deliveries(record: &Record, count: usize) -> Vec<usize> {
    (0..count)
        .map(|index| {
            let address = format!("r{index}@example.com");
            record
                .completed()
                .iter()
                .filter(|t| t.recipients() == [address.as_str()])
                .count()
        })
        .collect()
}

/// Slows the greeting of connections `from..from + count`, so that every connection of a
/// run has taken messages before the first one can send any.
fn slow_greetings(mut builder: Builder, from: usize, count: usize) -> Builder {
    for connection in from..from + count {
        let pause = Action::Delay(Duration::from_millis(150));
        builder = builder.on_nth_of(connection, Verb::Greeting, 1, pause);
    }
    builder
}

#[test]
fn parallel_4_flushes_40_entries_each_once_and_leaves_none() {
    let home = Home::new();
    let builder = Server::builder().capability("CHUNKING").on_first(
        40,
        Verb::Rcpt,
        Action::reply(451, "4.3.0 later"),
    );
    let server = slow_greetings(builder, 40, 4).start();
    queue_messages(&home, &server, 40);
    let out = home.run(["-q", "--parallel", "4", "--json"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
    let record = server.finish();
    assert_eq!(record.connection_count(), 40 + 4);
    assert_eq!(deliveries(&record, 40), [1; 40]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let entries = report.as_array().unwrap();
    assert_eq!(entries.len(), 40);
    assert!(entries.iter().all(|e| e["status"] == "sent"), "{report}");
    let mut used: Vec<u64> = entries
        .iter()
        .map(|e| e["connection"].as_u64().unwrap())
        .collect();
    used.sort_unstable();
    used.dedup();
    assert_eq!(used, [1, 2, 3, 4]);
    // Each flush connection carried what its JSON entries say: as many transactions.
    let mut carried: Vec<usize> = record.connections[40..]
        .iter()
        .map(|c| c.transactions.iter().filter(|t| t.completed).count())
        .collect();
    let mut said: Vec<usize> = (1..=4)
        .map(|n| entries.iter().filter(|e| e["connection"] == n).count())
        .collect();
    carried.sort_unstable();
    said.sort_unstable();
    assert_eq!(carried, said);
}

#[test]
fn the_transcript_and_json_name_the_connection_of_each_message() {
    let dir = messages(8);
    let server = slow_greetings(Server::builder().capability("CHUNKING"), 0, 2).start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap()])
        .args(["--parallel", "2", "--json", "-d"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.connection_count(), 2);
    assert_eq!(deliveries(&record, 8), [1; 8]);
    assert!(
        out.stderr
            .lines()
            .all(|line| line.starts_with("[1] ") || line.starts_with("[2] ")),
        "{}",
        out.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut used = Vec::new();
    for (index, document) in report.as_array().unwrap().iter().enumerate() {
        let connection = document["connection"].as_u64().unwrap();
        used.push(connection);
        let rcpt = format!("[{connection}] send: 'RCPT TO:<r{index}@example.com>");
        assert!(out.stderr.contains(&rcpt), "{rcpt}: {}", out.stderr);
    }
    used.sort_unstable();
    used.dedup();
    assert_eq!(used, [1, 2]);
}

#[test]
fn a_connection_that_cannot_be_opened_gives_its_messages_to_the_others() {
    let dir = messages(6);
    // One connection is refused at its greeting; the other two greet slowly, so they are
    // still running when it gives its messages back.
    let builder = Server::builder().capability("CHUNKING").on_nth_of(
        0,
        Verb::Greeting,
        1,
        Action::reply(421, "4.3.2 busy"),
    );
    let server = slow_greetings(builder, 1, 2).start();
    let out = Run::new(["--bulk", dir.path().to_str().unwrap(), "--parallel", "3"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let record = server.finish();
    assert_eq!(record.connection_count(), 3);
    assert_eq!(deliveries(&record, 6), [1; 6]);
}

#[test]
fn with_no_connection_at_all_every_message_fails_the_same_way() {
    let dir = messages(5);
    let out = Run::new(["--bulk", dir.path().to_str().unwrap(), "--parallel", "3"])
        .server(&refused_addr())
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 6, "{}", out.stderr);
    for (index, line) in lines[..5].iter().enumerate() {
        assert!(
            line.contains(&format!("{index:02}.eml")) && line.contains("refused"),
            "{line}"
        );
    }
    assert!(
        lines[5].contains("5 of 5 messages not sent"),
        "{}",
        out.stderr
    );
}

#[test]
fn parallel_and_window_take_1_to_32_and_1_to_100() {
    for (args, env, says) in [
        (
            vec!["--parallel", "0"],
            None,
            "--parallel 0: give a number from 1 to 32",
        ),
        (
            vec!["--parallel", "33"],
            None,
            "--parallel 33: give a number from 1 to 32",
        ),
        (
            vec!["--window", "0"],
            None,
            "--window 0: give a number from 1 to 100",
        ),
        (
            vec!["--window", "101"],
            None,
            "--window 101: give a number from 1 to 100",
        ),
        (
            vec![],
            Some(("SMTPSEND_PARALLEL", "40")),
            "SMTPSEND_PARALLEL=40: give a number from 1 to 32",
        ),
    ] {
        let dir = messages(1);
        let mut run = Run::new(["--bulk", dir.path().to_str().unwrap()])
            .args(&args)
            .server(&refused_addr());
        if let Some((name, value)) = env {
            run = run.env(name, value);
        }
        let out = run.output();
        assert_eq!(out.code, 64, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr, format!("smtpsend: {says}\n"), "{args:?}");
    }
    // A flush checks its own before it reads the outbox.
    let home = Home::new();
    let out = home.run(["-q", "--window", "0"]).output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: --window 0: give a number from 1 to 100\n"
    );
}

#[test]
fn the_account_keys_parallel_and_window_are_read_checked_and_shown() {
    let home = Home::with_config(
        "[accounts.work]\nserver = \"127.0.0.1:1\"\nparallel = 3\nwindow = 8\n",
        0o600,
    );
    let out = home.run(["--account", "work", "--show-config"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key}: {}", out.stdout))
            .to_string()
    };
    assert!(
        line("parallel ").contains("3 (connections at once"),
        "{}",
        out.stdout
    );
    assert!(
        line("parallel ").ends_with("config.toml line 3)"),
        "{}",
        out.stdout
    );
    assert!(
        line("window ").contains("8 (messages ahead"),
        "{}",
        out.stdout
    );
    let bad = Home::with_config("[accounts.work]\nparallel = 0\n", 0o600);
    let out = bad.run(["--account", "work", "--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("parallel") && out.stderr.contains("give a number from 1 to 32"),
        "{}",
        out.stderr
    );
}
