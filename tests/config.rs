//! The configuration file and the precedence flags > SMTPSEND_* environment > account >
//! defaults, as a user sees them: where the message went, exit codes, --show-config.

use std::path::Path;

use crate::support::*;

const MESSAGE: &[u8] = b"From: me@example.com\nSubject: x\n\nhi\n";

#[test]
fn flags_beat_environment_beat_account_beat_defaults() {
    let refused = refused_addr();

    // The account alone decides.
    let server = Server::start();
    let home = Home::with_config(
        &format!(
            "default = \"main\"\n[accounts.main]\nserver = \"{}\"\n",
            server.addr()
        ),
        0o644,
    );
    let out = home.run(["b@example.com"]).stdin(MESSAGE).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);

    // SMTPSEND_SERVER beats the account (which now names a dead port).
    let server = Server::start();
    let home = Home::with_config(
        &format!("default = \"main\"\n[accounts.main]\nserver = \"{refused}\"\n"),
        0o644,
    );
    let out = home
        .run(["b@example.com"])
        .stdin(MESSAGE)
        .env("SMTPSEND_SERVER", server.addr())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);

    // --server beats SMTPSEND_SERVER.
    let server = Server::start();
    let out = home
        .run(["b@example.com"])
        .server(&server)
        .stdin(MESSAGE)
        .env("SMTPSEND_SERVER", &refused)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);

    // And --show-config says where each value came from.
    let out = home
        .run(["--show-config"])
        .env("SMTPSEND_SERVER", "env.example:2525")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("env.example:2525  (SMTPSEND_SERVER)"),
        "{}",
        out.stdout
    );
    let out = home
        .run(["--show-config", "--server", "flag.example"])
        .output();
    assert!(
        out.stdout.contains("flag.example:25  (--server)"),
        "{}",
        out.stdout
    );
    let out = home.run(["--show-config"]).output();
    assert!(
        out.stdout.contains(&format!(
            "{refused}  (account main, {} line 3)",
            home.config_file().display()
        )),
        "{}",
        out.stdout
    );
    let out = Run::new(["--show-config"]).output();
    assert!(
        out.stdout.contains("localhost:25  (default)"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_account_whose_from_matches_the_sender_is_used() {
    let refused = refused_addr();
    let server = Server::start();
    let home = Home::with_config(
        &format!(
            "default = \"home\"\n\
             [accounts.home]\nserver = \"{refused}\"\nfrom = \"me@home.example\"\n\
             [accounts.work]\nserver = \"{}\"\nfrom = \"*@example.com\"\nehlo-name = \"work.example.com\"\n",
            server.addr()
        ),
        0o600,
    );
    // The From header of a complete message picks "work".
    let out = home.run(["b@example.com"]).stdin(MESSAGE).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.only_completed().sender(), "me@example.com");
    assert!(
        record
            .commands()
            .contains(&"EHLO work.example.com".to_string()),
        "{:?}",
        record.commands()
    );

    // So does -f when composing.
    let server = Server::start();
    let home = Home::with_config(
        &format!(
            "default = \"home\"\n\
             [accounts.home]\nserver = \"{refused}\"\n\
             [accounts.work]\nserver = \"{}\"\nfrom = \"*@Example.COM\"\n",
            server.addr()
        ),
        0o600,
    );
    let out = home
        .run([
            "-f",
            "ci@example.com",
            "--to",
            "b@example.com",
            "--body",
            "x",
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().only_completed().sender(), "ci@example.com");

    // Another sender falls back to the default account (whose port is dead: 75).
    let out = home
        .run(["-f", "ci@other.org", "--to", "b@example.com", "--body", "x"])
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("smtpsend: cannot connect to {refused}: Connection refused\n"),
        "the default account's server"
    );
}

#[test]
fn the_account_from_is_the_sender_when_none_is_given() {
    let server = Server::start();
    let home = Home::with_config(
        &format!(
            "[accounts.ops]\nserver = \"{}\"\nfrom = \"Ops Team <ops@example.com>\"\n",
            server.addr()
        ),
        0o600,
    );
    let out = home
        .run(["--account", "ops", "--to", "b@example.com", "--body", "x"])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "ops@example.com");
    assert!(
        transaction
            .message_text()
            .contains("From: \"Ops Team\" <ops@example.com>"),
        "{}",
        transaction.message_text()
    );
}

#[test]
fn unknown_keys_and_bad_values_exit_78_with_the_line() {
    for (text, mentions) in [
        (
            "default = \"a\"\n\n[accounts.a]\nserver = \"x\"\nsevrer = \"y\"\n",
            &["line 5", "sevrer"][..],
        ),
        ("[accounts.a]\ntimeout = \"soon\"\n", &["line 2", "timeout"]),
        (
            "[accounts.a]\ntls = \"maybe\"\n",
            &["line 2", "tls", "starttls"],
        ),
        ("colour = \"blue\"\n", &["line 1", "colour"]),
        ("[accounts.a]\nserver = \"x:0\"\n", &["line 2", "server"]),
        ("default = \"nope\"\n", &["line 1", "default", "nope"]),
        ("[accounts.a\n", &["line 1"]),
    ] {
        let home = Home::with_config(text, 0o600);
        let out = home
            .run(["--dry-run", "--to", "b@example.com", "--body", "x"])
            .output();
        assert_eq!(out.code, 78, "{text}: {}", out.stderr);
        for mention in mentions {
            assert!(out.stderr.contains(mention), "{text}: {}", out.stderr);
        }
        assert!(
            out.stderr
                .contains(&home.config_file().display().to_string()),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
}

#[test]
fn a_readable_file_holding_a_password_is_refused() {
    let text = "[accounts.a]\nuser = \"me\"\npassword = \"s3cret-Value\"\n";
    let home = Home::with_config(text, 0o644);
    let out = home.run(["--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
    assert!(out.stderr.contains("line 3"), "{}", out.stderr);
    assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);

    let home = Home::with_config(text, 0o600);
    let out = home.run(["--show-config", "--account", "a"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("s3cret"), "{}", out.stdout);
    let config = home.config_file();
    let config = config.display();
    assert!(
        out.stdout.contains(&format!(
            "password        ********  (account a, {config} line 3)"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("user            me  (account a, {config} line 2)")),
        "{}",
        out.stdout
    );
}

#[test]
fn config_file_locations() {
    // A file named by --config or SMTPSEND_CONFIG must exist.
    let missing = "/nonexistent/smtpsend.toml";
    let out = Run::new(["--config", missing, "--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains(missing), "{}", out.stderr);
    let out = Run::new(["--show-config"])
        .env("SMTPSEND_CONFIG", missing)
        .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: cannot read config /nonexistent/smtpsend.toml: No such file or directory\n"
    );

    // The default file may be missing.
    let out = Run::new(["--show-config"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("not found"), "{}", out.stdout);

    // Without XDG_CONFIG_HOME it is ~/.config/smtpsend/config.toml.
    let home = Home::new();
    std::fs::create_dir_all(home.join(".config/smtpsend")).unwrap();
    std::fs::write(
        home.join(".config/smtpsend/config.toml"),
        "[accounts.h]\nserver = \"home.example\"\n",
    )
    .unwrap();
    let out = home
        .run(["--show-config", "--account", "h"])
        .env("XDG_CONFIG_HOME", "")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "home.example:25  (account h, {} line 2)",
            home.join(".config/smtpsend/config.toml").display()
        )),
        "{}",
        out.stdout
    );

    // SMTPSEND_CONFIG names another file; SMTPSEND_ACCOUNT an account in it.
    let other = Home::with_config(
        "[accounts.x]\nserver = \"x.example:2525\"\n[accounts.y]\nserver = \"y.example\"\n",
        0o600,
    );
    let path = other.config_file();
    let out = Run::new(["--show-config"])
        .envs(&[
            ("SMTPSEND_CONFIG", path.to_str().unwrap()),
            ("SMTPSEND_ACCOUNT", "y"),
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "y.example:25  (account y, {} line 4)",
            path.display()
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(SMTPSEND_CONFIG)"), "{}", out.stdout);
    assert!(out.stdout.contains("(SMTPSEND_ACCOUNT)"), "{}", out.stdout);
    assert_unknown_account_is_refused(&path);
}

fn assert_unknown_account_is_refused(path: &Path) {
    let out = Run::new([
        "--config",
        path.to_str().unwrap(),
        "--account",
        "z",
        "--show-config",
    ])
    .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("\"z\""), "{}", out.stderr);
    assert!(out.stderr.contains("x, y"), "{}", out.stderr);
}

/// `--show-config --json` is a JSON document, one member per setting with its value as
/// data (numbers, null, enum names), the text shown and the source; the password is masked
/// as in the text.
#[test]
fn show_config_json_is_a_json_document_with_the_password_masked() {
    let text = "[accounts.a]\nuser = \"me\"\npassword = \"s3cret-Value\"\nretries = 3\n";
    let home = Home::with_config(text, 0o600);
    let out = home
        .run([
            "--show-config",
            "--json",
            "--account",
            "a",
            "--server",
            "relay.example:2525",
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("s3cret"), "{}", out.stdout);
    let document: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", out.stdout));
    assert_eq!(document["server"]["value"], "relay.example:2525");
    assert_eq!(document["server"]["source"], "--server");
    assert_eq!(document["user"]["value"], "me");
    assert_eq!(document["retries"]["value"], 3);
    assert_eq!(
        document["retries"]["source"],
        format!("account a, {} line 4", home.config_file().display())
    );
    assert_eq!(
        document["password"]["value"],
        serde_json::json!({"from": "given"})
    );
    assert_eq!(document["password"]["shown"], "********");
    assert_eq!(document["account"]["value"], "a");
    assert_eq!(document["timeout"]["value"], serde_json::Value::Null);
    assert!(
        document["timeout"]["shown"]
            .as_str()
            .is_some_and(|t| t.contains("connect")),
        "{}",
        out.stdout
    );
    assert_eq!(document["max-time"]["value"], 3600);
    assert_eq!(document["tls"]["value"], "auto");
    assert_eq!(document["auth"]["value"], "auto");
    assert_eq!(document["protocol"]["value"], "smtp");
    assert_eq!(document["source-address"]["value"], serde_json::Value::Null);
}

/// Every key `--show-config --json` gives is in docs/json.md's table, and every key of the
/// table is given when its setting is set, so the documented schema cannot drift.
#[test]
fn show_config_json_keys_are_the_documented_ones() {
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.example.toml");
    let home = Home::with_config(
        &format!(
            "[accounts.g]\nprovider = \"gmail\"\nuser = \"me@gmail.com\"\n\
             oauth2 = \"google\"\noauth2-client-id = \"id.apps.googleusercontent.com\"\n\
             tls-ca-file = \"{ca}\"\naliases = \"/etc/aliases\"\n\
             rewrite-local-headers = true\nset-from-header = \"always\"\n\
             log-file = \"/var/log/smtpsend.log\"\nsyslog = \"mail\"\n"
        ),
        0o600,
    );
    home.write_system_config("spool = \"/var/spool/smtpsend\"\n", 0o644);
    let fingerprint = ["AB"; 32].join(":");
    let out = home
        .run([
            "--show-config",
            "--json",
            "--account",
            "g",
            "--qualify-domain",
            "example.org",
            "--timeout",
            "2.5",
            "--max-time",
            "0",
            "--tls-fingerprint",
            &fingerprint,
            "--tls-min-version",
            "1.3",
            "--tls-server-name",
            "mail.example.org",
            "--proxy",
            "socks5h://127.0.0.1:1080",
        ])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let given: std::collections::BTreeSet<String> =
        document.as_object().unwrap().keys().cloned().collect();
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    let table = doc
        .split("## The settings")
        .nth(1)
        .expect("docs/json.md has the settings section");
    let documented: std::collections::BTreeSet<String> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_string)
        .collect();
    assert_eq!(given, documented);
    assert_eq!(document["timeout"]["value"], 2.5);
    assert_eq!(document["max-time"]["value"], serde_json::Value::Null);
    assert_eq!(document["qualify-domain"]["value"], "example.org");
    assert_eq!(document["tls-min-version"]["value"], "1.3");
    assert_eq!(document["server"]["value"], "smtp.gmail.com:587");
    assert_eq!(document["auth"]["value"], "xoauth2");
    assert_eq!(
        document["password"]["value"],
        serde_json::json!({"from": "oauth2"})
    );
    assert_eq!(document["oauth2"]["value"]["signed_in"], false);
    assert_eq!(document["oauth2"]["value"]["provider"], "google");
    assert_eq!(document["rewrite-local-headers"]["value"], true);
    assert_eq!(document["log-file"]["value"], "/var/log/smtpsend.log");
    assert_eq!(document["spool"]["value"], "/var/spool/smtpsend");
    assert_eq!(document["syslog"]["value"], "mail");
}

/// A password command is shown as the command, never as what it prints.
#[test]
fn show_config_json_names_the_password_command() {
    let out = Run::new([
        "--show-config",
        "--json",
        "--user",
        "me",
        "--password-command",
        "echo x",
    ])
    .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        document["password"]["value"],
        serde_json::json!({"from": "command", "command": "echo x"})
    );
}

/// A configuration file at the default place that is a FIFO (made there by mistake or by
/// someone else) is named at once with 66; opening it does not wait for a writer.
#[test]
fn a_fifo_at_the_default_place_is_refused_at_once() {
    let home = Home::with_config("", 0o600);
    std::fs::remove_file(home.config_file()).unwrap();
    mkfifo(&home.config_file());
    let out = home
        .run(["--dry-run", "--to", "b@example.com", "--body", "x"])
        .output();
    assert_eq!(out.code, 66, "{}", out.stderr);
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "smtpsend: config {} is a FIFO (a pipe), not a regular file",
            home.config_file().display()
        )
    );
    assert!(
        out.elapsed < std::time::Duration::from_secs(5),
        "{:?}",
        out.elapsed
    );
}
