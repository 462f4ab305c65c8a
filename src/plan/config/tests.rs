//! Unit tests of `config`.

use super::*;

fn parse(text: &str) -> anyhow::Result<Config> {
    Config::parse(Path::new("/x/config.toml"), text)
}

fn error(text: &str) -> String {
    let err = parse(text).unwrap_err();
    assert_eq!(crate::base::exit::code_for(&err), 78);
    crate::base::exit::one_line(&err)
}

/// The example the man page and docs show is a valid file that picks what its comments say.
#[test]
fn the_example_configuration_is_valid() {
    let files = Files {
        user: Some(parse(crate::cli::generate::EXAMPLE_CONFIG).unwrap()),
        system: None,
        user_location: None,
        system_location: system_location(),
    };
    let chosen = files.choose(None, Some("ci@example.com")).unwrap().unwrap();
    assert_eq!(chosen.name, "work");
    let chosen = files
        .choose(None, Some("x@elsewhere.example"))
        .unwrap()
        .unwrap();
    assert_eq!(chosen.name, "personal");
    let chosen = files
        .choose(Some(("local", "--account")), None)
        .unwrap()
        .unwrap();
    assert_eq!(chosen.name, "local");
}

#[test]
fn account_keys_are_the_keys_the_parser_accepts() {
    let keys = super::account_keys();
    assert!(
        keys.contains(&"queue") && keys.contains(&"retries"),
        "{keys:?}"
    );
    for key in keys {
        let text = format!("[accounts.a]\n{key} = 1\n");
        let err = Config::parse(Path::new("c.toml"), &text)
            .map_or_else(|e| e.to_string(), |_| String::new());
        assert!(!err.contains("unknown field"), "{key}: {err}");
    }
    let err = parse("[accounts.a]\nnot-a-key = 1\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn globs() {
    assert!(glob_matches("*@example.com", "Me@Example.com"));
    assert!(glob_matches("a?c@*", "abc@x"));
    assert!(!glob_matches("*@example.com", "me@example.org"));
    assert!(!glob_matches("*@example.com", "me@sub.example.co"));
    assert!(glob_matches("*", ""));
}

#[test]
fn unknown_keys_and_bad_values_name_key_and_line() {
    let text = "default = \"a\"\n[accounts.a]\nserver = \"x:25\"\nsever = \"y\"\n";
    let message = error(text);
    assert!(message.contains("line 4"), "{message}");
    assert!(message.contains("sever"), "{message}");

    let message = error("[accounts.a]\n\ntimeout = \"soon\"\n");
    assert!(message.contains("line 3, key timeout"), "{message}");
    let message = error("[accounts.a]\ntls = \"sometimes\"\n");
    assert!(message.contains("line 2, key tls"), "{message}");
    let message = error("[accounts.a]\nfrom = \"not an address\"\n");
    assert!(message.contains("line 2, key from"), "{message}");
    let message = error("default = \"b\"\n[accounts.a]\n");
    assert!(message.contains("line 1, key default"), "{message}");
    let message = error("[accounts.a]\nserver = \"x:99999\"\n");
    assert!(message.contains("line 2, key server"), "{message}");
}

#[test]
fn errors_about_secret_keys_do_not_quote_the_value() {
    for (text, says) in [
        (
            "[accounts.a]\npassword = 4242\n",
            "line 2, key password: must be a string (the value is not shown)",
        ),
        (
            "[accounts]\na = { password = 4242 }\n",
            "line 2, key a: must be a string (the value is not shown)",
        ),
        (
            "[accounts.a]\npassword-command = 4242\n",
            "line 2, key password-command: must be a string (the value is not shown)",
        ),
        (
            "[accounts.a]\npassword = \"\"\n",
            "line 2, key password: must be one non-empty line (the value is not shown)",
        ),
    ] {
        let message = error(text);
        assert!(message.ends_with(says), "{message}");
        assert!(!message.contains("4242"), "{message}");
    }
    // Other keys say what was wrong with the value.
    assert!(error("[accounts.a]\nretries = true\n").contains("`true`"));
    assert!(about_a_secret("x = 1\nsmtp-token = 2\n", 17));
    assert!(!about_a_secret("x = 1\nretries = 2\n", 14));
    assert_eq!(
        without_value("invalid type: integer `1`, expected path string"),
        "must be a path string (the value is not shown)"
    );
    assert_eq!(
        without_value("invalid basic string, expected `\"`"),
        "invalid basic string, expected `\"`"
    );
}

#[test]
fn chooses_named_then_sender_then_default() {
    let config = parse(
        "default = \"home\"\n\
         [accounts.home]\nfrom = \"me@home.org\"\n\
         [accounts.work]\nfrom = \"*@example.com\"\n\
         [accounts.boss]\nfrom = \"boss@example.com\"\n",
    )
    .unwrap();
    let files = Files {
        user: Some(config),
        system: None,
        user_location: None,
        system_location: system_location(),
    };
    let pick = |named, sender| {
        files
            .choose(named, sender)
            .unwrap()
            .map(|chosen| chosen.name.to_string())
    };
    assert_eq!(pick(None, None).as_deref(), Some("home"));
    assert_eq!(pick(None, Some("me@example.com")).as_deref(), Some("work"));
    assert_eq!(
        pick(None, Some("BOSS@example.com")).as_deref(),
        Some("boss")
    );
    assert_eq!(pick(None, Some("x@else.org")).as_deref(), Some("home"));
    assert_eq!(
        pick(Some(("work", "--account")), Some("me@home.org")).as_deref(),
        Some("work")
    );
    assert!(files.choose(Some(("nope", "--account")), None).is_err());
}
