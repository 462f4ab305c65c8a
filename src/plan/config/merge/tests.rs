//! Unit tests of `merge`.

use super::*;

fn config(path: &str, text: &str, system: bool) -> Config {
    Config::parse_as(Path::new(path), text, system, || Ok(0o600)).unwrap()
}

fn files(user: Option<&str>, system: Option<&str>) -> Files {
    Files {
        user: user.map(|text| config("/u.toml", text, false)),
        system: system.map(|text| config("/s.toml", text, true)),
        user_location: None,
        system_location: system_location(),
    }
}

#[test]
fn the_user_account_is_over_the_system_one_key_by_key() {
    let files = files(
        Some("[accounts.relay]\n\nfrom = \"me@example.com\"\n"),
        Some(
            "default = \"relay\"\n[accounts.relay]\nserver = \"relay.example:25\"\n\
             from = \"host@example.com\"\npassword-file = \"/etc/p\"\n",
        ),
    );
    let chosen = files.choose(None, None).unwrap().unwrap();
    assert_eq!(chosen.name, "relay");
    assert_eq!(chosen.reason, "default of the system file");
    assert_eq!(chosen.account.from.unwrap().into_inner(), "me@example.com");
    assert_eq!(chosen.written["from"].to_string(), "/u.toml line 3");
    assert_eq!(chosen.written["server"].to_string(), "/s.toml line 3");
    assert_eq!(
        chosen.written["password-file"].to_string(),
        "/s.toml line 5"
    );
}

#[test]
fn password_keys_come_from_one_file() {
    let files = files(
        Some("[accounts.a]\npassword-command = \"pass a\"\n"),
        Some("[accounts.a]\npassword-file = \"/etc/p\"\n"),
    );
    let chosen = files
        .choose(Some(("a", "--account")), None)
        .unwrap()
        .unwrap();
    assert!(chosen.account.password_file.is_none());
    assert_eq!(
        chosen.account.password_command.unwrap().into_inner(),
        "pass a"
    );
}

/// A value each key accepts, for an account that has them all.
fn value_of(key: &str) -> String {
    let text = match key {
        "timeout" | "max-time" | "retries" | "parallel" | "window" => return "3".to_string(),
        "rewrite-local-headers" => return "true".to_string(),
        "tls" | "auth" | "set-from-header" => "auto",
        "queue" => "never",
        "server" => "x.example:25",
        "qualify-domain" | "ehlo-name" => "example.com",
        "from" => "a@example.com",
        "source-address" => "127.0.0.1",
        "syslog" => "mail",
        "tls-min-version" => "1.2",
        "tls-server-name" => "mail.example.com",
        "proxy" => "socks5h://me@127.0.0.1:1080",
        "provider" => "gmail",
        "oauth2" => "custom",
        "oauth2-client-id" | "oauth2-scope" => "x",
        key if key.ends_with("-url") => "https://auth.example/x",
        key if key.ends_with("-command") => "cmd",
        "tls-fingerprint" => return format!("\"{}\"", ["AB"; 32].join(":")),
        "password" => "merge-test-secret-4711",
        _ => "/x",
    };
    format!("{text:?}")
}

/// Every key is merged and says where it was written. The keys that exclude each other
/// (the password sources, OAuth2 beside a password, the two proxy password sources) are in
/// accounts of their own.
#[test]
fn every_key_is_merged() {
    let keys: Vec<&str> = account_keys().to_vec();
    let apart = [
        "password",
        "password-file",
        "password-command",
        "proxy-password-file",
    ];
    let account = |name: &str, keys: &[&str]| -> String {
        let lines: String = keys
            .iter()
            .map(|key| format!("{key} = {}\n", value_of(key)))
            .collect();
        format!("[accounts.{name}]\n{lines}")
    };
    let all: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !apart.contains(k))
        .collect();
    let text = [
        account("a", &all),
        account("b", &["password", "proxy", "proxy-password-file"]),
        account("c", &["password-file"]),
        account("d", &["password-command"]),
    ]
    .concat();
    let files = files(None, Some(&text));
    let mut written = BTreeSet::new();
    for name in ["a", "b", "c", "d"] {
        let chosen = files
            .choose(Some((name, "--account")), None)
            .unwrap()
            .unwrap();
        written.extend(chosen.written.keys().copied());
    }
    let keys: BTreeSet<&str> = keys.into_iter().collect();
    assert_eq!(written, keys);
}

/// The login is one file's: OAuth2 in the user's file and a password in the system file
/// make an account that logs in with OAuth2 alone, and the other way round.
#[test]
fn login_keys_come_from_one_file() {
    let oauth2 = "oauth2 = \"google\"\noauth2-client-id = \"id\"\n";
    let password = "password-file = \"/etc/p\"\nauth = \"login\"\n";
    let pick = |user: &str, system: &str| {
        let files = files(
            Some(&format!("[accounts.a]\n{user}")),
            Some(&format!("[accounts.a]\n{system}")),
        );
        files
            .choose(Some(("a", "--account")), None)
            .unwrap()
            .unwrap()
    };
    let chosen = pick(oauth2, password);
    assert!(chosen.account.oauth2.is_some());
    assert!(chosen.account.password_file.is_none());
    assert!(chosen.written["oauth2"].to_string().starts_with("/u.toml"));
    // Keys outside the login still come key by key.
    assert!(chosen.written["auth"].system);
    let chosen = pick(password, oauth2);
    assert!(chosen.account.oauth2.is_none());
    assert!(chosen.account.oauth2_client_id.is_none());
    assert!(chosen.account.password_file.is_some());
}

/// A proxy's password comes from the file whose proxy is used: never the system file's
/// password for a proxy the user named, nor a password of the user's for the system's proxy.
#[test]
fn the_proxy_password_goes_with_the_proxy() {
    let system = "[accounts.a]\nproxy = \"socks5://relay@proxy.example:1080\"\n\
                  proxy-password-file = \"/etc/smtpsend/proxy\"\n";
    let pick = |user: &str| {
        let files = files(Some(&format!("[accounts.a]\n{user}")), Some(system));
        files
            .choose(Some(("a", "--account")), None)
            .unwrap()
            .unwrap()
    };
    let chosen = pick("proxy = \"socks5h://127.0.0.1:9050\"\n");
    assert!(chosen.account.proxy_password_file.is_none());
    assert!(!chosen.written["proxy"].system);
    let chosen = pick("proxy-password-command = \"pass proxy\"\n");
    assert!(chosen.account.proxy_password_command.is_none());
    assert!(chosen.written["proxy-password-file"].system);
    // Without a proxy in either file (it comes from --proxy), the first file's password.
    let files = files(
        Some("[accounts.a]\nproxy-password-command = \"pass proxy\"\n"),
        Some("[accounts.a]\nproxy-password-file = \"/etc/p\"\n"),
    );
    let chosen = files
        .choose(Some(("a", "--account")), None)
        .unwrap()
        .unwrap();
    assert!(chosen.account.proxy_password_command.is_some());
    assert!(chosen.account.proxy_password_file.is_none());
}

#[test]
fn a_name_from_either_file_and_the_users_default_first() {
    let files = files(
        Some("default = \"mine\"\n[accounts.mine]\nserver = \"m.example:25\"\n"),
        Some("default = \"relay\"\n[accounts.relay]\nfrom = \"*@example.com\"\n"),
    );
    let pick = |named, sender| files.choose(named, sender).unwrap().unwrap().name;
    assert_eq!(pick(None, None), "mine");
    assert_eq!(pick(None, Some("x@example.com")), "relay");
    assert_eq!(pick(Some(("relay", "--account")), None), "relay");
    let err = files.choose(Some(("nope", "--account")), None).unwrap_err();
    assert_eq!(
        crate::base::exit::one_line(&err),
        "--account \"nope\": no such account in /u.toml or /s.toml (accounts: mine, relay)"
    );
}
