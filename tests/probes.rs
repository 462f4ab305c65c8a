//! The probes as a user sees them: --verify and --expn answers and exit codes, --server-info
//! lines (with real STARTTLS), --check round trips and failures, and probes refusing message
//! options before anything connects.

use crate::support::*;

/// Commands the server saw, without the EHLO argument.
fn verbs(record: &Record) -> Vec<String> {
    record
        .commands()
        .iter()
        .map(|c| c.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn verify_prints_the_answer_and_exits_by_its_code() {
    for (code, text, exit) in [
        (250, "2.1.5 Jane Doe <jane@example.com>", 0),
        (
            251,
            "2.1.5 User not local; will forward to <j@elsewhere.example>",
            0,
        ),
        (252, "2.0.0 Cannot VRFY user, but will accept message", 0),
        (550, "5.1.1 No such user here", 67),
        (
            551,
            "5.1.6 User not local; please try <j@elsewhere.example>",
            67,
        ),
        (553, "5.1.3 Mailbox name not allowed", 67),
        (502, "5.5.1 VRFY command is disabled", 69),
        (500, "5.5.2 unrecognised", 69),
        (450, "4.3.2 try again later", 75),
    ] {
        let server = Server::builder()
            .on(Verb::Vrfy, Action::reply(code, text))
            .start();
        let out = Run::new(["--verify", "jane@example.com"])
            .server(&server)
            .output();
        let record = server.finish();
        assert_eq!(out.code, exit, "{code}: {}", out.stderr);
        assert_eq!(
            verbs(&record),
            ["EHLO", "VRFY", "QUIT"],
            "{code}: {:?}",
            record.commands()
        );
        assert_eq!(record.commands()[1], "VRFY jane@example.com");
        assert!(record.transactions().is_empty(), "{code}: a MAIL was sent");
        if exit == 0 {
            assert_eq!(out.stdout, format!("{code} {text}\n"));
            assert_eq!(out.stderr, "");
        } else {
            assert!(
                out.stderr.starts_with("smtpsend: ") && out.stderr.contains(&format!("{code} ")),
                "{code}: {}",
                out.stderr
            );
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        }
    }
}

#[test]
fn verify_json_carries_the_reply_and_exit_code() {
    let server = Server::builder()
        .on(Verb::Vrfy, Action::reply(550, "5.1.1 No such user here"))
        .start();
    let out = Run::new(["--verify", "gone@example.com", "--json"])
        .server(&server)
        .output();
    server.finish();
    assert_eq!(out.code, 67, "{}", out.stderr);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(document["probe"], "verify");
    assert_eq!(document["status"], "failed");
    assert_eq!(document["exit_code"], 67);
    assert_eq!(document["query"], "gone@example.com");
    assert_eq!(document["reply"]["code"], 550);
    assert_eq!(document["reply"]["enhanced_code"], "5.1.1");
}

#[test]
fn expn_prints_each_member_on_its_own_line() {
    let server = Server::builder()
        .on(
            Verb::Expn,
            Action::reply(
                250,
                "2.1.5 Jane Doe <jane@example.com>\n2.1.5 <joe@example.com>\n2.1.5 Ops Pager <pager@example.net>",
            ),
        )
        .start();
    let out = Run::new(["--expn", "staff"]).server(&server).output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Jane Doe <jane@example.com>\n<joe@example.com>\nOps Pager <pager@example.net>\n"
    );
    assert_eq!(record.commands()[1], "EXPN staff");
}

#[test]
fn expn_of_an_unknown_list_exits_67_and_a_refused_expn_69() {
    for (code, exit) in [(550, 67), (502, 69)] {
        let server = Server::builder()
            .on(Verb::Expn, Action::reply(code, "5.0.0 no"))
            .start();
        let out = Run::new(["--expn", "staff"]).server(&server).output();
        server.finish();
        assert_eq!(out.code, exit, "{code}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr.contains(&format!("{code} 5.0.0 no")),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn server_info_explains_every_capability_without_logging_in() {
    let server = Server::builder()
        .capabilities(&[
            "PIPELINING",
            "SIZE 10240000",
            "8BITMIME",
            "DSN",
            "ENHANCEDSTATUSCODES",
            "AUTH PLAIN LOGIN",
            "X-FROBNICATE 3",
            "",
        ])
        .start();
    let out = Run::new(["--server-info"]).server(&server).output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = &out.stdout;
    for expected in [
        "greeting    220 test.local ESMTP\n",
        "tls         not used (the server does not offer STARTTLS)\n",
        "  PIPELINING            commands may be sent in groups (RFC 2920)\n",
        "  SIZE 10240000         largest message the server takes: 9.8 MiB\n",
        "  DSN                   delivery status notifications on request (RFC 3461)\n",
        "  AUTH PLAIN LOGIN      login mechanisms (RFC 4954): PLAIN, LOGIN\n",
        "  X-FROBNICATE 3        unknown to smtpsend\n",
        "size limit  9.8 MiB (10240000 bytes)\n",
        "login       PLAIN, LOGIN\n",
        "starttls    not offered\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(verbs(&record), ["EHLO", "QUIT"], "no AUTH, no MAIL");
    assert_eq!(
        text.matches("unknown to smtpsend").count(),
        1,
        "a blank capability line (smtp-sink sends one) was explained:\n{text}"
    );
}

#[test]
fn server_info_with_starttls_shows_the_tls_session_and_what_changed() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .capabilities(&["PIPELINING", "SIZE 1000000"])
        .starttls(certs.identity.clone())
        .capabilities_after_tls(&["PIPELINING", "SIZE 1000000", "AUTH PLAIN", "SMTPUTF8"])
        .start();
    let out = Run::new(["--server-info", "--tls-ca-file", certs.ca_file(), "--json"])
        .server(&server)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(record.connections[0].tls, "the probe did not use STARTTLS");
    let info: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(info["tls_mode"], "starttls");
    assert!(
        info["tls"]["version"]
            .as_str()
            .unwrap()
            .starts_with("TLSv1."),
        "{info}"
    );
    assert_eq!(info["tls"]["subject"], "CN=localhost");
    assert_eq!(info["tls"]["issuer"], "CN=smtpsend test CA");
    assert_eq!(info["tls"]["verified"], true);
    assert_eq!(info["tls"]["sha256"], certs.server_fingerprint());
    assert_eq!(
        info["before_tls"]["appeared"],
        serde_json::json!(["AUTH PLAIN", "SMTPUTF8"])
    );
    assert_eq!(
        info["before_tls"]["disappeared"],
        serde_json::json!(["STARTTLS"])
    );
    assert_eq!(info["auth_mechanisms"], serde_json::json!(["PLAIN"]));

    // The same as text.
    let server = Server::builder()
        .capabilities(&["PIPELINING"])
        .starttls(certs.identity.clone())
        .capabilities_after_tls(&["PIPELINING", "AUTH PLAIN"])
        .start();
    let out = Run::new(["--server-info", "--tls-ca-file", certs.ca_file()])
        .server(&server)
        .output();
    server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = &out.stdout;
    for expected in [
        "tls         STARTTLS\n",
        "EHLO before STARTTLS:\n  PIPELINING   commands may be sent in groups (RFC 2920)\n  STARTTLS     the session can be encrypted with STARTTLS (RFC 3207)\n",
        "  subject     CN=localhost\n",
        "  issuer      CN=smtpsend test CA\n",
        &format!("  sha256      {}\n", certs.server_fingerprint()),
        "  verified    yes (trusted issuer, matching host name)\n",
        "EHLO after STARTTLS:\n",
        "  AUTH PLAIN   login mechanisms (RFC 4954): PLAIN\n",
        "  appeared after STARTTLS: AUTH PLAIN\n  gone after STARTTLS: STARTTLS\n",
        "starttls    offered, used\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(text.contains("  version     TLSv1."), "{text}");
    assert!(text.contains("  not after   "), "{text}");
}

#[test]
fn server_info_with_an_untrusted_certificate_exits_69() {
    let certs = TestCerts::localhost();
    let server = Server::builder().starttls(certs.identity.clone()).start();
    let out = Run::new(["--server-info"]).server(&server).output();
    server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(out.stderr.contains("not trusted"), "{}", out.stderr);
}

#[test]
fn check_round_trip_exits_0() {
    let server = Server::start();
    let out = Run::new(["--check"]).server(&server).output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(verbs(&record), ["EHLO", "NOOP", "QUIT"]);
    assert!(
        out.stdout
            .ends_with(": ok (greeting 220, EHLO ok, NOOP 250, QUIT 221)\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_failures_have_their_exit_codes() {
    let out = Run::new(["--check"]).server(&refused_addr()).output();
    assert_eq!(out.code, 75, "refused connection: {}", out.stderr);

    for (builder, exit, what) in [
        (
            Server::builder().greeting(554, "5.3.2 no service"),
            69,
            "554 greeting",
        ),
        (
            Server::builder().on(Verb::Noop, Action::reply(500, "5.5.2 what")),
            69,
            "NOOP refused",
        ),
        (
            Server::builder().on(Verb::Noop, Action::reply_then_hang_up(421, "4.3.2 closing")),
            75,
            "421 to NOOP",
        ),
        (
            Server::builder().on(Verb::Noop, Action::HangUp),
            75,
            "hang-up",
        ),
    ] {
        let server = builder.start();
        let out = Run::new(["--check"]).server(&server).output();
        server.finish();
        assert_eq!(out.code, exit, "{what}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{what}");
        assert_eq!(out.stderr.lines().count(), 1, "{what}: {}", out.stderr);
    }
}

#[test]
fn check_logs_in_when_a_user_is_given_and_a_wrong_password_exits_77() {
    let server = Server::builder()
        .auth("PLAIN", "alice", "right-password")
        .start();
    let out = Run::new(["--check", "--user", "alice"])
        .server(&server)
        .env("SMTPSEND_PASSWORD", "right-password")
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        record.connections[0].authenticated_as,
        Some(("PLAIN".to_string(), "alice".to_string()))
    );
    assert!(
        out.stdout.contains("logged in with PLAIN"),
        "{}",
        out.stdout
    );

    let server = Server::builder()
        .auth("PLAIN", "alice", "right-password")
        .start();
    let out = Run::new(["--check", "--user", "alice"])
        .server(&server)
        .env("SMTPSEND_PASSWORD", "wrong")
        .output();
    server.finish();
    assert_eq!(out.code, 77, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: authentication as alice (PLAIN) refused: 535 5.7.8 Authentication \
         credentials invalid\n"
    );
}

#[test]
fn a_probe_with_message_options_is_a_usage_error_and_connects_to_nothing() {
    for args in [
        &["--verify", "a@example.com", "--to", "b@example.com"][..],
        &["--server-info", "--subject", "hi"],
        &["--check", "b@example.com"],
        &["--expn", "staff", "--body", "x"],
        &["--check", "--server-info"],
        &["--verify", "a@example.com", "--dry-run"],
        &["--server-info", "--raw"],
    ] {
        let server = Server::start();
        let out = Run::new(args).server(&server).output();
        let record = server.finish();
        assert_eq!(out.code, 64, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert_eq!(record.connection_count(), 0, "{args:?} connected");
    }
}

#[test]
fn a_probe_reads_no_stdin_and_takes_from_from_the_environment() {
    let server = Server::start();
    let out = Run::new(["--check"])
        .server(&server)
        .stdin(b"this is not read\n")
        .envs(&[
            ("SMTPSEND_FROM", "ci@example.com"),
            ("SMTPSEND_QUEUE", "on-failure"),
        ])
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(verbs(&record), ["EHLO", "NOOP", "QUIT"]);
}

#[test]
fn verify_of_an_internationalised_address_follows_smtputf8() {
    let server = Server::builder().capability("SMTPUTF8").start();
    let out = Run::new(["--verify", "jörg@bücher.example"])
        .server(&server)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record.commands()[1], "VRFY jörg@bücher.example SMTPUTF8");

    let server = Server::start();
    let out = Run::new(["--verify", "info@bücher.example"])
        .server(&server)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record.commands()[1], "VRFY info@xn--bcher-kva.example");

    let server = Server::start();
    let out = Run::new(["--verify", "jörg@example.com"])
        .server(&server)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("does not offer SMTPUTF8"),
        "{}",
        out.stderr
    );
    assert_eq!(verbs(&record), ["EHLO", "QUIT"], "{:?}", record.commands());
}

#[test]
fn check_uses_tls_exactly_when_a_send_would() {
    let certs = TestCerts::localhost();
    // --tls auto on loopback: a send would not use STARTTLS, so the check does not either
    // (and an untrusted certificate does not fail it).
    let server = Server::builder().starttls(certs.identity.clone()).start();
    let out = Run::new(["--check"]).server(&server).output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!record.connections[0].tls);
    assert_eq!(verbs(&record), ["EHLO", "NOOP", "QUIT"]);

    let server = Server::builder().starttls(certs.identity.clone()).start();
    let out = Run::new([
        "--check",
        "--tls",
        "starttls",
        "--tls-ca-file",
        certs.ca_file(),
    ])
    .server(&server)
    .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(record.connections[0].tls);
    assert!(out.stdout.contains(", TLSv1."), "{}", out.stdout);

    let server = Server::builder().starttls(certs.identity.clone()).start();
    let out = Run::new(["--check", "--tls", "starttls"])
        .server(&server)
        .output();
    server.finish();
    assert_eq!(out.code, 69, "untrusted certificate: {}", out.stderr);
}
