//! Provider presets, tested by what they fill in (`--show-config`), never by connecting:
//! `--server gmail` and an account's `provider`, what a preset leaves to the options and the
//! account, and an unknown provider.

use crate::support::*;

/// The value and source of one `--show-config` line.
fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no {key} line in:\n{stdout}"))
}

#[test]
fn server_gmail_fills_in_the_server_tls_and_login() {
    let out = Run::new([
        "--server",
        "gmail",
        "--show-config",
        "--from",
        "a@example.com",
    ])
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let server = line(&out.stdout, "server");
    assert!(server.contains("smtp.gmail.com:587"), "{server}");
    assert!(
        server.contains("(--server names the gmail preset)"),
        "{server}"
    );
    let tls = line(&out.stdout, "tls");
    assert!(
        tls.contains("starttls") && tls.contains("gmail preset"),
        "{tls}"
    );
    let auth = line(&out.stdout, "auth");
    assert!(
        auth.contains("PLAIN") && auth.contains("gmail preset"),
        "{auth}"
    );
}

#[test]
fn every_preset_names_its_server_port_and_tls() {
    for (name, server, tls) in [
        ("gmail", "smtp.gmail.com:587", "starttls"),
        ("outlook", "smtp-mail.outlook.com:587", "starttls"),
        ("office365", "smtp.office365.com:587", "starttls"),
        ("fastmail", "smtp.fastmail.com:465", "implicit"),
        ("icloud", "smtp.mail.me.com:587", "starttls"),
        ("yahoo", "smtp.mail.yahoo.com:465", "implicit"),
        ("zoho", "smtp.zoho.com:465", "implicit"),
    ] {
        let home = Home::with_config(
            &format!("[accounts.mine]\nprovider = \"{name}\"\nuser = \"me@example.com\"\n"),
            0o600,
        );
        let out = home
            .run([
                "--account",
                "mine",
                "--show-config",
                "--from",
                "me@example.com",
            ])
            .output();
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let shown = line(&out.stdout, "server");
        assert!(shown.contains(server), "{name}: {shown}");
        assert!(
            shown.contains(&format!("provider {name} in account mine")),
            "{shown}"
        );
        assert!(line(&out.stdout, "tls").contains(tls), "{name}");
    }
}

#[test]
fn what_is_given_wins_over_the_preset() {
    let home = Home::with_config(
        "[accounts.mine]\nprovider = \"gmail\"\nserver = \"smtp.gmail.com:465\"\nauth = \"login\"\n",
        0o600,
    );
    let out = home
        .run([
            "--account",
            "mine",
            "--show-config",
            "--from",
            "me@example.com",
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let server = line(&out.stdout, "server");
    assert!(server.contains("smtp.gmail.com:465 "), "{server}");
    assert!(server.contains("(account mine, "), "{server}");
    // The server was given, so its port decides TLS (465: implicit), not the preset.
    let tls = line(&out.stdout, "tls");
    assert!(tls.contains("implicit") && tls.contains("default"), "{tls}");
    let auth = line(&out.stdout, "auth");
    assert!(
        auth.contains("LOGIN") && auth.contains("account mine"),
        "{auth}"
    );
    let out = home
        .run([
            "--account",
            "mine",
            "--show-config",
            "--server",
            "fastmail",
            "--tls",
            "starttls",
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(line(&out.stdout, "server").contains("smtp.fastmail.com:465"));
    assert!(line(&out.stdout, "tls").contains("starttls"));
}

#[test]
fn an_unknown_provider_is_a_configuration_error_listing_the_presets() {
    let home = Home::with_config("[accounts.mine]\nprovider = \"hotmale\"\n", 0o600);
    let out = home.run(["--account", "mine", "--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 2, key provider: \"hotmale\" is not a provider smtpsend knows (gmail, outlook, office365, fastmail, icloud, yahoo, zoho)"),
        "{}",
        out.stderr
    );
}
