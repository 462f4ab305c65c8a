//! Whole outputs that are an interface, compared in full with tests/golden/: the `--dry-run`
//! text (pinned Date, Message-ID and boundaries), the `--json` report of a message sent,
//! sent in part, queued and failed, `--server-info` as text and JSON, and the `-d`
//! transcript of a plain send. Each file holds the command, the exit code, stdout and
//! stderr, so that any change to what a user or a script sees shows in review as a diff of
//! these files. The finer assertions on the same outputs stay in the other modules.
//!
//! What differs from run to run is masked: the test server's port (`PORT`), temporary
//! paths (`$TMP`), the outbox id (`ID`), the certificate fingerprint (`FINGERPRINT`) and
//! the TLS version and cipher, which depend on the TLS library. Each mask replaces the exact
//! value the test knows, so a wrong value stays visible.
//!
//! After an intended change: `SMTPSEND_REGENERATE_GOLDEN=1 cargo test --test integration
//! golden::`, then review and commit `git diff tests/golden/`.

use crate::support::*;

/// What a user sees of a run: the command, its exit code, stdout and stderr (each marked
/// when it does not end with a line end, as diff does).
fn shown(command: &str, out: &Output) -> String {
    let block = |text: &str| match text.is_empty() || text.ends_with('\n') {
        true => text.to_owned(),
        false => format!("{text}\n\\ no line end\n"),
    };
    format!(
        "$ {command}\nexit {}\n--- stdout\n{}--- stderr\n{}",
        out.code,
        block(&out.stdout),
        block(&out.stderr)
    )
}

/// Runs `run` and returns what it showed, with the server's port masked.
fn shown_against(run: Run, server: &Server) -> String {
    let command = run.command_line();
    let out = run.output();
    mask(
        &shown(&command, &out),
        &[(&format!("127.0.0.1:{}", server.port()), "127.0.0.1:PORT")],
    )
}

/// `text` with the rest of each line that starts with `prefix` replaced by `masked`, after
/// checking that it starts with `expected`.
fn mask_value(text: &str, prefix: &str, expected: &str, masked: &str) -> String {
    let mut found = false;
    let lines: Vec<String> = text
        .split_inclusive('\n')
        .map(|line| match line.strip_prefix(prefix) {
            Some(value) => {
                assert!(value.starts_with(expected), "{prefix}{value}");
                found = true;
                format!("{prefix}{masked}\n")
            }
            None => line.to_owned(),
        })
        .collect();
    assert!(found, "no line starts with {prefix:?}:\n{text}");
    lines.concat()
}

#[test]
fn dry_run_of_a_composed_message() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("note.html");
    std::fs::write(&html, "<p>Grüße, <b>Welt</b></p>\n").unwrap();
    let csv = dir.path().join("report.csv");
    std::fs::write(&csv, "day,count\nmonday,3\n").unwrap();
    let run = Run::new([
        "--dry-run",
        "--from",
        "Jürgen Groß <a@example.com>",
        "--to",
        "b@example.com, \"Doe, Jane\" <jane@example.com>",
        "--cc",
        "c@example.com",
        "--bcc",
        "hidden@example.com",
        "--reply-to",
        "replies@example.com",
        "--subject",
        "Grüße – Übersicht",
        "-H",
        "X-Build: 1432",
        "--body",
        "The report is attached.\n.A line with a dot.\n",
    ])
    .arg("--html")
    .arg(&html)
    .arg("-a")
    .arg(&csv);
    let command = run.command_line();
    let out = run.output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = dir.path().to_str().unwrap();
    assert_golden(
        "dry-run-composed.txt",
        &mask(&shown(&command, &out), &[(dir, "$TMP")]),
    );
}

#[test]
fn dry_run_of_a_complete_message() {
    let run = Run::new(["--dry-run", "-t", "-f", "a@example.com"]).stdin(
        "From: Alice <a@example.com>\nTo: b@example.com\nBcc: hidden@example.com\n\
         Subject: complete\n\n.leading dot\nno line end",
    );
    let command = run.command_line();
    let out = run.output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_golden("dry-run-complete.txt", &shown(&command, &out));
}

/// The report of tests/data/report as the closing note of issue 16 sends it: Markdown with
/// its chart inline, stdin attached under a name, a reply in a thread, high priority.
#[test]
fn dry_run_of_a_markdown_report_with_an_inline_chart_and_stdin_attached() {
    let run = Run::new([
        "--dry-run",
        "--from",
        "ci@example.com",
        "--to",
        "ops@example.com",
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
        "<build-1431@ci.example.com>",
        "--priority",
        "high",
    ])
    .cwd(crate::structure::report_dir())
    .stdin(" src/main.rs | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)\n");
    let command = run.command_line();
    let out = run.output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_golden("dry-run-report.txt", &shown(&command, &out));
}

/// The HTML the fixed report renders to, decoded from its part: reviewed as HTML, and the page
/// the interop suite shows in a browser.
#[test]
fn markdown_report_renders_as_committed() {
    let out = Run::new([
        "--dry-run",
        "--to",
        "ops@example.com",
        "--markdown",
        "report.md",
    ])
    .cwd(crate::structure::report_dir())
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let message = mail_parser::MessageParser::default()
        .parse(&out.stdout_bytes)
        .unwrap();
    let html = message.body_html(0).unwrap().replace("\r\n", "\n");
    assert_golden("markdown-report.html", &html);
}

/// `--dry-run --json`: the envelope, the Message-ID and the message in base64.
#[test]
fn dry_run_as_json() {
    let run = Run::new(["--dry-run", "--json", "--from", "a@example.com"])
        .args([
            "--to",
            "b@example.com",
            "--bcc",
            "c@example.com",
            "--subject",
            "json",
        ])
        .args(["--body", "hello\n"]);
    let command = run.command_line();
    let out = run.output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_golden("dry-run-json.txt", &shown(&command, &out));
}

#[test]
fn json_of_a_message_sent() {
    let server = Server::start();
    let run = Run::new([
        "--to",
        "b@example.com",
        "--subject",
        "hi",
        "--body",
        "hello",
    ])
    .arg("--json")
    .server(&server)
    .sender("a@example.com");
    assert_golden("json-sent.txt", &shown_against(run, &server));
    assert_eq!(server.finish().completed().len(), 1);
}

#[test]
fn json_of_a_message_sent_to_some_recipients() {
    let server = Server::builder()
        .on_rcpt("two", Action::reply(550, "5.1.1 no such user"))
        .start();
    let run = Run::new(["--to", "one@example.com", "--to", "two@example.com"])
        .args(["--body", "hello", "--partial", "--json"])
        .server(&server)
        .sender("a@example.com");
    assert_golden("json-partial.txt", &shown_against(run, &server));
    assert_eq!(
        server.finish().only_completed().accepted,
        ["one@example.com"]
    );
}

#[test]
fn json_of_a_message_queued() {
    let home = Home::new();
    let server = Server::builder()
        .on(Verb::Rcpt, Action::reply(451, "4.3.0 try later"))
        .start();
    let run = home
        .run(["--to", "b@example.com", "--body", "hello", "--json"])
        .args(["--queue", "on-failure"])
        .server(&server)
        .sender("a@example.com");
    let command = run.command_line();
    let out = run.output();
    let id = queued_id(&out.stderr);
    assert_eq!(home.ids(), [id.as_str()]);
    let shown = mask(
        &shown(&command, &out),
        &[
            (&format!("127.0.0.1:{}", server.port()), "127.0.0.1:PORT"),
            (&id, "ID"),
        ],
    );
    assert_golden("json-queued.txt", &shown);
    assert!(server.finish().completed().is_empty());
}

#[test]
fn json_of_a_message_refused() {
    let server = Server::builder()
        .on(Verb::Mail, Action::reply(553, "5.7.1 sender rejected"))
        .start();
    let run = Run::new(["--to", "b@example.com", "--body", "hello", "--json"])
        .server(&server)
        .sender("a@example.com");
    assert_golden("json-failed.txt", &shown_against(run, &server));
    assert!(server.finish().completed().is_empty());
}

#[test]
fn server_info_of_a_plain_server() {
    let server = Server::builder()
        .capabilities(&[
            "PIPELINING",
            "SIZE 10240000",
            "8BITMIME",
            "DSN",
            "ENHANCEDSTATUSCODES",
            "AUTH PLAIN LOGIN",
            "X-FROBNICATE 3",
        ])
        .start();
    let run = Run::new(["--server-info"]).server(&server);
    assert_golden("server-info-plain.txt", &shown_against(run, &server));
    let run = Run::new(["--server-info", "--json"]).server(&server);
    assert_golden("server-info-plain-json.txt", &shown_against(run, &server));
}

/// A STARTTLS server that offers more once TLS is up, and the masks for its session.
fn tls_server_info(json: bool) -> String {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .capabilities(&["PIPELINING", "SIZE 1000000"])
        .starttls(certs.identity.clone())
        .capabilities_after_tls(&["PIPELINING", "SIZE 1000000", "AUTH PLAIN", "SMTPUTF8"])
        .start();
    let mut run = Run::new(["--server-info", "--tls-ca-file", certs.ca_file()]).server(&server);
    if json {
        run = run.arg("--json");
    }
    let shown = mask(
        &shown_against(run, &server),
        &[
            (certs.ca_file(), "$TMP/ca.pem"),
            (&certs.server_fingerprint(), "FINGERPRINT"),
        ],
    );
    match json {
        false => {
            let shown = mask_value(&shown, "  version     ", "TLSv1.", "<TLS version>");
            mask_value(&shown, "  cipher      ", "TLS_", "<cipher>")
        }
        true => {
            let shown = mask_value(
                &shown,
                "    \"version\": ",
                "\"TLSv1.",
                "\"<TLS version>\",",
            );
            mask_value(&shown, "    \"cipher\": ", "\"TLS_", "\"<cipher>\",")
        }
    }
}

#[test]
fn server_info_with_starttls() {
    assert_golden("server-info-starttls.txt", &tls_server_info(false));
}

#[test]
fn server_info_with_starttls_as_json() {
    assert_golden("server-info-starttls-json.txt", &tls_server_info(true));
}

#[test]
fn transcript_of_a_plain_send() {
    let server = Server::start();
    let run = Run::new(["-d", "--ehlo-name", "client.example.org"])
        .args([
            "--to",
            "b@example.com",
            "--subject",
            "hi",
            "--body",
            "hello",
        ])
        .server(&server)
        .sender("a@example.com");
    assert_golden("transcript.txt", &shown_against(run, &server));
    assert_eq!(server.finish().completed().len(), 1);
}

#[test]
fn transcript_of_a_send_with_a_refused_recipient() {
    let server = Server::builder()
        .on_rcpt("two", Action::reply(550, "5.1.1 no such user"))
        .start();
    let run = Run::new(["-d", "--ehlo-name", "client.example.org"])
        .args([
            "--to",
            "one@example.com",
            "--to",
            "two@example.com",
            "--body",
            "hello",
        ])
        .server(&server)
        .sender("a@example.com");
    let shown = shown_against(run, &server);
    assert_golden("transcript-refused.txt", &shown);
    assert!(server.finish().completed().is_empty());
}
