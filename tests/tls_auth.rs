//! TLS and login as the user sees them: STARTTLS and implicit TLS with real certificates made
//! at test time, certificate and host-name checks, every SASL mechanism against a server that
//! checks the proof, and the password never showing anywhere.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::support::*;

const USER: &str = "alice";
const PASSWORD: &str = "pässwörd-Correct-Horse-7";
const ALL_MECHANISMS: &str = "PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER SCRAM-SHA-256";

/// A STARTTLS server that checks logins for USER / PASSWORD.
fn tls_server(certs: &TestCerts, mechanisms: &str) -> Server {
    Server::builder()
        .starttls(certs.identity.clone())
        .auth(mechanisms, USER, PASSWORD)
        .start()
}

/// The message of these tests; the server, TLS, login and password options follow.
const MESSAGE: [&str; 8] = [
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--subject",
    "hello",
    "--body",
    "body text",
];

/// Fails when the password, or any line the client sent while logging in, shows in the
/// output: the password itself, its base64 form, and each base64 SASL response (PLAIN's
/// `\0user\0password`, the XOAUTH2 string, the SCRAM proof…).
fn assert_no_secret(out: &Output, record: &Record) {
    let all = format!("{}\n{}", out.stdout, out.stderr);
    let mut forms = vec![
        PASSWORD.to_string(),
        b64(PASSWORD.as_bytes()),
        b64(format!("\0{USER}\0{PASSWORD}").as_bytes()),
    ];
    for connection in &record.connections {
        let mut in_auth = false;
        for line in &connection.lines {
            let text = String::from_utf8_lossy(line).into_owned();
            if text.to_ascii_uppercase().starts_with("AUTH ") {
                in_auth = true;
                if let Some(initial) = text.split_whitespace().nth(2) {
                    forms.push(initial.to_string());
                }
                continue;
            }
            let is_command = text.len() >= 4 && text[..4].bytes().all(|b| b.is_ascii_uppercase());
            if in_auth && text.len() > 2 && !text.contains(' ') && !is_command {
                forms.push(text);
            } else {
                in_auth = false;
            }
        }
    }
    for form in forms {
        assert!(!all.contains(&form), "secret form {form:?} leaked:\n{all}");
    }
}

#[test]
fn starttls_then_each_mechanism_logs_in_and_delivers() {
    let certs = TestCerts::localhost();
    for mechanism in [
        "plain",
        "login",
        "cram-md5",
        "xoauth2",
        "oauthbearer",
        "scram-sha-256",
    ] {
        let server = tls_server(&certs, ALL_MECHANISMS);
        let out = Run::new(MESSAGE)
            .args([
                "--tls",
                "starttls",
                "--tls-ca-file",
                certs.ca_file(),
                "--user",
                USER,
            ])
            .args(["--auth", mechanism, "-d", "--json"])
            .server(&server)
            .env("SMTPSEND_PASSWORD", PASSWORD)
            .output();
        let record = server.finish();
        assert_eq!(out.code, 0, "{mechanism}: {}", out.stderr);
        let connection = &record.connections[0];
        assert!(connection.tls, "{mechanism}: not encrypted");
        assert_eq!(
            connection.authenticated_as,
            Some((mechanism.to_ascii_uppercase(), USER.to_string())),
            "{mechanism}"
        );
        assert_eq!(record.only_completed().recipients(), ["b@example.com"]);
        let shown = format!("send: 'AUTH {}", mechanism.to_ascii_uppercase());
        assert!(out.stderr.contains(&shown), "{mechanism}: {}", out.stderr);
        assert!(out.stderr.contains("<redacted>"), "{}", out.stderr);
        assert_no_secret(&out, &record);
    }
}

#[test]
fn a_wrong_password_is_refused_with_77_for_each_mechanism_and_never_shown() {
    let certs = TestCerts::localhost();
    for mechanism in [
        "plain",
        "login",
        "cram-md5",
        "xoauth2",
        "oauthbearer",
        "scram-sha-256",
    ] {
        let server = tls_server(&certs, ALL_MECHANISMS);
        let wrong = "Wrong-Secret-991";
        let out = Run::new(MESSAGE)
            .args([
                "--tls",
                "starttls",
                "--tls-ca-file",
                certs.ca_file(),
                "--user",
                USER,
            ])
            .args(["--auth", mechanism, "-dd", "--json"])
            .server(&server)
            .env("SMTPSEND_PASSWORD", wrong)
            .output();
        let record = server.finish();
        assert_eq!(out.code, 77, "{mechanism}: {}", out.stderr);
        // -dd prints the transcript too; the error is the one line of smtpsend's own.
        let said: Vec<&str> = out
            .stderr
            .lines()
            .filter(|line| line.starts_with("smtpsend: "))
            .collect();
        // The OAuth mechanisms show the error the server sent before its 535.
        let detail = match mechanism {
            "xoauth2" => {
                r#" ({"status":"401","schemes":"bearer","scope":"https://mail.google.com/"})"#
            }
            "oauthbearer" => r#" ({"status":"invalid_token"})"#,
            _ => "",
        };
        assert_eq!(
            said,
            [format!(
                "smtpsend: authentication as alice ({}) refused: 535 5.7.8 Authentication \
                 credentials invalid{detail}",
                mechanism.to_ascii_uppercase()
            )],
            "{mechanism}: {}",
            out.stderr
        );
        // PLAIN rides in front of MAIL, RCPT and DATA (RFC 4954 §4): this server takes
        // mail without a login, so it saw the envelope and answered DATA with 354; no byte
        // of the message may follow. The other mechanisms log in alone, first.
        assert!(
            record.completed().is_empty()
                && record.transactions().iter().all(|t| t.data_wire.is_empty()),
            "{mechanism}: mail was sent"
        );
        if mechanism != "plain" {
            assert!(
                record.transactions().is_empty(),
                "{mechanism}: a transaction began"
            );
        }
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains(wrong) && !all.contains(&b64(wrong.as_bytes())));
        assert_no_secret(&out, &record);
    }
}

#[test]
fn auto_picks_scram_then_plain_over_tls_then_cram_md5_in_clear_on_loopback() {
    let certs = TestCerts::localhost();
    for (offered, tls, expected) in [
        (ALL_MECHANISMS, "starttls", "SCRAM-SHA-256"),
        ("LOGIN PLAIN CRAM-MD5", "starttls", "PLAIN"),
        ("LOGIN CRAM-MD5", "starttls", "LOGIN"),
        ("PLAIN LOGIN CRAM-MD5", "none", "CRAM-MD5"),
        ("PLAIN", "none", "PLAIN"),
    ] {
        let server = tls_server(&certs, offered);
        let out = Run::new(MESSAGE)
            .args([
                "--tls",
                tls,
                "--tls-ca-file",
                certs.ca_file(),
                "--user",
                USER,
            ])
            .server(&server)
            .env("SMTPSEND_PASSWORD", PASSWORD)
            .output();
        let record = server.finish();
        assert_eq!(out.code, 0, "{offered}: {}", out.stderr);
        assert_eq!(
            record.connections[0].authenticated_as,
            Some((expected.to_string(), USER.to_string())),
            "{offered} over {tls}"
        );
    }
}

#[test]
fn tls_auto_on_loopback_uses_starttls_when_auth_is_offered_only_after_it() {
    // Postfix with smtpd_tls_auth_only on localhost:587: no AUTH before STARTTLS.
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .auth("PLAIN", USER, PASSWORD)
        .starttls(certs.identity.clone())
        .capabilities(&["PIPELINING", "STARTTLS"])
        .capabilities_after_tls(&["PIPELINING", "AUTH PLAIN"])
        .start();
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "auto",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        record.connections[0].tls,
        "no STARTTLS: {:?}",
        record.commands()
    );
    assert_eq!(
        record.connections[0].authenticated_as,
        Some(("PLAIN".to_string(), USER.to_string()))
    );

    // Without a login there is no reason to encrypt a loopback session.
    let server = Server::builder().starttls(certs.identity.clone()).start();
    let out = Run::new([
        "-f",
        "a@example.com",
        "--to",
        "b@example.com",
        "--body",
        "x",
    ])
    .server(&server)
    .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!record.connections[0].tls);
}

#[test]
fn starttls_and_auth_plain_add_only_the_round_trips_the_protocol_needs() {
    let certs = TestCerts::localhost();
    let server = tls_server(&certs, "PLAIN");
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    // EHLO, STARTTLS, EHLO again, then AUTH PLAIN with its initial response in one group
    // with MAIL, RCPT and DATA (RFC 4954 §4 lets PLAIN ride), then the data and QUIT: 5.
    // Each of the first three must be the last of its group (RFC 2920 §3.1, RFC 3207), and
    // the data waits for the 354, which comes after the 235.
    assert_eq!(record.round_trips(), 5, "{:?}", record.commands());
    let verbs: Vec<String> = record
        .commands()
        .iter()
        .map(|c| c.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        verbs,
        [
            "EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"
        ]
    );
}

#[test]
fn the_transcript_shows_tls_details_and_redacts_every_sasl_line() {
    let certs = TestCerts::localhost();
    let server = tls_server(&certs, "LOGIN");
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .args(["-d"])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tls_line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("tls: "))
        .unwrap_or_else(|| panic!("no tls line: {}", out.stderr));
    assert!(tls_line.starts_with("tls: TLSv1."), "{tls_line}");
    assert!(tls_line.contains("TLS_"), "{tls_line}");
    assert!(tls_line.contains("CN=localhost"), "{tls_line}");
    assert!(tls_line.ends_with("(verified)"), "{tls_line}");
    let sent: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("send: "))
        .collect();
    let auth_at = sent
        .iter()
        .position(|l| *l == r"send: 'AUTH LOGIN\r\n'")
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert_eq!(sent[auth_at + 1], r"send: '<redacted>\r\n'");
    assert_eq!(sent[auth_at + 2], r"send: '<redacted>\r\n'");
    assert_no_secret(&out, &record);
}

#[test]
fn implicit_tls_for_smtps_urls() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .implicit_tls(certs.identity.clone())
        .auth("PLAIN", USER, PASSWORD)
        .start();
    let url = format!("smtps://127.0.0.1:{}", server.port());
    // No --tls: smtps:// means implicit TLS.
    let out = Run::new(MESSAGE)
        .args(["--tls-ca-file", certs.ca_file(), "--user", USER, "-d"])
        .server(&url)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(record.connections[0].tls);
    assert!(record.connections[0].authenticated_as.is_some());
    let tls_at = out.stderr.find("tls: TLSv1.").expect("tls line");
    let greeting_at = out.stderr.find("reply: '220").expect("greeting");
    assert!(tls_at < greeting_at, "TLS must come before the greeting");
    assert_eq!(record.only_completed().recipients(), ["b@example.com"]);
}

#[test]
fn an_untrusted_certificate_is_refused_before_anything_is_sent() {
    let certs = TestCerts::localhost();
    let server = tls_server(&certs, "PLAIN");
    // No --tls-ca-file: the test CA is not a system root.
    let out = Run::new(MESSAGE)
        .args(["--tls", "starttls", "--user", USER])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("smtpsend: the TLS certificate of 127.0.0.1 is not trusted"),
        "{}",
        out.stderr
    );
    assert!(!record.commands().iter().any(|c| c.starts_with("AUTH")));
    assert!(record.transactions().is_empty());
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let certs = TestCerts::for_names(&["mail.example.org"]);
    let server = tls_server(&certs, "PLAIN");
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: the TLS certificate of 127.0.0.1 is not trusted: it is for \
         mail.example.org, not 127.0.0.1; nothing was sent (connect by one of the \
         certificate's names (--server NAME), or give the name to check with \
         --tls-server-name)\n"
    );
    assert!(!record.commands().iter().any(|c| c.starts_with("AUTH")));
    assert!(record.transactions().is_empty());
}

/// An implicit-TLS listener on 127.0.0.1 that asks for a client certificate (OpenSSL
/// itself: native-tls's acceptor cannot ask for one) and accepts any; its thread answers
/// whether the client presented one. One connection, given up after 30 seconds.
fn asking_for_a_client_certificate(certs: &TestCerts) -> (String, std::thread::JoinHandle<bool>) {
    use openssl::pkey::PKey;
    use openssl::ssl::{SslAcceptor, SslMethod, SslVerifyMode};
    use openssl::x509::X509;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("listener address").to_string();
    let cert = X509::from_pem(certs.server_pem.as_bytes()).expect("server certificate");
    let key = PKey::private_key_from_pem(certs.server_key_pem.as_bytes()).expect("server key");
    let presented = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&presented);
    let mut builder =
        SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).expect("acceptor builder");
    builder.set_certificate(&cert).expect("set the certificate");
    builder.set_private_key(&key).expect("set the key");
    builder.set_verify_callback(SslVerifyMode::PEER, move |_, _| {
        seen.store(true, Ordering::SeqCst);
        true
    });
    let acceptor = builder.build();
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let handle = std::thread::spawn(move || {
        let started = Instant::now();
        let tcp = loop {
            match listener.accept() {
                Ok((tcp, _)) => break tcp,
                Err(_) if started.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => return presented.load(Ordering::SeqCst),
            }
        };
        tcp.set_nonblocking(false).expect("blocking stream");
        tcp.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        if let Ok(tls) = acceptor.accept(tcp)
            && tls.ssl().peer_certificate().is_some()
        {
            presented.store(true, Ordering::SeqCst);
        }
        presented.load(Ordering::SeqCst)
    });
    (addr, handle)
}

#[test]
fn a_server_with_a_certificate_for_another_name_never_gets_the_client_certificate() {
    let certs = TestCerts::for_names(&["mail.example.org"]);
    let client = TestCerts::for_names(&["client.example.org"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("client.pem"), dir.path().join("client.key"));
    std::fs::write(&cert, &client.server_pem).expect("write the client certificate");
    std::fs::write(&key, &client.server_key_pem).expect("write the client key");
    let run = |extra: &[&str]| {
        let (addr, presented) = asking_for_a_client_certificate(&certs);
        let out = Run::new(MESSAGE)
            .args(["--server", &addr, "--tls", "implicit", "--tls-ca-file"])
            .arg(certs.ca_file())
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(extra)
            .output();
        (out, presented.join().expect("server thread"))
    };
    // The right name: the certificate is presented (so the server does see it when it is).
    let (out, presented) = run(&["--tls-server-name", "mail.example.org"]);
    assert!(presented, "{}", out.stderr);
    // Another name: refused (69) before the client certificate goes out.
    let (out, presented) = run(&[]);
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        !presented,
        "the client certificate went to a server for another name"
    );
    assert_eq!(
        out.stderr,
        "smtpsend: the TLS certificate of 127.0.0.1 is not trusted: it is not for 127.0.0.1; \
         nothing was sent (connect by one of the certificate's names (--server NAME), or give \
         the name to check with --tls-server-name)\n"
    );
}

#[test]
fn insecure_skip_verify_sends_with_a_warning() {
    let certs = TestCerts::for_names(&["mail.example.org"]);
    let server = tls_server(&certs, "PLAIN");
    let out = Run::new(MESSAGE)
        .args(["--tls", "starttls", "--user", USER])
        .args(["--insecure-skip-verify", "-d"])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("smtpsend: warning: --insecure-skip-verify"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("(NOT verified)"), "{}", out.stderr);
    assert_eq!(record.completed().len(), 1);
}

#[test]
fn starttls_required_but_not_offered_is_69_and_nothing_is_sent() {
    let certs = TestCerts::localhost();
    let server = Server::builder().auth("PLAIN", USER, PASSWORD).start();
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("does not offer STARTTLS"),
        "{}",
        out.stderr
    );
    let commands = record.commands();
    assert!(
        !commands
            .iter()
            .any(|c| c.starts_with("AUTH") || c.starts_with("MAIL")),
        "{commands:?}"
    );
}

#[test]
fn starttls_refused_is_69() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .starttls(certs.identity.clone())
        .on(
            Verb::Starttls,
            Action::reply(554, "5.7.3 TLS not available"),
        )
        .start();
    // No --user.
    let out = Run::new(MESSAGE)
        .args(["--tls", "starttls", "--tls-ca-file", certs.ca_file()])
        .server(&server)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: 127.0.0.1 refused STARTTLS: 554 5.7.3 TLS not available; nothing was sent\n"
    );
    assert!(record.transactions().is_empty());
}

#[test]
fn data_after_the_starttls_reply_is_treated_as_an_attack() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .starttls(certs.identity.clone())
        .on(
            Verb::Starttls,
            Action::Raw(b"220 2.0.0 Ready\r\n250 injected\r\n".to_vec()),
        )
        .start();
    let out = Run::new(MESSAGE)
        .args(["--tls", "starttls", "--tls-ca-file", certs.ca_file()])
        .server(&server)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 76, "{}", out.stderr);
    assert!(out.stderr.contains("injection"), "{}", out.stderr);
    assert!(record.transactions().is_empty());
}

#[test]
fn a_silent_implicit_tls_server_times_out_with_75() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        // Accept and say nothing until the client leaves.
        let (mut socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut sink = Vec::new();
        let _ = socket.read_to_end(&mut sink);
    });
    let url = format!("smtps://127.0.0.1:{port}");
    let started = Instant::now();
    let out = Run::new([
        "--timeout",
        "1",
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--body",
        "x",
    ])
    .server(&url)
    .output();
    let elapsed = started.elapsed();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains("timed out") && out.stderr.contains("TLS handshake"),
        "{}",
        out.stderr
    );
    // A bound (deadline plus slack), not a speed measurement.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    holder.join().unwrap();
}

#[test]
fn a_scram_server_that_does_not_know_the_password_is_not_trusted() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .starttls(certs.identity.clone())
        .auth("SCRAM-SHA-256", USER, PASSWORD)
        .forge_scram_signature()
        .start();
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .server(&server)
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 76, "{}", out.stderr);
    assert!(out.stderr.contains("signature"), "{}", out.stderr);
    assert!(record.transactions().is_empty());
}

#[test]
fn no_usable_mechanism_or_no_auth_at_all_is_69() {
    let certs = TestCerts::localhost();
    for (offered, asked, expected) in [
        (
            Some("GSSAPI NTLM"),
            "auto",
            "no usable authentication mechanism",
        ),
        (
            Some("PLAIN"),
            "cram-md5",
            "does not offer AUTH CRAM-MD5 (it offers: PLAIN)",
        ),
        (None, "auto", "offers no authentication"),
    ] {
        let mut builder = Server::builder().starttls(certs.identity.clone());
        if let Some(offered) = offered {
            builder = builder.auth(offered, USER, PASSWORD);
        }
        let server = builder.start();
        let out = Run::new(MESSAGE)
            .args([
                "--tls",
                "starttls",
                "--tls-ca-file",
                certs.ca_file(),
                "--user",
                USER,
            ])
            .args(["--auth", asked])
            .server(&server)
            .env("SMTPSEND_PASSWORD", PASSWORD)
            .output();
        let record = server.finish();
        assert_eq!(out.code, 69, "{offered:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{}", out.stderr);
        assert!(record.transactions().is_empty());
    }
}

#[test]
fn no_password_and_no_terminal_is_78_before_connecting() {
    let certs = TestCerts::localhost();
    let server = tls_server(&certs, "PLAIN");
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .server(&server)
        .output();
    let record = server.finish();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("smtpsend: no password for alice: set SMTPSEND_PASSWORD"),
        "{}",
        out.stderr
    );
    assert_eq!(record.connection_count(), 0);
}

#[test]
fn password_file_must_be_private() {
    let certs = TestCerts::localhost();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw");
    std::fs::write(&path, format!("{PASSWORD}\n")).unwrap();
    let path_text = path.to_str().unwrap();

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = tls_server(&certs, "PLAIN");
    let addr = server.addr();
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .args(["--password-file", path_text])
        .server(&addr)
        .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
    assert_eq!(server.finish().connection_count(), 0);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = tls_server(&certs, "PLAIN");
    let addr = server.addr();
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .args(["--password-file", path_text])
        .server(&addr)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.finish().connections[0].authenticated_as.is_some());

    let server = tls_server(&certs, "PLAIN");
    let addr = server.addr();
    let missing = dir.path().join("missing");
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .args(["--password-file", missing.to_str().unwrap()])
        .server(&addr)
        .output();
    assert_eq!(out.code, 66, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: --password-file {}: cannot read it: No such file or directory\n",
            missing.display()
        )
    );
    assert_eq!(server.finish().connection_count(), 0);
}

#[test]
fn password_command_gives_the_first_line_and_leaves_stdin_to_the_message() {
    let certs = TestCerts::localhost();
    let server = tls_server(&certs, "PLAIN");
    let addr = server.addr();
    let command = format!("cat; printf '%s\\nsecond line\\n' '{PASSWORD}'");
    // The body comes from stdin.
    let out = Run::new(["--from", "a@example.com", "--to", "b@example.com"])
        .args(["--subject", "hello"])
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .args(["--password-command", &command])
        .server(&addr)
        .stdin(b"the body from stdin\n")
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(record.connections[0].authenticated_as.is_some());
    assert!(
        record
            .only_completed()
            .message_text()
            .contains("the body from stdin"),
        "the command must not read the message"
    );

    let server = tls_server(&certs, "PLAIN");
    let addr = server.addr();
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .args(["--password-command", "exit 3"])
        .server(&addr)
        .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("--password-command"), "{}", out.stderr);
    assert_eq!(server.finish().connection_count(), 0);
}

#[test]
fn a_password_command_that_hangs_is_stopped_at_the_command_deadline_with_78() {
    let certs = TestCerts::localhost();
    let server = tls_server(&certs, "PLAIN");
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // A child that would wait forever (a gpg-agent asking a pinentry nobody sees), and
    // the shell waiting for it: both must be stopped.
    let command = format!("sleep 1000 & echo $! > {}; wait", pid_file.display());
    let out = Run::new(MESSAGE)
        .args([
            "--tls",
            "starttls",
            "--tls-ca-file",
            certs.ca_file(),
            "--user",
            USER,
        ])
        .args(["--password-command", &command, "--timeout", "1"])
        .server(&server)
        .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--password-command")
            && out
                .stderr
                .contains("did not finish within 1 s (the command deadline"),
        "{}",
        out.stderr
    );
    assert_eq!(server.finish().connection_count(), 0);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    // Gone, or a zombie waiting to be reaped: either way no longer running.
    assert!(
        stat.as_deref().map_or(true, |stat| stat.contains(") Z ")),
        "the command's child still runs: {stat:?}"
    );
}

/// No option takes the password itself (it would show in `ps` and the shell's history): the
/// options about passwords name a file or a command, in `--help` and in the completions
/// (both made from the option definitions); `--password VALUE` and its likely spellings
/// are unknown arguments that point to `--password-file`; and a value comes from
/// SMTPSEND_PASSWORD, which is no option's variable.
#[test]
fn no_flag_takes_a_password_value() {
    let help = Run::new(["--help"]).output();
    assert_eq!(help.code, 0, "{}", help.stderr);
    // An option's line is indented by 2 (`  -f, --from <ADDR>`) or 6 (`      --to <ADDR>`);
    // its description by 10.
    let options: Vec<&str> = help
        .stdout
        .lines()
        .filter(|line| line.len() - line.trim_start().len() <= 6)
        .map(str::trim_start)
        .map(|line| match line.as_bytes() {
            [b'-', letter, b',', b' ', ..] if letter.is_ascii_alphabetic() => &line[4..],
            _ => line,
        })
        .filter(|line| line.starts_with("--"))
        .map(|line| line.split([' ', '=']).next().unwrap_or(line))
        .collect();
    assert!(
        options.len() > 40,
        "the options were not found: {options:?}"
    );
    let secret = |option: &&str| {
        ["pass", "pw", "secret", "token"]
            .iter()
            .any(|w| option.contains(w))
    };
    let about_passwords: Vec<&str> = options.iter().copied().filter(secret).collect();
    assert_eq!(about_passwords, ["--password-file", "--password-command"]);
    assert!(
        help.stdout.contains("--password-file <PATH>\n"),
        "{}",
        help.stdout
    );
    assert!(
        help.stdout.contains("--password-command <COMMAND>\n"),
        "{}",
        help.stdout
    );
    assert!(
        !help.stdout.contains("[env: SMTPSEND_PASSWORD"),
        "{}",
        help.stdout
    );

    let bash = Run::new(["--generate", "bash"]).output();
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    let mut completed: Vec<&str> = bash
        .stdout
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| word.starts_with("--"))
        .filter(secret)
        .collect();
    completed.sort_unstable();
    completed.dedup();
    assert_eq!(completed, ["--password-command", "--password-file"]);

    for (args, unknown) in [
        (&["--password", "x"][..], "--password"),
        (&["--password=x"], "--password"),
        (&["--passwd", "x"], "--passwd"),
        (&["--pass", "x"], "--pass"),
        (&["--pw", "x"], "--pw"),
    ] {
        let out = Run::new(args)
            .args(["--dry-run", "--to", "b@example.com"])
            .output();
        assert_eq!(out.code, 64, "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "smtpsend: unexpected argument '{unknown}': no option takes a password: use \
                 SMTPSEND_PASSWORD, --password-file or --password-command (see --help)\n"
            ),
            "{args:?}"
        );
        assert_eq!(out.stdout, "", "{args:?}");
    }

    let shown = |run: Run| {
        let out = run.output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let line = out
            .stdout
            .lines()
            .find(|line| line.starts_with("password "));
        line.unwrap_or_else(|| panic!("{}", out.stdout)).to_string()
    };
    let user = ["--show-config", "--user", USER];
    assert_eq!(
        shown(Run::new(user).env("SMTPSEND_PASSWORD", PASSWORD)),
        "password        ********  (SMTPSEND_PASSWORD)"
    );
    assert_eq!(
        shown(Run::new(user)),
        "password        asked on the terminal  (default)"
    );
}

#[test]
fn show_config_names_the_password_source_without_the_password() {
    let out = Run::new(["--show-config", "--user", USER, "--tls", "starttls"])
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains(PASSWORD), "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("password") && l.contains("SMTPSEND_PASSWORD")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("tls") && l.contains("starttls")),
        "{}",
        out.stdout
    );
}

#[test]
fn an_account_supplies_server_tls_user_mechanism_and_password_command() {
    let certs = TestCerts::localhost();
    let server = tls_server(&certs, "PLAIN LOGIN CRAM-MD5");
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "default = \"work\"\n\n[accounts.work]\nserver = \"{}\"\ntls = \"starttls\"\n\
             user = \"{USER}\"\nauth = \"cram-md5\"\npassword-command = \"echo '{PASSWORD}'\"\n",
            server.addr()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let base = [
        "--config",
        config,
        "--tls-ca-file",
        certs.ca_file(),
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--body",
        "x",
    ];
    let out = Run::new(base).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert!(record.connections[0].tls);
    assert_eq!(
        record.connections[0].authenticated_as,
        Some(("CRAM-MD5".to_string(), USER.to_string()))
    );

    // SMTPSEND_PASSWORD beats the account's password-command.
    let server = tls_server(&certs, "PLAIN LOGIN CRAM-MD5");
    let config_text = std::fs::read_to_string(config).unwrap();
    let addr_line = config_text
        .lines()
        .find(|l| l.starts_with("server"))
        .unwrap()
        .to_string();
    std::fs::write(
        config,
        config_text.replace(&addr_line, &format!("server = \"{}\"", server.addr())),
    )
    .unwrap();
    let out = Run::new(base)
        .env("SMTPSEND_PASSWORD", "not-the-password")
        .output();
    assert_eq!(out.code, 77, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: authentication as alice (CRAM-MD5) refused: 535 5.7.8 Authentication \
         credentials invalid\n"
    );
    assert_eq!(server.finish().connection_count(), 1);
}

#[test]
fn unusable_tls_files_are_reported_before_connecting() {
    let certs = TestCerts::localhost();
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let not_pem = not_pem.to_str().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    for (flags, code, says) in [
        (vec!["--tls-ca-file", missing], 66, "--tls-ca-file"),
        (vec!["--tls-ca-file", not_pem], 78, "no PEM certificate"),
        (
            vec!["--tls-cert", certs.ca_file(), "--tls-key", not_pem],
            78,
            "not a usable PEM certificate and PKCS#8 key",
        ),
    ] {
        let server = Server::builder().starttls(certs.identity.clone()).start();
        let addr = server.addr();
        let mut args = vec![
            "--server",
            &addr,
            "--tls",
            "starttls",
            "--to",
            "b@example.com",
            "--body",
            "x",
        ];
        args.extend(flags);
        let out = Run::new(&args).output();
        assert_eq!(out.code, code, "{}", out.stderr);
        assert!(out.stderr.contains(says), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert_eq!(server.finish().connection_count(), 0);
    }
}

#[test]
fn after_a_refused_login_smtpsend_says_quit_but_after_a_broken_reply_it_just_leaves() {
    let login = |action: Action| {
        let server = Server::builder()
            .auth("PLAIN", "alice", "secret")
            .require_auth()
            .on(Verb::Auth, action)
            .start();
        let out = Run::new([
            "--user",
            "alice",
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--body",
            "hi",
        ])
        .server(&server)
        .env("SMTPSEND_PASSWORD", "secret")
        .output();
        (out, server.finish().commands())
    };
    // A refusal leaves both sides in step: QUIT and its reply end the session politely.
    let (out, commands) = login(Action::reply(535, "5.7.8 credentials invalid"));
    assert_eq!(out.code, 77, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: authentication as alice (PLAIN) refused: 535 5.7.8 credentials invalid\n"
    );
    assert_eq!(
        commands.last().map(String::as_str),
        Some("QUIT"),
        "{commands:?}"
    );
    // A reply that is no reply: what the server says next could answer anything. Waiting
    // for a reply to QUIT would only wait out another deadline (a silent server doubled the
    // run time this way), so smtpsend closes.
    let (out, commands) = login(Action::Raw(b"HTTP/1.1 400 Bad Request\r\n".to_vec()));
    assert_eq!(out.code, 76, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: malformed reply from the server (waiting for the reply to AUTH PLAIN): \
         'HTTP/1.1 400 Bad Request\\r\\n'\n"
    );
    assert!(!commands.iter().any(|c| c == "QUIT"), "{commands:?}");
}
