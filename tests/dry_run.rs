//! `--dry-run` as something to keep: the message exactly on stdout (the envelope on stderr),
//! which `smtpsend -t` then sends as the same message; with Bcc, the command on stderr that
//! reaches the same envelope; `--dry-run --json` with the message in base64. And the fields of
//! a thread: Message-ID, In-Reply-To, References, the priority.

use crate::structure::report_dir;
use crate::support::*;

const STAT: &[u8] = b" src/main.rs | 2 +-\n 1 file changed\n";

/// The report's flags: Markdown, its chart inline, stdin attached, a reply.
fn report_flags(run: Run) -> Run {
    run.args([
        "--from",
        "ci@example.com",
        "--to",
        "ops@example.com",
        "--cc",
        "dev@example.com",
    ])
    .args(["--subject", "Nightly build 1432", "--markdown", "report.md"])
    .args([
        "--inline",
        "chart.png",
        "-a",
        "-",
        "--attach-name",
        "stat.txt",
    ])
    .args([
        "--in-reply-to",
        "build-1431@ci.example.com",
        "--priority",
        "low",
    ])
    .cwd(report_dir())
    .stdin(STAT)
}

#[test]
fn a_saved_dry_run_sends_the_same_message_with_t() {
    let saved = report_flags(Run::new(["--dry-run"])).output();
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert_eq!(
        saved.stderr,
        "MAIL FROM:<ci@example.com>\nRCPT TO:<ops@example.com>\nRCPT TO:<dev@example.com>\n"
    );

    let direct = Server::start();
    let out = report_flags(Run::new(Vec::<&str>::new()))
        .server(&direct)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let later = Server::builder().capability("CHUNKING").start();
    let out = Run::new(["-t"])
        .server(&later)
        .unpinned()
        .stdin(&saved.stdout_bytes)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);

    let (direct, later) = (direct.finish(), later.finish());
    let (direct, later) = (direct.only_completed(), later.only_completed());
    assert!(
        direct.message == saved.stdout_bytes,
        "the dry run is what is sent"
    );
    assert!(
        later.message == saved.stdout_bytes,
        "-t sends the saved bytes unchanged"
    );
    assert_eq!(later.sender(), direct.sender());
    assert_eq!(later.recipients(), direct.recipients());
}

/// Bcc recipients are in no header field: stderr gives the command that sends the saved
/// message to the whole envelope, and that command does.
#[test]
fn a_dry_run_with_bcc_says_how_to_reach_the_same_envelope() {
    let saved = Run::new(["--dry-run", "--from", "a@example.com", "--envelope-from"])
        .args([
            "bounces@example.com",
            "--to",
            "b@example.com",
            "--bcc",
            "hidden@example.com",
        ])
        .args(["--body", "for b and hidden\n"])
        .output();
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let said = saved.stderr.lines().last().unwrap();
    let command = said
        .strip_prefix(
            "smtpsend: to send the saved message later to this envelope (some recipients are in \
             no header field, as with Bcc; the envelope sender is not the From): ",
        )
        .unwrap_or_else(|| panic!("{said}"));
    assert_eq!(
        command,
        "smtpsend -f bounces@example.com -t hidden@example.com < FILE"
    );
    let server = Server::start();
    let words: Vec<&str> = command.split(' ').collect();
    let out = Run::new(&words[1..words.len() - 2])
        .server(&server)
        .unpinned()
        .stdin(&saved.stdout_bytes)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let sent = record.only_completed();
    assert_eq!(sent.sender(), "bounces@example.com");
    assert_eq!(sent.recipients(), ["b@example.com", "hidden@example.com"]);
    assert!(sent.message == saved.stdout_bytes);
}

#[test]
fn a_json_dry_run_holds_the_envelope_the_message_id_and_the_message() {
    let plain = report_flags(Run::new(["--dry-run"])).output();
    let out = report_flags(Run::new([
        "--dry-run",
        "--json",
        "--message-id",
        "<r-1432@ci.example.com>",
    ]))
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], "dry-run");
    assert_eq!(report["message_id"], "<r-1432@ci.example.com>");
    assert_eq!(
        report["envelope"],
        serde_json::json!({"from": "ci@example.com", "recipients": ["ops@example.com", "dev@example.com"]})
    );
    use base64::Engine;
    let message = base64::engine::general_purpose::STANDARD
        .decode(report["message"].as_str().unwrap())
        .unwrap();
    assert_eq!(report["size"], message.len());
    let pinned = String::from_utf8(plain.stdout_bytes).unwrap();
    let expected = pinned.replace("<pinned@smtpsend.test>", "<r-1432@ci.example.com>");
    assert_eq!(String::from_utf8(message).unwrap(), expected);
}

/// Every `--json` result of a send names the Message-ID of the message.
#[test]
fn a_json_result_names_the_message_id() {
    let server = Server::start();
    let out = Run::new(["--to", "b@example.com", "--body", "x", "--json"])
        .args(["--message-id", "given@example.com"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], "sent");
    assert_eq!(report["message_id"], "<given@example.com>");
    let record = server.finish();
    assert!(
        record
            .only_completed()
            .message_text()
            .contains("\r\nMessage-ID: <given@example.com>\r\n")
    );
}

#[test]
fn threads_and_priority_are_written_as_given() {
    let out = Run::new(["--dry-run", "--to", "b@example.com", "--body", "x"])
        .args([
            "--message-id",
            "me@example.com",
            "--in-reply-to",
            "<parent@example.com>",
        ])
        .args([
            "--references",
            "<root@example.com> <a@example.com>,b@example.com",
        ])
        .args(["--references", "<parent@example.com>", "--priority", "HIGH"])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let head = out.stdout.split("\r\n\r\n").next().unwrap();
    let fields: Vec<&str> = head
        .split("\r\n")
        .filter(|line| {
            [
                "Message-ID",
                "In-Reply-To",
                "References",
                "X-Priority",
                "Importance",
                " ",
            ]
            .iter()
            .any(|name| line.starts_with(name))
        })
        .collect();
    assert_eq!(
        fields,
        [
            "Message-ID: <me@example.com>",
            "In-Reply-To: <parent@example.com>",
            "References: <root@example.com> <a@example.com> <b@example.com>",
            " <parent@example.com>",
            "X-Priority: 1 (Highest)",
            "Importance: high",
        ]
    );
    for (priority, x_priority, importance) in [
        ("normal", "3 (Normal)", "normal"),
        ("low", "5 (Lowest)", "low"),
    ] {
        let out = Run::new([
            "--dry-run",
            "--to",
            "b@example.com",
            "--body",
            "x",
            "--priority",
            priority,
        ])
        .output();
        assert!(
            out.stdout.contains(&format!(
                "\r\nX-Priority: {x_priority}\r\nImportance: {importance}\r\n"
            )),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn thread_fields_that_are_no_message_ids_or_given_twice_are_refused() {
    let server = Server::start();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--in-reply-to", "no at sign"],
            "--in-reply-to \"no at sign\" is not a Message-ID",
        ),
        (
            &["--message-id", "<a@b>\r\nBcc: x@y"],
            "is not a Message-ID",
        ),
        (
            &["--references", "a@b c"],
            "--references \"c\" is not a Message-ID",
        ),
        (
            &["--message-id", "a@b", "-H", "Message-ID: <c@d>"],
            "--header Message-ID and --message-id both set Message-ID: give one",
        ),
        (
            &["--priority", "high", "-H", "Importance: low"],
            "--header Importance and --priority both set Importance",
        ),
    ];
    for (flags, says) in cases {
        let out = Run::new(["--to", "b@example.com", "--body", "x"])
            .args(flags)
            .server(&server)
            .output();
        assert_eq!(out.code, 64, "{flags:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{flags:?}: {}", out.stderr);
    }
    assert_eq!(server.finish().connection_count(), 0);
}
