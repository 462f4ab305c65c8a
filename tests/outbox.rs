//! The outbox (`--queue`, `-q`, `--list-queue`, `--drop-queue`) and `--retries`, as a user
//! sees them: exit codes, stderr, the files on disk, and what reached the server.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;

use crate::support::*;

/// The message most tests send: from a@example.com to b@example.com, subject "queued".
const MESSAGE: [&str; 8] = [
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--subject",
    "queued",
    "--body",
    "hello",
];

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn temporary_failures_are_queued_privately_and_exit_0() {
    // Each stage, and the reason the 'queued as' line gives: the server's reply.
    let cases = [
        (
            "RCPT",
            Server::builder().on(Verb::Rcpt, Action::reply(451, "4.3.0 later")),
            "nothing sent: the server refused 1 of 1 recipients: <b@example.com> (451 4.3.0 \
             later)",
        ),
        (
            "DATA",
            Server::builder().on(Verb::Data, Action::reply(451, "4.3.0 later")),
            "server refused DATA: 451 4.3.0 later",
        ),
        (
            "end of data",
            Server::builder().on(Verb::EndOfData, Action::reply(452, "4.3.1 full")),
            "server refused the message data: 452 4.3.1 full",
        ),
        (
            "greeting",
            Server::builder().greeting(421, "4.3.2 busy"),
            "the server closed the connection with 421 4.3.2 busy (waiting for the greeting)",
        ),
    ];
    for (stage, builder, reason) in cases {
        let home = Home::new();
        let server = builder.start();
        let out = home
            .run(MESSAGE)
            .args(["--queue", "on-failure"])
            .server(&server)
            .output();
        assert_eq!(out.code, 0, "{stage}: {}", out.stderr);
        let id = queued_id(&out.stderr);
        assert_eq!(
            out.stderr,
            format!("smtpsend: queued as {id} ({reason})\n"),
            "{stage}"
        );
        assert!(server.finish().completed().is_empty(), "{stage}");

        assert_eq!(mode(&home.queue_dir()), 0o700, "{stage}");
        assert_eq!(home.files(), [format!("{id}.eml"), format!("{id}.json")]);
        for file in home.files() {
            assert_eq!(mode(&home.queue_dir().join(&file)), 0o600, "{stage} {file}");
        }
        let meta = home.meta(&id);
        // Format 2: the message's size and SHA-256, checked before it is sent.
        assert_eq!(meta["format"], 2, "{stage}");
        assert_eq!(meta["size"], home.message(&id).len(), "{stage}");
        assert_eq!(meta["sha256"], sha256_hex(&home.message(&id)), "{stage}");
        assert_eq!(meta["attempts"], 1, "{stage}");
        assert_eq!(meta["last_exit_code"], 75, "{stage}");
        assert_eq!(meta["envelope"]["recipients"][0], "b@example.com");
        let message = String::from_utf8(home.message(&id)).unwrap();
        assert!(message.contains("Subject: queued\r\n"), "{message}");
        assert!(message.ends_with("\r\n\r\nhello"), "{message}");
    }
}

#[test]
fn connection_refused_is_queued() {
    let home = Home::new();
    let nobody = refused_addr();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&nobody)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert!(out.stderr.contains("cannot connect"), "{}", out.stderr);
    assert_eq!(home.ids(), [id]);
}

/// A unix socket that is not there (Dovecot restarting) is temporary: 75, and queued.
#[test]
fn a_missing_unix_socket_is_temporary_and_queued() {
    let home = Home::new();
    let socket = home.join("lmtp.sock");
    let socket = socket.display();
    let server = format!("unix:{socket}");
    let out = home.run(MESSAGE).server(&server).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: cannot connect to unix socket {socket}: No such file or directory \
             (is the server running?)\n"
        )
    );
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert_eq!(home.ids(), [id]);
}

#[test]
fn without_queue_a_temporary_failure_exits_75_and_writes_nothing() {
    let home = Home::new();
    let out = home.run(MESSAGE).server(&refused_addr()).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(!out.stderr.contains("queued"), "{}", out.stderr);
    assert!(!home.queue_dir().exists());
}

#[test]
fn permanent_failures_are_never_queued() {
    let cases = [
        (Verb::Rcpt, 550, 67),
        (Verb::Mail, 553, 69),
        (Verb::Data, 554, 69),
        (Verb::EndOfData, 554, 69),
    ];
    for (verb, reply, code) in cases {
        for queue in ["on-failure", "always"] {
            let home = Home::new();
            let server = Server::builder()
                .on(verb, Action::reply(reply, "5.7.1 no"))
                .start();
            let out = home
                .run(MESSAGE)
                .args(["--queue", queue])
                .server(&server)
                .output();
            assert_eq!(out.code, code, "{verb:?} {queue}: {}", out.stderr);
            assert!(!out.stderr.contains("queued as"), "{}", out.stderr);
            assert!(
                home.files().is_empty(),
                "{verb:?} {queue}: {:?}",
                home.files()
            );
            assert!(server.finish().completed().is_empty());
        }
    }
}

#[test]
fn flush_delivers_a_queued_message_once_and_removes_it() {
    let home = Home::new();
    let server = Server::builder()
        .on_first(1, Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .start();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    let queued_bytes = home.message(&id);

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert!(home.files().is_empty(), "{:?}", home.files());

    // Nothing left: a second flush connects to nothing.
    let out = home.run(["--flush-queue"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);

    let record = server.finish();
    assert_eq!(record.connection_count(), 2);
    let delivered = record.only_completed();
    assert_eq!(delivered.sender(), "a@example.com");
    assert_eq!(delivered.recipients(), ["b@example.com"]);
    // The queued bytes, plus the CRLF that ends the data on the wire.
    assert_eq!(delivered.message, [&queued_bytes[..], b"\r\n"].concat());
}

#[test]
fn flush_keeps_what_the_server_still_refuses_and_records_the_attempt() {
    let home = Home::new();
    let server = Server::builder()
        .on(Verb::Rcpt, Action::reply(451, "4.3.0 try later"))
        .start();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&server)
        .output();
    let id = queued_id(&out.stderr);

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("{id}: still queued")),
        "{}",
        out.stderr
    );
    assert_eq!(home.ids(), std::slice::from_ref(&id));
    let meta = home.meta(&id);
    assert_eq!(meta["attempts"], 2);
    assert!(
        meta["last_error"]
            .as_str()
            .unwrap()
            .contains("451 4.3.0 try later"),
        "{meta}"
    );
    assert_eq!(meta["last_exit_code"], 75);
    assert!(server.finish().completed().is_empty());
}

#[test]
fn a_permanent_refusal_at_flush_keeps_the_entry_marked_failed() {
    let home = Home::new();
    let server = Server::builder()
        .on_first(1, Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .on(Verb::Rcpt, Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&server)
        .output();
    let id = queued_id(&out.stderr);

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert!(out.stderr.contains("--drop-queue"), "{}", out.stderr);
    assert_eq!(home.ids(), std::slice::from_ref(&id));
    assert_eq!(home.meta(&id)["last_exit_code"], 67);
    let listed = home.run(["--list-queue"]).output();
    assert!(
        listed.stdout.contains("permanent, exit 67"),
        "{}",
        listed.stdout
    );
    assert!(server.finish().completed().is_empty());
}

#[test]
fn a_flush_sends_every_queued_message_over_one_connection() {
    let home = Home::new();
    let server = Server::builder()
        .on_first(2, Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .start();
    for subject in ["first", "second"] {
        let out = home
            .run([
                "--to",
                "b@example.com",
                "--subject",
                subject,
                "--body",
                "x",
                "--queue",
                "on-failure",
            ])
            .server(&server)
            .sender("a@example.com")
            .output();
        queued_id(&out.stderr);
    }
    assert_eq!(home.ids().len(), 2);

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.ids().is_empty());

    let record = server.finish();
    assert_eq!(record.connection_count(), 3);
    let flush = &record.connections[2];
    let subjects: Vec<bool> = flush
        .transactions
        .iter()
        .map(|t| t.completed && t.message_text().contains("Subject: "))
        .collect();
    assert_eq!(subjects, [true, true]);
    // EHLO; MAIL+RCPT+DATA; first data + second MAIL+RCPT+DATA; second data + QUIT.
    let lines: Vec<_> = flush
        .lines
        .iter()
        .map(|l| String::from_utf8_lossy(l))
        .collect();
    assert_eq!(flush.round_trips, 4, "{lines:?}");
    assert!(
        flush.transactions[0]
            .message_text()
            .contains("Subject: first")
    );
    assert!(
        flush.transactions[1]
            .message_text()
            .contains("Subject: second")
    );
}

#[test]
fn a_second_flush_is_refused_while_one_runs() {
    let home = Home::new();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&refused_addr())
        .output();
    let id = queued_id(&out.stderr);
    let lock = File::create(home.queue_dir().join(".flush.lock")).unwrap();
    // SAFETY: flock(2) on a descriptor this test owns.
    assert_eq!(
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("another flush of the outbox is running"),
        "{}",
        out.stderr
    );
    assert_eq!(home.meta(&id)["attempts"], 1);
    drop(lock);
}

#[test]
fn list_queue_and_bp_show_id_sender_recipients_attempts_and_last_error() {
    let home = Home::new();
    let out = home.run(["--list-queue"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("the outbox is empty"),
        "{}",
        out.stdout
    );

    let nobody = refused_addr();
    let out = home
        .run([
            "--to",
            "b@example.com",
            "--cc",
            "c@example.com",
            "--body",
            "x",
            "--queue",
            "on-failure",
        ])
        .server(&nobody)
        .sender("a@example.com")
        .output();
    let id = queued_id(&out.stderr);
    for flag in ["--list-queue", "-bp"] {
        let out = home.run([flag]).output();
        assert_eq!(out.code, 0, "{flag}: {}", out.stderr);
        let text = &out.stdout;
        let first = text.lines().next().unwrap();
        assert!(first.starts_with(&format!("{id}  ")), "{text}");
        assert!(first.contains("1 attempt"), "{text}");
        assert!(first.ends_with("from <a@example.com>"), "{text}");
        assert!(
            text.contains("    to <b@example.com>, <c@example.com>\n"),
            "{text}"
        );
        assert!(text.contains(&format!("    via {nobody}\n")), "{text}");
        assert!(text.contains("(temporary): cannot connect to"), "{text}");
        assert!(
            text.ends_with("1 message in ") || text.contains("\n1 message in "),
            "{text}"
        );
    }
    let out = home.run(["--list-queue", "--json"]).output();
    let listed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["attempts"], 1);
    assert_eq!(listed[0]["envelope"]["from"], "a@example.com");
}

#[test]
fn drop_queue_removes_an_entry_without_sending_it() {
    let home = Home::new();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&refused_addr())
        .output();
    let id = queued_id(&out.stderr);
    let out = home.run(["--drop-queue", &id]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("dropped {id}")),
        "{}",
        out.stderr
    );
    assert!(home.files().is_empty(), "{:?}", home.files());

    let out = home.run(["--drop-queue", &id]).output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(out.stderr.contains("no such message"), "{}", out.stderr);
    let out = home.run(["--drop-queue", "../../etc/passwd"]).output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: \"../../etc/passwd\" is not an outbox id (ids look like \
         0640a1b2c3d4e-0badf0; see --list-queue)\n"
    );
}

#[test]
fn queue_always_sends_at_once_and_keeps_nothing_after_success() {
    let home = Home::new();
    let server = Server::start();
    let addr = server.addr();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "always"])
        .server(&addr)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert!(home.files().is_empty(), "{:?}", home.files());
    assert_eq!(server.finish().completed().len(), 1);

    let server = Server::builder()
        .on(Verb::Data, Action::reply(421, "4.3.2 closing"))
        .start();
    let addr = server.addr();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "always"])
        .server(&addr)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert_eq!(home.meta(&id)["attempts"], 1);
    assert_eq!(home.meta(&id)["size"], home.message(&id).len());
    assert!(server.finish().completed().is_empty());
}

#[test]
fn retries_try_the_whole_send_again_after_a_temporary_failure() {
    let server = Server::builder()
        .on_first(1, Verb::Greeting, Action::reply(421, "4.3.2 busy"))
        .start();
    let out = Run::new(MESSAGE)
        .args(["--retries", "2"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("trying again in 1s (retry 1 of 2)"),
        "{}",
        out.stderr
    );
    let record = server.finish();
    assert_eq!(record.connection_count(), 2);
    assert_eq!(record.completed().len(), 1);
}

#[test]
fn retries_give_up_after_n_and_skip_permanent_failures() {
    let server = Server::builder().greeting(421, "4.3.2 busy").start();
    let addr = server.addr();
    let out = Run::new(MESSAGE)
        .args(["--retries", "1"])
        .server(&addr)
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: the server closed the connection with 421 4.3.2 busy (waiting for the \
         greeting); trying again in 1s (retry 1 of 1)\n\
         smtpsend: the server closed the connection with 421 4.3.2 busy (waiting for the \
         greeting)\n"
    );
    assert_eq!(server.finish().connection_count(), 2);

    let server = Server::builder()
        .on(Verb::Rcpt, Action::reply(550, "5.1.1 no such user"))
        .start();
    let addr = server.addr();
    let out = Run::new(MESSAGE)
        .args(["--retries", "3"])
        .server(&addr)
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: nothing sent: the server refused 1 of 1 recipients: <b@example.com> (550 \
         5.1.1 no such user)\n"
    );
    assert_eq!(server.finish().connection_count(), 1);
}

#[test]
fn a_lost_reply_after_the_data_is_never_retried_at_once() {
    let home = Home::new();
    let server = Server::builder()
        .on(Verb::EndOfData, Action::HangUp)
        .start();
    let out = home
        .run(MESSAGE)
        .args(["--retries", "3"])
        .server(&server)
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the server may have accepted the message"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("trying again"), "{}", out.stderr);

    // With the outbox on it is kept: a later flush may deliver it a second time (RFC 1047).
    let out = home
        .run(MESSAGE)
        .args(["--retries", "3", "--queue", "on-failure"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert!(
        home.meta(&id)["last_error"]
            .as_str()
            .unwrap()
            .contains("may have accepted"),
    );
    assert_eq!(server.finish().connection_count(), 2);
}

#[test]
fn an_account_queue_key_queues_and_the_flush_uses_the_account() {
    let home = Home::new();
    let server = Server::builder()
        .on_first(1, Verb::Data, Action::reply(451, "4.3.0 later"))
        .start();
    home.write_config(
        &format!(
            "default = \"relay\"\n[accounts.relay]\nserver = \"{}\"\nqueue = \"on-failure\"\n\
             retries = 0\nfrom = \"ci@example.com\"\n",
            server.addr()
        ),
        0o644,
    );
    let out = home
        .run(["--to", "ops@example.com", "--body", "build failed"])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert_eq!(
        home.meta(&id)["options"],
        serde_json::json!(["--account=relay"])
    );
    let listed = home.run(["-bp"]).output().stdout;
    assert!(listed.contains("(account relay)"), "{listed}");

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.only_completed().sender(), "ci@example.com");
}

#[test]
fn settings_from_the_environment_are_kept_for_the_flush() {
    let home = Home::new();
    let server = Server::builder()
        .on_first(1, Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .start();
    let addr = server.addr();
    let out = home
        .run([
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--body",
            "x",
        ])
        .env("SMTPSEND_SERVER", &addr)
        .env("SMTPSEND_QUEUE", "on-failure")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    let server_option = format!("--server={addr}");
    assert_eq!(
        home.meta(&id)["options"],
        serde_json::json!([server_option])
    );

    // The flush runs without those variables (cron), and without reading them.
    let elsewhere = refused_addr();
    let out = home.run(["-q"]).env("SMTPSEND_SERVER", &elsewhere).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);
}

#[test]
fn json_reports_a_queued_message() {
    let home = Home::new();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure", "--json"])
        .server(&refused_addr())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], "queued");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["queued_as"], queued_id(&out.stderr).as_str());
}

#[test]
fn flush_json_is_one_array_with_each_entry() {
    let home = Home::new();
    let out = home
        .run(MESSAGE)
        .args(["--queue", "on-failure"])
        .server(&refused_addr())
        .output();
    let id = queued_id(&out.stderr);
    let out = home.run(["-q", "--json"]).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", out.stdout));
    assert_eq!(report[0]["id"], id.as_str());
    assert_eq!(report[0]["status"], "queued");
    assert_eq!(report[0]["exit_code"], 75);
}

#[test]
fn queue_commands_refuse_message_flags() {
    let out = Run::new(["-q", "--to", "b@example.com"]).output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: the argument '--flush-queue' cannot be used with '--to <ADDR>' (see --help)\n"
    );
    let out = Run::new(["-q30m"]).output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: -q30m is not supported: smtpsend -q delivers the outbox once; run it from \
         cron for periodic queue runs (see --help)\n"
    );
}

#[test]
fn killing_a_send_with_queue_always_loses_nothing() {
    let home = Home::new();
    // The first connection never answers the end of the data; the next one works.
    let server = Server::builder()
        .on_first(1, Verb::EndOfData, Action::Silent)
        .start();
    let mut running = home
        .run(MESSAGE)
        .args(["--queue", "always", "-d"])
        .server(&server)
        .stdin_from(std::process::Stdio::null())
        .spawn();
    // The entry is committed before smtpsend connects. Kill it once the whole message has
    // gone out and it waits for the reply: the worst moment (RFC 1047). The entry must
    // survive whole.
    running.wait_for_stderr(r"send: '.\r\n'");
    running.signal(libc::SIGKILL);
    let killed = running.wait();
    assert_eq!(killed.signal, Some(libc::SIGKILL), "{}", killed.stderr);
    let ids = home.ids();
    assert_eq!(ids.len(), 1, "{:?}", home.files());
    assert_eq!(
        home.files(),
        [format!("{}.eml", ids[0]), format!("{}.json", ids[0])]
    );

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
    let record = server.finish();
    assert_eq!(record.connection_count(), 2);
    let delivered = record.only_completed();
    assert!(delivered.message_text().contains("Subject: queued"));
}

#[test]
fn lmtp_recipients_already_delivered_are_not_sent_again() {
    let home = Home::new();
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::reply(452, "4.2.2 mailbox full"))
        .start();
    let addr = server.addr();
    let out = home
        .run([
            "--lmtp",
            "--server",
            &addr,
            "--from",
            "a@example.com",
            "--to",
            "ok@example.com",
            "--to",
            "full@example.com",
            "--body",
            "x",
            "--retries",
            "1",
            "--queue",
            "on-failure",
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert_eq!(
        home.meta(&id)["envelope"]["recipients"],
        serde_json::json!(["full@example.com"])
    );
    assert_eq!(home.meta(&id)["attempts"], 2);

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: {id}: still queued: the message reached none of the 1 recipients: \
             <full@example.com> (452 4.2.2 mailbox full)\n\
             smtpsend: 1 of 1 queued messages not sent (each named above)\n"
        )
    );
    assert_eq!(
        home.meta(&id)["envelope"]["recipients"],
        serde_json::json!(["full@example.com"])
    );

    let record = server.finish();
    let recipients: Vec<Vec<&str>> = record
        .transactions()
        .iter()
        .map(|t| t.recipients())
        .collect();
    assert_eq!(
        recipients,
        [
            vec!["ok@example.com", "full@example.com"],
            vec!["full@example.com"],
            vec!["full@example.com"],
        ]
    );
}

/// Every recipient the server took in a completed transaction, in order.
fn delivered_to(record: &crate::support::Record) -> Vec<String> {
    record
        .connections
        .iter()
        .flat_map(|c| c.transactions.iter())
        .filter(|t| t.completed)
        .flat_map(|t| t.accepted.iter().cloned())
        .collect()
}

#[test]
fn partial_queues_the_recipients_refused_for_now_and_the_flush_sends_only_them() {
    let home = Home::new();
    let server = Server::builder()
        .on_first_rcpt(1, "later@", Action::reply(450, "4.2.1 mailbox busy"))
        .on_rcpt("never@", Action::reply(550, "5.1.1 no such user"))
        .start();
    let out = home
        .run(MESSAGE)
        .args([
            "--to",
            "later@example.com",
            "--to",
            "never@example.com",
            "--partial",
            "--queue",
            "on-failure",
        ])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert!(
        out.stderr
            .contains("<later@example.com> (450 4.2.1 mailbox busy)"),
        "{}",
        out.stderr
    );
    let meta = home.meta(&id);
    assert_eq!(
        meta["envelope"]["recipients"],
        serde_json::json!(["later@example.com"])
    );

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.ids().is_empty());
    let record = server.finish();
    assert_eq!(
        delivered_to(&record),
        ["b@example.com", "later@example.com"],
        "each recipient once, the refused one never"
    );
}

#[test]
fn partial_retries_only_the_recipients_refused_for_now() {
    let server = Server::builder()
        .on_first_rcpt(1, "later@", Action::reply(450, "4.2.1 mailbox busy"))
        .start();
    let out = Run::new(MESSAGE)
        .args(["--to", "later@example.com", "--partial", "--retries", "1"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("trying again in 1s"), "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.connection_count(), 2);
    assert_eq!(
        delivered_to(&record),
        ["b@example.com", "later@example.com"]
    );
}

#[test]
fn partial_with_retries_used_up_and_no_queue_is_still_a_success_naming_who_missed_it() {
    let server = Server::builder()
        .on_rcpt("later@", Action::reply(450, "4.2.1 mailbox busy"))
        .start();
    let out = Run::new(MESSAGE)
        .args(["--to", "later@example.com", "--partial", "--retries", "1"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("not delivered yet to <later@example.com>"),
        "{}",
        out.stderr
    );
    assert_eq!(delivered_to(&server.finish()), ["b@example.com"]);
}

#[test]
fn only_250_after_the_data_counts_as_sent() {
    // A server whose reply to the data never came, answering the pipelined QUIT instead;
    // a nonsense 2xx; the same from an LMTP server for one recipient. Each breaks the
    // protocol (76) and may have delivered the message: not tried again at once, queued.
    for (lmtp, code, text) in [
        (false, 221, "2.0.0 bye"),
        (false, 299, "weird"),
        (true, 221, "bye"),
    ] {
        let home = Home::new();
        let builder = if lmtp {
            Server::builder()
                .lmtp()
                .on_lmtp_recipient("b@", Action::reply(code, text))
        } else {
            Server::builder().on(Verb::EndOfData, Action::reply(code, text))
        };
        let server = builder.start();
        let lmtp_flag: &[&str] = if lmtp { &["--lmtp"] } else { &[] };
        let args = [lmtp_flag, &["--retries", "2", "--json"]].concat();
        let out = home.run(MESSAGE).args(args).server(&server).output();
        assert_eq!(out.code, 76, "{code} {text}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("\"{code} {text}\" instead of 250")),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("trying again"), "{}", out.stderr);
        assert!(!out.stdout.contains("\"sent\""), "{}", out.stdout);

        let args = [lmtp_flag, &["--queue", "on-failure"]].concat();
        let out = home.run(MESSAGE).args(args).server(&server).output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let id = queued_id(&out.stderr);
        assert!(
            home.meta(&id)["last_error"]
                .as_str()
                .unwrap()
                .contains("may have accepted"),
        );
        assert_eq!(server.finish().connection_count(), 2);
    }
}
