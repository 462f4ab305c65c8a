//! smtpsend as a drop-in sendmail: argv forms, -t with To/Cc/Bcc and Resent-*, -B, the
//! refused modes, and a link named `sendmail`.

use crate::support::*;

/// A message the way cron writes one: complete, with Date and Message-ID, 7-bit.
const CRON_MAIL: &[u8] = b"From: cron@example.com (Cron Daemon)\r\n\
To: user@example.com\r\n\
Subject: Cron <user@host> run-parts /etc/cron.daily\r\n\
Date: Mon, 2 Mar 2026 06:25:01 +0000\r\n\
Message-ID: <20260302062501.1234@host.example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
X-Cron-Env: <SHELL=/bin/sh>\r\n\
\r\n\
/etc/cron.daily/logrotate:\r\n\
.leading dot line\r\n\
done\r\n";

#[test]
fn cron_call_delivers_the_message_unchanged() {
    let server = Server::start();
    let out = Run::new([
        "-FCronDaemon",
        "-i",
        "-B8BITMIME",
        "-oem",
        "user@example.com",
    ])
    .server(&server)
    .stdin(CRON_MAIL)
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "cron@example.com");
    assert_eq!(transaction.recipients(), ["user@example.com"]);
    assert_eq!(transaction.message, CRON_MAIL);
    assert!(
        transaction.mail_params().contains(&"BODY=8BITMIME"),
        "{:?}",
        transaction.mail_params()
    );
}

#[test]
fn grouped_and_separate_sendmail_flags_read_recipients_from_the_header() {
    let message = b"From: a@example.com\nTo: to@example.com\nCc: \"C, c\" <cc@example.com>\n\
Bcc: hidden@example.com\nSubject: t\n\nhello\n";
    for flags in [
        vec!["-ti"],
        vec!["-oi", "-t"],
        vec!["-t", "-i", "-odi", "-oem"],
        vec!["--read-recipients"],
    ] {
        let server = Server::start();
        let addr = server.addr();
        let mut args = vec!["--server", addr.as_str()];
        args.extend(&flags);
        let out = Run::new(&args).stdin(message).output();
        assert_eq!(out.code, 0, "{flags:?}: {}", out.stderr);
        let record = server.finish();
        let transaction = record.only_completed();
        assert_eq!(
            transaction.recipients(),
            ["to@example.com", "cc@example.com", "hidden@example.com"],
            "{flags:?}"
        );
        let text = transaction.message_text();
        assert!(!text.contains("hidden@example.com"), "{flags:?}: {text}");
        assert!(
            !text.to_ascii_lowercase().contains("bcc"),
            "{flags:?}: {text}"
        );
        assert!(text.starts_with("From: a@example.com\r\nTo: to@example.com\r\n"));
    }
}

#[test]
fn recipient_arguments_are_added_to_the_header_recipients() {
    let server = Server::start();
    let out = Run::new(["-t", "extra@example.com", "TO@example.com"])
        .server(&server)
        .stdin(b"From: a@example.com\nTo: to@example.com\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(
        record.only_completed().recipients(),
        ["to@example.com", "extra@example.com"]
    );
}

#[test]
fn the_most_recent_resent_block_decides_the_recipients() {
    let message = b"Resent-From: fwd@example.com\r\n\
Resent-Date: Tue, 3 Mar 2026 10:00:00 +0000\r\n\
Resent-To: new@example.com\r\n\
Resent-Bcc: quiet@example.com\r\n\
Received: from relay by mx; Mon, 2 Mar 2026 10:00:00 +0000\r\n\
Resent-From: old@example.com\r\n\
Resent-To: older@example.com\r\n\
From: a@example.com\r\n\
To: original@example.com\r\n\
Bcc: secret@example.com\r\n\
Subject: forwarded\r\n\
\r\n\
body\r\n";
    let server = Server::start();
    let out = Run::new(["-t"]).server(&server).stdin(message).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(
        transaction.recipients(),
        ["new@example.com", "quiet@example.com"]
    );
    // The one who resends it is the sender (RFC 5322 §3.6.6).
    assert_eq!(transaction.sender(), "fwd@example.com");
    let text = transaction.message_text();
    assert!(!text.contains("quiet@example.com"), "{text}");
    assert!(!text.contains("secret@example.com"), "{text}");
    assert!(text.contains("Resent-To: older@example.com\r\n"), "{text}");
    assert!(text.contains("To: original@example.com\r\n"), "{text}");
}

#[test]
fn groups_and_comments_in_recipient_fields() {
    let server = Server::start();
    let out = Run::new(["-t"])
        .server(&server)
        .stdin(
            b"From: a@example.com\nTo: undisclosed-recipients:;\n\
Cc: Team: one@example.com (first), Two <two@example.com>;\n\
Bcc: three@example.com\n\nhi\n",
        )
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(
        record.only_completed().recipients(),
        ["one@example.com", "two@example.com", "three@example.com"]
    );
}

#[test]
fn no_recipients_with_t_is_a_data_error() {
    for (message, mention) in [
        (
            &b"From: a@example.com\nSubject: none\n\nhi\n"[..],
            "no To, Cc or Bcc",
        ),
        (
            &b"From: a@example.com\nTo: undisclosed-recipients:;\n\nhi\n"[..],
            "no To, Cc or Bcc",
        ),
        (
            &b"Resent-From: f@example.com\nFrom: a@example.com\nTo: b@example.com\n\nhi\n"[..],
            "Resent-*",
        ),
    ] {
        let server = Server::start();
        let out = Run::new(["-t"]).server(&server).stdin(message).output();
        assert_eq!(out.code, 65, "{}", out.stderr);
        assert!(out.stderr.contains("no recipients"), "{}", out.stderr);
        assert!(out.stderr.contains(mention), "{}", out.stderr);
        assert_eq!(server.finish().connection_count(), 0);
    }
}

#[test]
fn a_bad_address_in_a_recipient_field_names_the_field() {
    let out = Run::new(["--dry-run", "-t"])
        .stdin(b"From: a@example.com\nCc: not an address\n\nhi\n")
        .output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    assert!(out.stderr.contains("Cc field"), "{}", out.stderr);
}

#[test]
fn body_type_7bit_refuses_8bit_data_and_declares_nothing() {
    let server = Server::start();
    let addr = server.addr();
    let out = Run::new(["-B", "7BIT", "b@example.com"])
        .server(&addr)
        .stdin("Subject: x\n\nGrüße\n".as_bytes())
        .output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    assert!(out.stderr.contains("8-bit"), "{}", out.stderr);
    assert_eq!(server.finish().connection_count(), 0);

    let server = Server::start();
    let addr = server.addr();
    let out = Run::new(["-B7bit", "b@example.com"])
        .server(&addr)
        .stdin(b"Subject: x\n\nplain\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let params = record.only_completed().mail_params();
    assert!(!params.iter().any(|p| p.starts_with("BODY=")), "{params:?}");
}

#[test]
fn daemon_modes_exit_64_saying_what_is_supported() {
    for mode in [&["-bs"][..], &["-bd"], &["-bt"], &["-b", "s"]] {
        let out = Run::new(mode).output();
        assert_eq!(out.code, 64, "{mode:?}: {}", out.stderr);
        assert!(out.stderr.contains("not supported"), "{}", out.stderr);
        assert!(out.stderr.contains("-bm"), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
}

#[test]
fn v_prints_the_transcript_and_bm_is_the_default_mode() {
    let server = Server::start();
    let out = Run::new(["-v", "-bm", "-f", "a@example.com", "b@example.com"])
        .server(&server)
        .stdin(b"Subject: x\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("send: 'MAIL FROM:<a@example.com>"),
        "{}",
        out.stderr
    );
    server.finish();
}

#[test]
fn dsn_options_are_checked_and_accepted() {
    let server = Server::start();
    let out = Run::new([
        "-N",
        "failure,delay",
        "-R",
        "hdrs",
        "-V",
        "job-17",
        "b@example.com",
    ])
    .server(&server)
    .stdin(b"Subject: x\n\nhi\n")
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);

    let out = Run::new(["-N", "sometimes", "b@example.com"]).output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(out.stderr.contains("NEVER"), "{}", out.stderr);
}

#[test]
fn double_dash_ends_the_options() {
    let server = Server::start();
    let out = Run::new(["-oi", "--", "b@example.com"])
        .server(&server)
        .stdin(b"From: a@example.com\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        server.finish().only_completed().recipients(),
        ["b@example.com"]
    );
    let out = Run::new(["--dry-run", "--", "-t"])
        .stdin(b"From: a@example.com\n\nhi\n")
        .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(out.stderr.contains("\"-t\""), "{}", out.stderr);
}

#[test]
fn called_through_a_link_named_sendmail_it_behaves_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("sendmail");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_smtpsend"), &link).unwrap();
    let server = Server::start();
    let out = Run::new(["-FCronDaemon", "-i", "-oem", "-t"])
        .program(&link)
        .server(&server)
        .stdin(CRON_MAIL)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.recipients(), ["user@example.com"]);
    assert_eq!(transaction.message, CRON_MAIL);

    let help = Run::new(["--version"]).program(&link).output();
    assert_eq!(
        help.stdout.trim(),
        format!("smtpsend {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_message_saved_from_an_mbox_loses_its_from_separator_line() {
    let message = b"From alice@example.com Mon Nov 23 10:00:00 2026\n\
From: alice@example.com\nTo: b@example.com\nSubject: mbox\n\nbody\n";
    let server = Server::start();
    let out = Run::new(["-t"]).server(&server).stdin(message).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "alice@example.com");
    assert_eq!(transaction.recipients(), ["b@example.com"]);
    let text = transaction.message_text();
    assert!(
        text.starts_with("From: alice@example.com\r\nTo: b@example.com\r\n"),
        "{text}"
    );
    assert!(!text.contains("From alice@"), "{text}");
}

#[test]
fn cron_from_root_does_not_become_an_unqualified_envelope_sender() {
    // Cron writes `From: root (Cron Daemon)` and mails a bare user name.
    let message = b"From: root (Cron Daemon)\nTo: user\nSubject: Cron <root@host> true\n\nok\n";
    let server = Server::start();
    let out = Run::new(["-FCronDaemon", "-i", "-oem", "user"])
        .server(&server)
        .stdin(message)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out_qualified = Run::new(["--qualify-domain", "example.org", "-i", "user"])
        .server(&server)
        .stdin(message)
        .output();
    assert_eq!(out_qualified.code, 0, "{}", out_qualified.stderr);
    let record = server.finish();
    let completed = record.completed();
    // Without a domain: the default sender (login@host), never `root`.
    let sender = completed[0].sender();
    assert!(sender.contains('@') && sender != "root", "{sender}");
    assert_eq!(completed[0].recipients(), ["user"]);
    // With one, the From field's user qualified.
    assert_eq!(completed[1].sender(), "root@example.org");
    assert_eq!(completed[1].recipients(), ["user@example.org"]);
    // The message itself is not changed either way.
    assert!(
        completed[0]
            .message_text()
            .starts_with("From: root (Cron Daemon)\r\n")
    );
}
