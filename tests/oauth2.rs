//! OAuth2 built in, as a new user meets it with a custom provider against a local HTTPS
//! provider (certificates from rcgen, trusted through the account's tls-ca-file) and an
//! SMTP server that accepts only the currently valid access token: `--oauth2-login`, a
//! send, a send after the access token expired, a rotated refresh token, a revoked one, the
//! endpoint down, a token refused by the server, the device grant's refusals, the keyring
//! commands; and no token in any output, log or file but the 0600 store.

use std::os::unix::fs::PermissionsExt;

use crate::support::*;

const USER: &str = "me@example.com";

/// A provider, an SMTP server checking its tokens (STARTTLS with the same CA) and a home
/// whose account `work` uses them.
struct World {
    _certs: TestCerts,
    provider: OAuthProvider,
    server: Server,
    home: Home,
}

impl World {
    fn new() -> World {
        World::with_keys("")
    }

    /// With extra account keys.
    fn with_keys(extra: &str) -> World {
        let certs = TestCerts::localhost();
        let provider = OAuthProvider::start(&certs);
        let server = Server::builder()
            .starttls(certs.identity.clone())
            .auth_token("XOAUTH2 OAUTHBEARER", USER, provider.access_cell())
            .start();
        let home = Home::with_config(
            &format!(
                "[accounts.work]\nserver = \"{}\"\nuser = \"{USER}\"\nfrom = \"{USER}\"\n\
                 tls-ca-file = \"{}\"\noauth2 = \"custom\"\noauth2-client-id = \"{CLIENT_ID}\"\n\
                 oauth2-token-url = \"{}\"\noauth2-device-url = \"{}\"\n\
                 oauth2-scope = \"mail.send offline_access\"\n{extra}",
                server.addr(),
                certs.ca_file(),
                provider.token_url(),
                provider.device_url()
            ),
            0o600,
        );
        World {
            _certs: certs,
            provider,
            server,
            home,
        }
    }

    fn login(&self) -> Output {
        self.home
            .run(["--oauth2-login", "--account", "work"])
            .output()
    }

    fn send(&self, extra: &[&str]) -> Output {
        self.home
            .run([
                "--account",
                "work",
                "--to",
                "b@example.com",
                "--body",
                "hello",
            ])
            .args(extra)
            .output()
    }

    fn store_file(&self) -> std::path::PathBuf {
        self.home.state_dir().join("smtpsend/oauth2/work.json")
    }

    fn store(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.store_file()).unwrap()).unwrap()
    }

    /// Makes the cached access token one that expires in a minute.
    fn age_the_access_token(&self) {
        let mut store = self.store();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        store["expires_at"] = (now + 60).into();
        std::fs::write(self.store_file(), serde_json::to_vec(&store).unwrap()).unwrap();
    }

    /// Fails when any token the provider issued, or the device code, shows in `out`.
    fn assert_no_token(&self, out: &Output) {
        let all = format!("{}\n{}", out.stdout, out.stderr);
        for token in self
            .provider
            .issued()
            .iter()
            .map(String::as_str)
            .chain([DEVICE_CODE])
        {
            assert!(!all.contains(token), "token {token} leaked:\n{all}");
            assert!(
                !all.contains(&b64(token.as_bytes())),
                "token {token} leaked in base64"
            );
        }
        let xoauth = format!("user={USER}\x01auth=Bearer ");
        assert!(!all.contains(&b64(xoauth.as_bytes())[..20]), "{all}");
    }
}

#[test]
fn login_prints_the_page_and_code_and_keeps_the_refresh_token_private() {
    let world = World::new();
    let out = world.login();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("https://provider.test/device"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(USER_CODE), "{}", out.stderr);
    assert!(out.stderr.contains("signed in"), "{}", out.stderr);
    world.assert_no_token(&out);
    let mode = std::fs::metadata(world.store_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir = world.store_file().parent().unwrap().to_path_buf();
    assert_eq!(
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let store = world.store();
    assert_eq!(
        store["refresh_token"],
        world.provider.state.lock().unwrap().refresh_token.as_str()
    );
    assert_eq!(
        world.provider.grants(),
        ["urn:ietf:params:oauth:grant-type:device_code"; 2]
    );
}

#[test]
fn a_send_after_login_uses_the_cached_token_and_the_transcript_hides_it() {
    let world = World::new();
    assert_eq!(world.login().code, 0);
    let out = world.send(&["-d"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("send: 'AUTH XOAUTH2 <redacted>"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("oauth2: account work logs in with the cached access token (expires in "),
        "{}",
        out.stderr
    );
    world.assert_no_token(&out);
    // The access token from the login was still fresh: no refresh.
    assert_eq!(world.provider.grants().len(), 2);
    let record = world.server.finish();
    assert_eq!(
        record.connections[0].authenticated_as,
        Some(("XOAUTH2".to_string(), USER.to_string()))
    );
    assert_eq!(record.completed().len(), 1);
}

#[test]
fn an_access_token_about_to_expire_is_refreshed_before_the_send() {
    let world = World::new();
    assert_eq!(world.login().code, 0);
    world.age_the_access_token();
    let out = world.send(&["-ddd", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    world.assert_no_token(&out);
    assert_eq!(world.provider.grants().last().unwrap(), "refresh_token");
    let refreshed = format!(
        "oauth2: account work logs in with a fresh access token from {} (expires in ",
        world.provider.token_url()
    );
    assert!(out.stderr.contains(&refreshed), "{}", out.stderr);
    let valid = world.provider.access_cell().lock().unwrap().clone();
    assert_eq!(world.store()["access_token"], valid.as_str());
    assert_eq!(world.server.finish().completed().len(), 1);
}

#[test]
fn a_rotated_refresh_token_replaces_the_stored_one() {
    let world = World::new();
    assert_eq!(world.login().code, 0);
    world.provider.with(|state| state.rotate = true);
    let first = world.store()["refresh_token"].as_str().unwrap().to_string();
    world.age_the_access_token();
    assert_eq!(world.send(&[]).code, 0);
    let rotated = world.store()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rotated, first);
    assert_eq!(rotated, world.provider.state.lock().unwrap().refresh_token);
    // The next refresh works with the rotated token (the old one is no longer honoured).
    world.age_the_access_token();
    let out = world.send(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(world.server.finish().completed().len(), 2);
}

#[test]
fn a_revoked_refresh_token_is_77_with_the_way_out() {
    let world = World::new();
    assert_eq!(world.login().code, 0);
    world.provider.with(|state| state.revoked = true);
    world.age_the_access_token();
    let out = world.send(&["-d"]);
    assert_eq!(out.code, 77, "{}", out.stderr);
    let line = out.stderr.lines().last().unwrap_or_default();
    assert!(line.contains("invalid_grant"), "{line}");
    assert!(
        line.contains("run smtpsend --oauth2-login --account work"),
        "{line}"
    );
    world.assert_no_token(&out);
    assert!(world.server.finish().transactions().is_empty());
}

#[test]
fn a_send_before_any_login_says_how_to_sign_in() {
    let world = World::new();
    let out = world.send(&[]);
    assert_eq!(out.code, 77, "{}", out.stderr);
    assert!(
        out.stderr.contains("is not signed in to custom")
            && out.stderr.contains("--oauth2-login --account work"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_token_endpoint_down_is_temporary_and_the_message_is_queued() {
    let world = World::new();
    assert_eq!(world.login().code, 0);
    world.age_the_access_token();
    // The account's endpoint now points at a port where nothing listens.
    let config = std::fs::read_to_string(world.home.config_file()).unwrap();
    let dead = format!("https://{}/token", refused_addr());
    world
        .home
        .write_config(&config.replace(&world.provider.token_url(), &dead), 0o600);
    let out = world.send(&[]);
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot reach the token endpoint"),
        "{}",
        out.stderr
    );
    let out = world.send(&["--queue", "on-failure"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ids = world.home.ids();
    assert_eq!(ids.len(), 1);
    let meta = serde_json::to_string(&world.home.meta(&ids[0])).unwrap();
    for token in world.provider.issued() {
        assert!(!meta.contains(&token), "{meta}");
    }
}

#[test]
fn a_token_the_server_refuses_is_renewed_once_and_the_login_tried_again() {
    let world = World::new();
    assert_eq!(world.login().code, 0);
    // The provider has moved on: the cached token (still "fresh" by its expiry) is refused.
    world.provider.with(|state| {
        *state.valid_access.lock().unwrap() = "revoked-behind-our-back".to_string();
    });
    let out = world.send(&["-d"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("trying once more with a fresh one"),
        "{}",
        out.stderr
    );
    assert_eq!(world.provider.grants().last().unwrap(), "refresh_token");
    world.assert_no_token(&out);
    let record = world.server.finish();
    assert_eq!(record.completed().len(), 1);
}

#[test]
fn a_declined_or_expired_sign_in_is_named() {
    let world = World::new();
    world
        .provider
        .with(|state| state.outcome = DeviceOutcome::Denied);
    let out = world.login();
    assert_eq!(out.code, 77, "{}", out.stderr);
    assert!(
        out.stderr.contains("the sign-in was declined"),
        "{}",
        out.stderr
    );
    assert!(!world.store_file().exists());
    let world = World::new();
    world
        .provider
        .with(|state| state.outcome = DeviceOutcome::Expired);
    let out = world.login();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(out.stderr.contains("the code expired"), "{}", out.stderr);
    assert!(
        out.stderr.contains("--oauth2-login --account work again"),
        "{}",
        out.stderr
    );
}

#[test]
fn slow_down_makes_the_login_wait_longer_and_still_succeed() {
    let world = World::new();
    world.provider.with(|state| {
        state.slow_down_first = true;
        state.pending_polls = 0;
    });
    let out = world.login();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(world.provider.grants().len(), 2);
}

#[test]
fn show_config_shows_the_state_never_a_token() {
    let world = World::new();
    let out = world
        .home
        .run(["--account", "work", "--show-config"])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("custom: not signed in (run smtpsend --oauth2-login --account work)"),
        "{}",
        out.stdout
    );
    assert_eq!(world.login().code, 0);
    let out = world
        .home
        .run(["--account", "work", "--show-config", "--json"])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let state = json["oauth2"]["shown"].as_str().unwrap();
    assert!(
        state.starts_with("custom: signed in; access token expires in "),
        "{state}"
    );
    let typed = &json["oauth2"]["value"];
    assert_eq!(typed["provider"], "custom", "{typed}");
    assert_eq!(typed["signed_in"], true, "{typed}");
    let minutes = typed["access_token_expires_in_minutes"].as_u64().unwrap();
    assert!((55..=60).contains(&minutes), "{typed}");
    let store = typed["refresh_token_store"].as_str().unwrap();
    assert!(store.ends_with("smtpsend/oauth2/work.json"), "{typed}");
    assert_eq!(json["auth"]["value"], "xoauth2");
    world.assert_no_token(&out);
}

#[test]
fn the_keyring_commands_keep_the_refresh_token_out_of_the_store() {
    let keyring = tempfile::tempdir().unwrap();
    let kept = keyring.path().join("refresh-token");
    let world = World::with_keys(&format!(
        "oauth2-store-command = \"umask 077; cat > '{0}'\"\noauth2-refresh-token-command = \"cat '{0}'\"\n",
        kept.display()
    ));
    let out = world.login();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("handed to oauth2-store-command"),
        "{}",
        out.stderr
    );
    let refresh = world.provider.state.lock().unwrap().refresh_token.clone();
    assert_eq!(std::fs::read_to_string(&kept).unwrap().trim(), refresh);
    assert!(
        world.store().get("refresh_token").is_none(),
        "{}",
        world.store()
    );
    world.age_the_access_token();
    let out = world.send(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(world.provider.grants().last().unwrap(), "refresh_token");
}

#[test]
fn an_account_without_oauth2_cannot_log_in() {
    let home = Home::with_config("[accounts.plain]\nserver = \"127.0.0.1:25\"\n", 0o600);
    let out = home.run(["--oauth2-login", "--account", "plain"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--oauth2-login: account plain has no oauth2 key"),
        "{}",
        out.stderr
    );
}

#[test]
fn oauth2_keys_are_checked_in_the_configuration_file() {
    for (keys, expected) in [
        (
            "oauth2 = \"custom\"\noauth2-client-id = \"x\"\n",
            "oauth2 = \"custom\" needs oauth2-token-url",
        ),
        ("oauth2 = \"google\"\n", "oauth2 needs oauth2-client-id"),
        (
            "oauth2 = \"yahoo\"\n",
            "is not one of google, microsoft, custom",
        ),
        (
            "oauth2 = \"google\"\noauth2-client-id = \"x\"\noauth2-token-url = \"http://t.test/token\"\n",
            "give an https:// URL",
        ),
        (
            "oauth2 = \"google\"\noauth2-client-id = \"x\"\npassword-command = \"pass x\"\n",
            "give either oauth2 or a password",
        ),
        (
            "oauth2 = \"google\"\noauth2-client-id = \"x\"\noauth2-store-command = \"cat\"\n",
            "give both oauth2-store-command and oauth2-refresh-token-command",
        ),
    ] {
        let home = Home::with_config(
            &format!("[accounts.a]\nuser = \"u@example.com\"\n{keys}"),
            0o600,
        );
        let out = home.run(["--account", "a", "--show-config"]).output();
        assert_eq!(out.code, 78, "{keys}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{keys}: {}", out.stderr);
    }
}

#[test]
fn presets_fill_in_the_google_and_microsoft_endpoints() {
    let home = Home::with_config(
        "[accounts.g]\nprovider = \"gmail\"\nuser = \"me@gmail.com\"\noauth2 = \"google\"\n\
         oauth2-client-id = \"id.apps.googleusercontent.com\"\n",
        0o600,
    );
    let out = home.run(["--account", "g", "--show-config"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let auth = out.stdout.lines().find(|l| l.starts_with("auth")).unwrap();
    assert!(
        auth.contains("XOAUTH2") && auth.contains("provider gmail"),
        "{auth}"
    );
    assert!(
        out.stdout.contains("an OAuth2 access token from google"),
        "{}",
        out.stdout
    );
}

/// The query parameters of a URL.
fn query(url: &str) -> std::collections::BTreeMap<String, String> {
    let decode = |text: &str| {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at] == b'%' {
                out.push(u8::from_str_radix(&text[at + 1..at + 3], 16).unwrap());
                at += 3;
            } else {
                out.push(bytes[at]);
                at += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    url.split_once('?')
        .map_or("", |(_, query)| query)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (decode(name), decode(value)))
        .collect()
}

/// Acts as the browser the provider redirects: one GET to the loopback address.
fn visit(redirect_uri: &str, path_and_query: &str) -> String {
    use std::io::{Read, Write};
    let address = redirect_uri
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path_and_query} HTTP/1.1\r\nHost: {address}\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
}

#[test]
fn a_browser_sign_in_exchanges_the_redirected_code_with_its_pkce_verifier() {
    let world = World::with_keys("oauth2-auth-url = \"https://provider.test/authorize\"\n");
    let mut running = world
        .home
        .run(["--oauth2-login", "--account", "work"])
        .spawn();
    running.wait_for_stderr("waiting for the sign-in to come back");
    let page = running
        .stderr_seen()
        .iter()
        .find_map(|line| {
            line.trim()
                .strip_prefix("https://provider.test/authorize?")
                .map(|q| format!("?{q}"))
        })
        .expect("the page to open");
    let params = query(&page);
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["scope"], "mail.send offline_access");
    let challenge = params["code_challenge"].clone();
    world
        .provider
        .with(|state| state.expected_challenge = Some(challenge));
    let redirect = params["redirect_uri"].clone();
    // A request without this login's state (a browser asking for an icon) is not it.
    assert!(visit(&redirect, "/favicon.ico").starts_with("HTTP/1.1 404"));
    let back = format!("/?code={AUTH_CODE}&state={}", params["state"]);
    assert!(visit(&redirect, &back).contains("Signed in"));
    let out = running.wait();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(world.provider.grants(), ["authorization_code"]);
    assert!(world.store()["refresh_token"].is_string());
    world.assert_no_token(&out);
    assert_eq!(world.send(&[]).code, 0);
}

#[test]
fn a_browser_sign_in_declined_at_the_provider_is_77() {
    let world = World::with_keys("oauth2-auth-url = \"https://provider.test/authorize\"\n");
    let mut running = world
        .home
        .run(["--oauth2-login", "--account", "work"])
        .spawn();
    running.wait_for_stderr("waiting for the sign-in to come back");
    let page = running
        .stderr_seen()
        .iter()
        .find(|line| line.contains("https://provider.test/authorize?"))
        .cloned()
        .unwrap();
    let params = query(page.trim());
    visit(
        &params["redirect_uri"],
        &format!("/?error=access_denied&state={}", params["state"]),
    );
    let out = running.wait();
    assert_eq!(out.code, 77, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("declined at the provider: access_denied"),
        "{}",
        out.stderr
    );
}
