//! Addresses as users give them: bare user names (cron's `root`, LMTP's `jane`) and
//! `--qualify-domain`, address fields given with `-H`, error texts that say what is wrong,
//! the sender `--show-config` reports, and msmtp's `-a ACCOUNT` met by `--attach`.

use crate::support::*;

/// A message as cron writes one for its default recipient: `To: root`, no From.
const CRON_MAIL: &[u8] = b"To: root\r\n\
Subject: Cron <root@vm> run-parts /etc/cron.hourly\r\n\
\r\n\
/etc/cron.hourly/backup: done\r\n";

/// How cron calls sendmail for that message.
const CRON_CALL: [&str; 5] = ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"];

#[test]
fn cron_mail_to_a_bare_user_name_goes_unqualified_and_unchanged() {
    let server = Server::start();
    let out = Run::new(CRON_CALL)
        .server(&server)
        .stdin(CRON_MAIL)
        .env("LOGNAME", "root")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.recipients(), ["root"]);
    assert!(
        transaction.sender().starts_with("root@"),
        "{}",
        transaction.sender()
    );
    let text = transaction.message_text();
    assert!(text.starts_with("To: root\r\nSubject: Cron"), "{text}");
}

#[test]
fn qualify_domain_qualifies_the_envelope_but_not_a_complete_message() {
    let server = Server::start();
    let out = Run::new(CRON_CALL)
        .server(&server)
        .stdin(CRON_MAIL)
        .envs(&[
            ("LOGNAME", "root"),
            ("SMTPSEND_QUALIFY_DOMAIN", "example.com"),
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.recipients(), ["root@example.com"]);
    assert_eq!(transaction.sender(), "root@example.com");
    let text = transaction.message_text();
    assert!(text.starts_with("To: root\r\n"), "{text}");
    // The From field smtpsend adds is its own, so it is qualified.
    assert!(
        text.contains("From: \"CronDaemon\" <root@example.com>\r\n"),
        "{text}"
    );
}

#[test]
fn read_recipients_takes_a_bare_user_name_from_the_to_field() {
    let server = Server::start();
    let out = Run::new(["-t", "-f", "root"])
        .server(&server)
        .stdin(CRON_MAIL)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "root");
    assert_eq!(transaction.recipients(), ["root"]);
}

#[test]
fn the_readme_lmtp_example_delivers_to_bare_user_names_over_a_unix_socket() {
    let server = Server::builder().lmtp().start();
    let relay = UnixRelay::start(&server.addr());
    let socket = relay.arg();
    let out = Run::new([
        "--lmtp",
        "--server",
        &socket,
        "-f",
        "root@example.com",
        "--to",
        "jane",
        "--to",
        "joe",
    ])
    .stdin(b"disk usage report\n")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.recipients(), ["jane", "joe"]);
    assert!(transaction.message_text().contains("To: <jane>, <joe>\r\n"));
}

#[test]
fn composed_headers_and_envelope_are_qualified_alike() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "[accounts.home]\nqualify-domain = \"home.example\"\n",
    )
    .unwrap();
    let config_path = config.path().display().to_string();
    let out = Run::new([
        "--config",
        &config_path,
        "--account",
        "home",
        "--dry-run",
        "--to",
        "jane",
        "--cc",
        "Joe Bloggs <joe>",
        "--bcc",
        "audit",
        "--body",
        "hi",
    ])
    .env("LOGNAME", "backup")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "MAIL FROM:<backup@home.example>\nRCPT TO:<jane@home.example>\n\
             RCPT TO:<joe@home.example>\nRCPT TO:<audit@home.example>\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("To: <jane@home.example>\r\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Cc: \"Joe Bloggs\" <joe@home.example>\r\n"),
        "{}",
        out.stdout
    );
    let message = out
        .stdout
        .split_once("\n\n")
        .map_or("", |(_, message)| message);
    assert!(!message.contains("audit"), "{message}");
}

#[test]
fn a_bad_qualify_domain_is_a_usage_error() {
    let out = Run::new([
        "--dry-run",
        "--qualify-domain",
        "@example.com",
        "--to",
        "jane",
        "--body",
        "x",
    ])
    .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains("--qualify-domain \"@example.com\""),
        "{}",
        out.stderr
    );
}

#[test]
fn header_address_fields_encode_names_and_keep_addresses_plain() {
    let out = Run::new([
        "--dry-run",
        "-f",
        "a@example.com",
        "--to",
        "b@example.com",
        "-H",
        "Reply-To: Jörg Müller <j@example.com>",
        "-H",
        "Mail-Followup-To: \"Doe, Jane\" <jane@example.com>, root",
        "--body",
        "x",
    ])
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Reply-To: =?utf-8?B?SsO2cmcgTcO8bGxlcg==?= <j@example.com>\r\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Mail-Followup-To: \"Doe, Jane\" <jane@example.com>, <root>\r\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("example.com>?="), "{}", out.stdout);
}

#[test]
fn a_bad_address_in_a_header_flag_is_refused() {
    let out = Run::new([
        "--dry-run",
        "--to",
        "b@example.com",
        "-H",
        "Reply-To: j@",
        "--body",
        "x",
    ])
    .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--header Reply-To: invalid address \"j@\""),
        "{}",
        out.stderr
    );
}

#[test]
fn reserved_header_hints_fit_the_header() {
    let refused = |header: &str| {
        let out = Run::new([
            "--dry-run",
            "--to",
            "b@example.com",
            "-H",
            header,
            "--body",
            "x",
        ])
        .output();
        assert_eq!(out.code, 64, "{}", out.stderr);
        out.stderr
    };
    let content_type = refused("Content-Type: text/html");
    assert!(!content_type.contains("--bcc"), "{content_type}");
    assert!(content_type.contains("--html"), "{content_type}");
    assert!(content_type.contains("--raw"), "{content_type}");
    let encoding = refused("Content-Transfer-Encoding: base64");
    assert!(!encoding.contains("--bcc"), "{encoding}");
    let bcc = refused("Bcc: c@example.com");
    assert!(bcc.contains("use --bcc"), "{bcc}");
}

#[test]
fn address_errors_say_what_is_wrong_in_plain_words() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["-f", "a@example.com, c@example.com"],
            "invalid sender \"a@example.com, c@example.com\": only one sender address is allowed",
        ),
        (
            &["--to", "Doe, Jane <j@example.com>"],
            "quote it: \"Doe, Jane\" <j@example.com>",
        ),
        (
            &["--to", "jane@"],
            "invalid address \"jane@\": there is nothing after the @ (the domain is missing)",
        ),
        (
            &["--to", "@example.com"],
            "there is nothing before the @ (the user name is missing)",
        ),
        (
            &["--to", "jane..doe@example.com"],
            "the user name \"jane..doe\" starts or ends with a dot, or has two dots in a row",
        ),
        (
            &["--to", "jane@exa mple.com"],
            "it contains a space; an address has none",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["--dry-run", "--body", "x"];
        args.extend_from_slice(flags);
        if flags[0] == "-f" {
            args.extend(["--to", "b@example.com"]);
        }
        let out = Run::new(&args).output();
        assert_eq!(out.code, 64, "{flags:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{flags:?}: {}", out.stderr);
        for leaked in [
            "Missing domain or user",
            "Invalid email",
            "control characters",
        ] {
            assert!(!out.stderr.contains(leaked), "{flags:?}: {}", out.stderr);
        }
    }
}

#[test]
fn show_config_names_the_sender_a_wildcard_account_really_uses() {
    let config = tempfile::NamedTempFile::new().unwrap();
    let server = Server::start();
    std::fs::write(
        config.path(),
        format!(
            "[accounts.work]\nserver = \"{}\"\nfrom = \"*@example.com\"\n",
            server.addr()
        ),
    )
    .unwrap();
    let config_path = config.path().display().to_string();
    let args = ["--config", &config_path, "--account", "work"];
    let env = [("LOGNAME", "jane")];
    let shown = Run::new([&args[..], &["--show-config"]].concat())
        .envs(&env)
        .output();
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let from_line = shown
        .stdout
        .lines()
        .find(|line| line.starts_with("from "))
        .unwrap_or_default()
        .to_string();
    assert!(!from_line.contains("from            *@"), "{from_line}");
    assert!(
        from_line.contains("the from *@example.com of account work only selects the account"),
        "{from_line}"
    );
    let sent = Run::new([&args[..], &["--to", "b@example.com", "--body", "x"]].concat())
        .envs(&env)
        .output();
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let record = server.finish();
    let sender = record.only_completed().sender().to_string();
    assert!(sender.starts_with("jane@"), "{sender}");
    let shown_value = from_line.split_whitespace().nth(1).unwrap_or_default();
    assert_eq!(shown_value, sender, "{from_line}");
}

#[test]
fn a_bare_sender_gives_the_message_id_this_hosts_name() {
    let out = Run::new(["--dry-run", "-f", "root", "--to", "jane", "--body", "x"])
        .unpinned()
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let expected = format!("@{}>", host.trim());
    let line = out
        .stdout
        .lines()
        .find(|line| line.starts_with("Message-ID: "))
        .unwrap_or_default();
    assert!(line.ends_with(&expected), "{line:?}, want {expected:?}");
}

#[test]
fn msmtp_account_option_in_a_sendmail_call_is_refused_with_a_hint() {
    let server = Server::start();
    // The current directory is the home, where a file named `work` may be.
    let home = Home::new();
    home.write_config(
        &format!(
            "default = \"work\"\n[accounts.work]\nserver = \"{}\"\n",
            server.addr()
        ),
        0o644,
    );
    let message = b"From: a@example.com\nTo: bob@example.com\nBcc: secret@example.com\n\nhi\n";
    let call = ["-a", "work", "-oi", "--", "bob@example.com"];

    // No file named `work`: still refused, with the hint.
    let out = home.run(call).cwd(home.path()).stdin(message).output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("to use account work, say --account work"),
        "{}",
        out.stderr
    );

    // A file named `work` exists: the message must not go out as a body plus attachment.
    std::fs::write(home.join("work"), "notes\n").unwrap();
    let out = home.run(call).cwd(home.path()).stdin(message).output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("to use account work, say --account work"),
        "{}",
        out.stderr
    );

    // Outside a sendmail call, -a attaches the file as before.
    let out = home
        .run([
            "-a",
            "work",
            "--to",
            "bob@example.com",
            "--body",
            "see attached",
        ])
        .cwd(home.path())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert!(
        transaction
            .message_text()
            .contains("Content-Disposition: attachment; filename=\"work\""),
        "{}",
        transaction.message_text()
    );
}

#[test]
fn a_missing_attachment_named_like_an_account_gets_the_hint() {
    let home = Home::with_config("[accounts.work]\nserver = \"127.0.0.1:9\"\n", 0o644);
    let out = home
        .run(["-a", "work", "--to", "bob@example.com", "--body", "x"])
        .cwd(home.path())
        .output();
    assert_eq!(out.code, 66, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot read attachment work: No such file or directory (to use account work, say --account work)"),
        "{}",
        out.stderr
    );
}
