//! Composition as it reaches the server: headers, bodies, attachments, Bcc, raw mode.

use crate::support::*;
use mail_parser::{MessageParser, MimeHeaders};

#[test]
fn encoded_headers_and_bcc_only_in_the_envelope() {
    let server = Server::start();
    let out = Run::new([
        "--from",
        "Jürgen Groß <alice@example.com>",
        "--to",
        "bob@example.com, \"Doe, Jane\" <jane@example.com>",
        "--cc",
        "carol@example.com",
        "--bcc",
        "dave@example.com",
        "--reply-to",
        "replies@example.com",
        "--subject",
        "Grüße – Übersicht ✓",
        "-H",
        "X-Build: 1432",
    ])
    .server(&server)
    .stdin("Hallo Welt\n".as_bytes())
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "alice@example.com");
    assert_eq!(
        transaction.recipients(),
        [
            "bob@example.com",
            "jane@example.com",
            "carol@example.com",
            "dave@example.com"
        ]
    );
    let raw = &transaction.message;
    assert!(raw.is_ascii(), "headers and body must be 7-bit encoded");
    let text = String::from_utf8_lossy(raw);
    assert!(!text.to_ascii_lowercase().contains("bcc"), "{text}");
    assert!(!text.contains("dave@example.com"), "{text}");
    let message = MessageParser::default().parse(raw).unwrap();
    assert_eq!(message.subject(), Some("Grüße – Übersicht ✓"));
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Jürgen Groß"));
    assert_eq!(from.address(), Some("alice@example.com"));
    let to: Vec<_> = message
        .to()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap())
        .collect();
    assert_eq!(to, ["bob@example.com", "jane@example.com"]);
    assert_eq!(
        message.to().unwrap().iter().nth(1).unwrap().name(),
        Some("Doe, Jane")
    );
    assert_eq!(
        message.cc().unwrap().first().unwrap().address(),
        Some("carol@example.com")
    );
    assert_eq!(
        message.reply_to().unwrap().first().unwrap().address(),
        Some("replies@example.com")
    );
    assert_eq!(message.header_raw("X-Build").map(str::trim), Some("1432"));
    assert_eq!(message.body_text(0).unwrap().trim_end(), "Hallo Welt");
    assert!(message.date().is_some() && message.message_id().is_some());
}

#[test]
fn attachments_arrive_byte_identical_with_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let binary: Vec<u8> = (0..200_003u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let binary_path = dir.path().join("data.bin");
    std::fs::write(&binary_path, &binary).unwrap();
    let text_path = dir.path().join("Jahresabschluß 2024.txt");
    std::fs::write(&text_path, b"line one\n.line with dot\r\nno newline at end").unwrap();
    let server = Server::start();
    let out = Run::new([
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        "files",
        "-a",
        binary_path.to_str().unwrap(),
        "-a",
        text_path.to_str().unwrap(),
    ])
    .server(&server)
    .stdin(b"see attached\n")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let message = MessageParser::default()
        .parse(&record.only_completed().message)
        .unwrap();
    assert_eq!(message.attachment_count(), 2);
    let first = message.attachment(0).unwrap();
    assert_eq!(first.attachment_name(), Some("data.bin"));
    assert_eq!(first.contents(), binary.as_slice());
    let second = message.attachment(1).unwrap();
    assert_eq!(second.attachment_name(), Some("Jahresabschluß 2024.txt"));
    assert_eq!(second.content_type().unwrap().ctype(), "text");
    assert_eq!(
        second.contents(),
        b"line one\n.line with dot\r\nno newline at end"
    );
    assert_eq!(message.body_text(0).unwrap().trim_end(), "see attached");
}

#[test]
fn a_directory_attaches_its_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.csv"), b"x,y\n").unwrap();
    std::fs::write(dir.path().join("a.json"), b"{}").unwrap();
    std::fs::create_dir(dir.path().join("subdir")).unwrap();
    let server = Server::start();
    let path = dir.path().to_str().unwrap();
    let out = Run::new(["--to", "b@example.com", "-a", path, "--body", "logs"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let message = MessageParser::default()
        .parse(&record.only_completed().message)
        .unwrap();
    let names: Vec<_> = message
        .attachments()
        .map(|a| a.attachment_name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["a.json", "b.csv"]);
    assert_eq!(
        message
            .attachment(1)
            .unwrap()
            .content_type()
            .unwrap()
            .ctype(),
        "text"
    );
}

#[test]
fn html_with_text_is_multipart_alternative() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("page.html");
    std::fs::write(&html, "<p>Grüße</p>").unwrap();
    let server = Server::start();
    let out = Run::new([
        "--to",
        "b@example.com",
        "--html",
        html.to_str().unwrap(),
        "--body",
        "Grüße",
    ])
    .server(&server)
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let raw = &record.only_completed().message;
    let message = MessageParser::default().parse(raw).unwrap();
    assert_eq!(
        message.content_type().unwrap().subtype(),
        Some("alternative")
    );
    assert_eq!(message.body_text(0).unwrap().trim_end(), "Grüße");
    assert_eq!(message.body_html(0).unwrap().trim_end(), "<p>Grüße</p>");
}

#[test]
fn pinned_message_is_byte_for_byte_stable() {
    let server = Server::start();
    let out = Run::new([
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        "pin",
    ])
    .server(&server)
    .stdin(b"one\n")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let expected = "From: <a@example.com>\r\n\
        To: <b@example.com>\r\n\
        Subject: pin\r\n\
        Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
        Message-ID: <pinned@smtpsend.test>\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=\"utf-8\"\r\n\
        Content-Transfer-Encoding: 7bit\r\n\
        \r\n\
        one\r\n";
    assert_eq!(record.only_completed().message_text(), expected);
}

#[test]
fn raw_mode_adds_missing_headers_drops_bcc_and_keeps_the_rest() {
    let input = b"Subject: raw test\nTo: bob@example.com\nBcc: hidden@example.com,\n  also-hidden@example.com\nX-Keep:  spacing  kept \n\nbody line\n.dot line\n";
    let server = Server::start();
    let out = Run::new(["bob@example.com", "carol@example.com"])
        .server(&server)
        .stdin(input)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(
        transaction.recipients(),
        ["bob@example.com", "carol@example.com"]
    );
    let expected = "Subject: raw test\r\n\
        To: bob@example.com\r\n\
        X-Keep:  spacing  kept \r\n\
        From: <root@localhost>\r\n\
        Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
        Message-ID: <pinned@smtpsend.test>\r\n\
        \r\n\
        body line\r\n\
        .dot line\r\n";
    let text = transaction.message_text();
    let (head, _) = expected.split_once("From:").unwrap();
    assert!(text.starts_with(head), "{text}");
    assert!(
        text.ends_with("Message-ID: <pinned@smtpsend.test>\r\n\r\nbody line\r\n.dot line\r\n"),
        "{text}"
    );
    assert!(!text.contains("hidden"), "{text}");
}

#[test]
fn raw_mode_uses_the_from_header_as_envelope_sender_and_keeps_headers() {
    let input = b"From: Alice <alice@example.com>\r\nDate: Mon, 2 Feb 2026 10:00:00 +0100\r\nMessage-ID: <x@y>\r\n\r\nhi\r\n";
    let server = Server::start();
    let out = Run::new(["--raw", "bob@example.com"])
        .server(&server)
        .stdin(input)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "alice@example.com");
    assert_eq!(transaction.message, input);
}

#[test]
fn dot_stuffing_round_trips_lines_that_start_with_a_dot() {
    let body = ".\n..x\n.end\nmiddle . dot\n.";
    let server = Server::start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .stdin(format!("Subject: dots\n\n{body}").as_bytes())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    let wire = String::from_utf8_lossy(&transaction.data_wire);
    assert!(
        wire.contains("\r\n..\r\n...x\r\n..end\r\nmiddle . dot\r\n..\r\n.\r\n"),
        "{wire:?}"
    );
    assert!(
        transaction
            .message_text()
            .ends_with("\r\n.\r\n..x\r\n.end\r\nmiddle . dot\r\n.\r\n")
    );
}

#[test]
fn terminator_adds_crlf_only_when_missing() {
    let server = Server::start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .stdin(b"Subject: a\r\n\r\nno newline")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .stdin(b"Subject: a\r\n\r\nnewline\r\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transactions = record.transactions();
    assert!(transactions[0].data_wire.ends_with(b"no newline\r\n.\r\n"));
    assert!(transactions[1].data_wire.ends_with(b"newline\r\n.\r\n"));
    assert!(!transactions[1].data_wire.ends_with(b"\r\n\r\n.\r\n"));
}

/// Runs smtpsend with stdin left open, as a terminal is while someone is still typing the
/// body; returns what it did, or `None` when it waited for the body.
fn run_while_typing(run: Run) -> Option<Output> {
    let mut running = run
        .stdin_from(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn();
    let _typing = running.take_stdin();
    // Not ended by then: it waits for the body (and is killed when `running` is dropped).
    running
        .exits_within(std::time::Duration::from_secs(30))
        .then(|| running.wait())
}

/// Someone composing at a terminal types the body and ends it with Ctrl-D: a command that
/// cannot be sent (no recipient, an unusable password file or CA file) must say so before
/// that, not after the text was typed.
#[test]
fn what_would_stop_the_send_is_said_before_the_body_is_read() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let readable = dir.path().join("password");
    std::fs::write(&readable, "secret\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let readable = readable.to_str().unwrap();
    let cases: [(&[&str], i32, &str); 3] = [
        (&[], 64, "no recipients"),
        (
            &[
                "--to",
                "b@example.com",
                "--user",
                "u",
                "--password-file",
                readable,
            ],
            78,
            "is readable by others",
        ),
        (
            &[
                "--to",
                "b@example.com",
                "--tls",
                "starttls",
                "--tls-ca-file",
                "/nonexistent/ca.pem",
            ],
            66,
            "/nonexistent/ca.pem",
        ),
    ];
    for (extra, code, says) in cases {
        let out = run_while_typing(Run::new(["--subject", "hi"]).args(extra).server(&server))
            .unwrap_or_else(|| panic!("{extra:?}: it read the body before checking"));
        assert_eq!(out.code, code, "{extra:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{extra:?}: {}", out.stderr);
    }
    assert_eq!(server.finish().connection_count(), 0);
}

/// A dry run of a message from a@example.com to b@example.com; more flags follow.
const DRY_RUN: [&str; 5] = [
    "--dry-run",
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
];

#[test]
fn a_text_gives_the_same_message_from_any_source() {
    let texts = [
        "plain\n".to_string(),
        "Grüße aus Köln, schöne Grüße!\n".repeat(40),
        format!("{}\nshort\n", "long ".repeat(300)),
        "smuggle\r.\r\nMAIL FROM:<x@y.z>\r\n\u{1b}[1m\tbold\n".to_string(),
        "no line break at the end".to_string(),
    ];
    let message = |run: Run| {
        let out = run.output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout_bytes
    };
    let dir = tempfile::tempdir().unwrap();
    for (index, text) in texts.iter().enumerate() {
        let file = dir.path().join(format!("{index}.txt"));
        std::fs::write(&file, text).unwrap();
        let given = message(Run::new(DRY_RUN).args(["--body", text]));
        assert_eq!(
            message(Run::new(DRY_RUN).arg("--body-file").arg(&file)),
            given,
            "{text:?}"
        );
        assert_eq!(message(Run::new(DRY_RUN).stdin(text)), given, "{text:?}");
    }
}

#[test]
fn a_body_with_control_characters_is_pinned_as_quoted_printable() {
    let out = Run::new(DRY_RUN)
        .args(["--subject", "pin"])
        .stdin(b"one\r.\r\ntwo\0\x1b\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "MAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\n"
    );
    let expected = "From: <a@example.com>\r\n\
        To: <b@example.com>\r\n\
        Subject: pin\r\n\
        Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
        Message-ID: <pinned@smtpsend.test>\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=\"utf-8\"\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        one=0D.\r\n\
        two=00=1B\r\n";
    assert_eq!(out.stdout, expected);
}

#[test]
fn a_large_body_file_is_streamed_not_held_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.txt");
    let text: String = (0..1_600_000).map(|i| format!("line {i:>16}\n")).collect();
    assert!(text.len() > 32 << 20);
    std::fs::write(&file, &text).unwrap();
    let server = Server::start_with(Script {
        capabilities: vec!["PIPELINING".into(), "SIZE".into()],
        ..Script::default()
    });
    let out = Run::new([
        "--to",
        "b@example.com",
        "--body-file",
        file.to_str().unwrap(),
    ])
    .server(&server)
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.peak_rss_kib() < 24 * 1024,
        "{} KiB for a {} MiB body",
        out.peak_rss_kib(),
        text.len() >> 20
    );
    let record = server.finish();
    let sent = record.only_completed();
    let size = sent.mail_params()[0].strip_prefix("SIZE=").unwrap();
    assert_eq!(size, sent.message.len().to_string(), "SIZE= is exact");
    let body = text.replace('\n', "\r\n");
    assert!(
        sent.message_text()
            .ends_with(&format!("7bit\r\n\r\n{body}"))
    );
}

#[test]
fn a_proc_file_that_says_it_is_empty_is_read_once() {
    // /proc files report a size of 0 and are generated when read.
    let version = std::fs::read("/proc/version").unwrap();
    assert!(!version.is_empty());
    let server = Server::start();
    let out = Run::new(["--to", "b@example.com", "--body-file", "/proc/version"])
        .server(&server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let message = MessageParser::default()
        .parse(&record.only_completed().message)
        .unwrap();
    let text = message.body_text(0).unwrap();
    assert_eq!(
        text.replace("\r\n", "\n"),
        String::from_utf8(version).unwrap()
    );
}

/// Text waiting on stdin while `--body` gives the text is not silently dropped: a warning
/// says so, and the message is the `--body` text (the data in a pipe, or in a file).
#[test]
fn stdin_with_data_beside_body_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piped.txt");
    std::fs::write(&file, "the log that was piped\n").unwrap();
    let (reader, mut writer) = std::io::pipe().unwrap();
    std::io::Write::write_all(&mut writer, b"the log that was piped\n").unwrap();
    drop(writer);
    let stdins: [std::process::Stdio; 2] =
        [std::fs::File::open(&file).unwrap().into(), reader.into()];
    for stdin in stdins {
        let server = Server::start();
        let out = Run::new(["--to", "ops@example.com", "--body", "build failed"])
            .server(&server)
            .stdin_from(stdin)
            .output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            out.stderr,
            "smtpsend: warning: stdin has data, which is ignored: the text comes from --body \
             (leave that out to send stdin as the text, or attach stdin with -a -)\n"
        );
        let record = server.finish();
        let message = MessageParser::default()
            .parse(&record.only_completed().message)
            .unwrap();
        assert_eq!(message.body_text(0).unwrap().trim_end(), "build failed");
    }
    // Stdin that goes into the message, or has nothing, gets no warning.
    let server = Server::start();
    let out = Run::new([
        "--to",
        "ops@example.com",
        "--body",
        "see the log",
        "-a",
        "-",
    ])
    .server(&server)
    .stdin_from(std::fs::File::open(&file).unwrap())
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let server = Server::start();
    let out = Run::new(["--to", "ops@example.com", "--body", "x"])
        .server(&server)
        .stdin_from(std::fs::File::open("/dev/null").unwrap())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
}

/// A composed message whose text was to come from stdin, when stdin had nothing, is sent
/// with an empty body and a note (as mailx does), not in silence.
#[test]
fn an_empty_stdin_body_is_noted() {
    let server = Server::start();
    let out = Run::new(["--to", "ops@example.com", "--subject", "backup done"])
        .server(&server)
        .stdin_from(std::fs::File::open("/dev/null").unwrap())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: note: the message body is empty (stdin had nothing to read)\n"
    );
    let record = server.finish();
    let message = MessageParser::default()
        .parse(&record.only_completed().message)
        .unwrap();
    assert_eq!(message.subject(), Some("backup done"));
}
