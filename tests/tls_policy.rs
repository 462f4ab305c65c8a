//! The TLS policy with real certificates: a pinned certificate (self-signed, accepted
//! without a CA; a different one refused with both fingerprints, nothing sent), the lowest
//! TLS version, and the name checked when connecting by address.

use crate::support::*;

const MESSAGE: [&str; 6] = [
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--body",
    "pinned",
];

#[test]
fn a_pinned_self_signed_certificate_is_accepted_without_a_ca() {
    let certs = TestCerts::self_signed();
    let server = Server::builder().starttls(certs.identity.clone()).start();
    let out = Run::new(MESSAGE)
        .server(&server)
        .args(["--tls-fingerprint", &certs.server_fingerprint(), "-d"])
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record.only_completed().recipients(), ["b@example.com"]);
    assert!(record.connections[0].tls, "the session was encrypted");
    assert!(out.stderr.contains("(pinned)"), "{}", out.stderr);
}

#[test]
fn the_same_certificate_without_the_pin_is_not_trusted() {
    let certs = TestCerts::self_signed();
    let server = Server::builder().starttls(certs.identity.clone()).start();
    let out = Run::new(MESSAGE)
        .server(&server)
        .args(["--tls", "starttls"])
        .output();
    let record = server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(out.stderr.contains("is not trusted"), "{}", out.stderr);
    assert!(record.transactions().is_empty());
}

#[test]
fn a_different_certificate_is_refused_naming_both_fingerprints() {
    let pinned = TestCerts::self_signed();
    let other = TestCerts::localhost();
    let server = Server::builder()
        .starttls(other.identity.clone())
        .auth("PLAIN", "alice", "Secret-Pass-77")
        .start();
    let out = Run::new(MESSAGE)
        .server(&server)
        .args([
            "--tls-fingerprint",
            &pinned.server_fingerprint(),
            "--user",
            "alice",
        ])
        .env("SMTPSEND_PASSWORD", "Secret-Pass-77")
        .output();
    let record = server.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    let line = out.stderr.lines().last().unwrap_or_default();
    assert!(line.contains(&other.server_fingerprint()), "{line}");
    assert!(line.contains(&pinned.server_fingerprint()), "{line}");
    assert!(line.contains("is not the pinned one"), "{line}");
    assert!(record.transactions().is_empty());
    let sent: Vec<String> = record.connections[0].commands();
    assert!(
        !sent.iter().any(|line| line.starts_with("AUTH")),
        "no login after a wrong certificate: {sent:?}"
    );
}

#[test]
fn a_pin_needs_tls_even_to_a_local_server() {
    let certs = TestCerts::self_signed();
    let plain = Server::start();
    let out = Run::new(MESSAGE)
        .server(&plain)
        .args(["--tls-fingerprint", &certs.server_fingerprint()])
        .output();
    let record = plain.finish();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("--tls-fingerprint needs TLS"),
        "{}",
        out.stderr
    );
    assert!(record.transactions().is_empty());
    let out = Run::new(MESSAGE)
        .server("127.0.0.1:1")
        .args([
            "--tls-fingerprint",
            &certs.server_fingerprint(),
            "--tls",
            "none",
        ])
        .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
}

#[test]
fn a_malformed_fingerprint_is_a_usage_error() {
    let out = Run::new(MESSAGE)
        .server("127.0.0.1:1")
        .args(["--tls-fingerprint", "AB:CD"])
        .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains("not a SHA-256 fingerprint"),
        "{}",
        out.stderr
    );
}

#[test]
fn tls_13_as_the_lowest_version_refuses_a_tls_12_server() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .starttls_tls12_only(certs.identity.clone())
        .start();
    let base = ["--tls-ca-file", certs.ca_file(), "--tls", "starttls", "-d"];
    let out = Run::new(MESSAGE)
        .server(&server)
        .args(base)
        .args(["--tls-min-version", "1.3"])
        .output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(out.stderr.contains("--tls-min-version"), "{}", out.stderr);
    let out = Run::new(MESSAGE)
        .server(&server)
        .args(base)
        .args(["--tls-min-version", "1.2"])
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("TLSv1.2"), "{}", out.stderr);
    assert_eq!(record.completed().len(), 1);
}

#[test]
fn the_server_name_is_what_the_certificate_is_checked_against() {
    // The certificate names only mail.test: connecting by address fails the name check,
    // unless --tls-server-name says which name to expect.
    let certs = TestCerts::for_names(&["mail.test"]);
    let server = Server::builder().starttls(certs.identity.clone()).start();
    let args = ["--tls-ca-file", certs.ca_file(), "--tls", "starttls"];
    let out = Run::new(MESSAGE).server(&server).args(args).output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    let out = Run::new(MESSAGE)
        .server(&server)
        .args(args)
        .args(["--tls-server-name", "mail.test"])
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record.completed().len(), 1);
}

#[test]
fn the_policy_comes_from_the_account_and_shows_in_show_config() {
    let certs = TestCerts::self_signed();
    let pin = certs.server_fingerprint();
    let home = Home::with_config(
        &format!(
            "[accounts.work]\nserver = \"127.0.0.1:2525\"\ntls-fingerprint = \"{}\"\n\
             tls-min-version = \"1.3\"\ntls-server-name = \"mail.test\"\n",
            pin.replace(':', "").to_lowercase()
        ),
        0o600,
    );
    let out = home
        .run([
            "--account",
            "work",
            "--show-config",
            "--from",
            "a@example.com",
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (key, value) in [
        ("tls-fingerprint", pin.as_str()),
        ("tls-min-version", "1.3"),
        ("tls-server-name", "mail.test"),
    ] {
        let line = out
            .stdout
            .lines()
            .find(|line| line.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} line:\n{}", out.stdout));
        assert!(line.contains(value), "{line}");
        assert!(line.contains("(account work, "), "{line}");
    }
}

#[test]
fn a_bad_policy_value_in_the_account_names_its_line() {
    let home = Home::with_config(
        "[accounts.work]\nserver = \"127.0.0.1:2525\"\ntls-min-version = \"1.1\"\n",
        0o600,
    );
    let out = home.run(["--account", "work", "--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("line 3, key tls-min-version: give 1.2 or 1.3"),
        "{}",
        out.stderr
    );
}
