//! An in-process OAuth2 provider for the tests: an HTTPS endpoint on 127.0.0.1:0 (its
//! certificate from [`TestCerts`], so a client trusts it through the CA file) with a token
//! endpoint (`/token`: the refresh-token grant of RFC 6749 §6 and the device-code grant of
//! RFC 8628 §3.4) and a device endpoint (`/device`). It issues fresh tokens and keeps the
//! one currently valid access token in a cell the SMTP test server checks logins against
//! ([`super::Builder::auth_token`]). It never contacts anything; its accept loop ends by
//! itself.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use native_tls::TlsAcceptor;

use super::tls::TestCerts;

/// How the device grant goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceOutcome {
    /// Granted after the pending polls.
    Granted,
    /// `access_denied` after the pending polls.
    Denied,
    /// `expired_token` after the pending polls.
    Expired,
}

/// What the provider does and has done.
#[derive(Debug)]
pub struct ProviderState {
    /// The access token the SMTP server accepts now (shared with it).
    pub valid_access: Arc<Mutex<String>>,
    /// The refresh token the token endpoint honours now.
    pub refresh_token: String,
    /// Every token issued (access and refresh), for searching the output.
    pub issued: Vec<String>,
    /// Issue a new refresh token with every refresh (and stop honouring the old one).
    pub rotate: bool,
    /// The refresh token was revoked: every refresh gets `invalid_grant`.
    pub revoked: bool,
    /// `expires_in` of each access token.
    pub expires_in: u64,
    /// `authorization_pending` replies before the outcome.
    pub pending_polls: usize,
    /// Answer the first poll with `slow_down`.
    pub slow_down_first: bool,
    pub outcome: DeviceOutcome,
    /// The PKCE challenge of the browser sign-in under way (the test reads it off the page's
    /// address, as the provider would get it from the browser).
    pub expected_challenge: Option<String>,
    /// Each request: its path and its form.
    pub requests: Vec<(String, BTreeMap<String, String>)>,
    counter: usize,
    polls: usize,
}

/// The client this provider knows.
pub const CLIENT_ID: &str = "smtpsend-test-client";
/// The device code it hands out (a secret of the client's).
pub const DEVICE_CODE: &str = "device-code-7f3a9c1e5b";
/// The code the browser sign-in redirects with.
pub const AUTH_CODE: &str = "auth-code-4Hq2Xw9";
/// The code the user is told to enter.
pub const USER_CODE: &str = "WDJB-MJHT";

/// A running provider.
pub struct OAuthProvider {
    addr: SocketAddr,
    pub state: Arc<Mutex<ProviderState>>,
}

impl OAuthProvider {
    /// A provider whose device grant succeeds after one pending poll.
    pub fn start(certs: &TestCerts) -> OAuthProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the provider");
        listener
            .set_nonblocking(true)
            .expect("non-blocking provider");
        let addr = listener.local_addr().expect("provider address");
        let state = Arc::new(Mutex::new(ProviderState {
            valid_access: Arc::new(Mutex::new(String::new())),
            refresh_token: String::new(),
            issued: Vec::new(),
            rotate: false,
            revoked: false,
            expires_in: 3600,
            pending_polls: 1,
            slow_down_first: false,
            outcome: DeviceOutcome::Granted,
            expected_challenge: None,
            requests: Vec::new(),
            counter: 0,
            polls: 0,
        }));
        let acceptor = TlsAcceptor::new(certs.identity.clone()).expect("provider TLS");
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(120) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let acceptor = acceptor.clone();
                        let state = Arc::clone(&shared);
                        thread::spawn(move || serve(stream, &acceptor, &state));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        OAuthProvider { addr, state }
    }

    pub fn token_url(&self) -> String {
        format!("https://{}/token", self.addr)
    }

    pub fn device_url(&self) -> String {
        format!("https://{}/device", self.addr)
    }

    /// The cell of the currently valid access token, for the SMTP server.
    pub fn access_cell(&self) -> Arc<Mutex<String>> {
        Arc::clone(&self.state.lock().unwrap().valid_access)
    }

    /// Every token issued so far.
    pub fn issued(&self) -> Vec<String> {
        self.state.lock().unwrap().issued.clone()
    }

    /// The grant types of the token requests so far, in order.
    pub fn grants(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(path, _)| path == "/token")
            .map(|(_, form)| form.get("grant_type").cloned().unwrap_or_default())
            .collect()
    }

    /// Changes the state.
    pub fn with(&self, change: impl FnOnce(&mut ProviderState)) {
        change(&mut self.state.lock().unwrap());
    }
}

fn serve(stream: TcpStream, acceptor: &TlsAcceptor, state: &Mutex<ProviderState>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let Ok(mut tls) = acceptor.accept(stream) else {
        return;
    };
    let Some((path, form)) = read_request(&mut tls) else {
        return;
    };
    let (status, body) = answer(&path, &form, &mut state.lock().unwrap());
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(reply.as_bytes());
    let _ = tls.flush();
}

/// The request's path and its form (`application/x-www-form-urlencoded`).
fn read_request(stream: &mut impl Read) -> Option<(String, BTreeMap<String, String>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).ok()?;
        head.push(byte[0]);
        if head.len() > 64 << 10 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1)?.to_string();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    let form = String::from_utf8_lossy(&body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (decode(name), decode(value)))
        .collect();
    Some((path, form))
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'+' => out.push(b' '),
            b'%' if at + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[at + 1..at + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                at += 2;
            }
            other => out.push(other),
        }
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn error(code: &str, description: &str) -> (&'static str, String) {
    (
        "400 Bad Request",
        format!(r#"{{"error":"{code}","error_description":"{description}"}}"#),
    )
}

/// The provider's answer to one request.
fn answer(
    path: &str,
    form: &BTreeMap<String, String>,
    state: &mut ProviderState,
) -> (&'static str, String) {
    state.requests.push((path.to_string(), form.clone()));
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return error("invalid_client", "unknown client");
    }
    match (path, form.get("grant_type").map(String::as_str)) {
        ("/device", _) => (
            "200 OK",
            format!(
                r#"{{"device_code":"{DEVICE_CODE}","user_code":"{USER_CODE}","verification_uri":"https://provider.test/device","expires_in":600,"interval":1}}"#
            ),
        ),
        ("/token", Some("urn:ietf:params:oauth:grant-type:device_code")) => {
            device_poll(form, state)
        }
        ("/token", Some("refresh_token")) => refresh(form, state),
        ("/token", Some("authorization_code")) => exchange(form, state),
        _ => error("unsupported_grant_type", "not a grant this provider knows"),
    }
}

fn device_poll(
    form: &BTreeMap<String, String>,
    state: &mut ProviderState,
) -> (&'static str, String) {
    if form.get("device_code").map(String::as_str) != Some(DEVICE_CODE) {
        return error("invalid_grant", "unknown device code");
    }
    state.polls += 1;
    if state.slow_down_first && state.polls == 1 {
        return error("slow_down", "polling too fast");
    }
    if state.polls <= state.pending_polls + usize::from(state.slow_down_first) {
        return error("authorization_pending", "the user has not finished yet");
    }
    match state.outcome {
        DeviceOutcome::Denied => error("access_denied", "the user declined"),
        DeviceOutcome::Expired => error("expired_token", "the device code expired"),
        DeviceOutcome::Granted => {
            let refresh = issue(state, "refresh");
            state.refresh_token = refresh.clone();
            grant(state, Some(&refresh))
        }
    }
}

/// The authorization code grant with PKCE (RFC 7636 §4.6): the code, and a verifier whose
/// SHA-256 is the challenge the page was opened with.
fn exchange(form: &BTreeMap<String, String>, state: &mut ProviderState) -> (&'static str, String) {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let redirect_ok = form
        .get("redirect_uri")
        .is_some_and(|uri| uri.starts_with("http://127.0.0.1:"));
    if form.get("code").map(String::as_str) != Some(AUTH_CODE)
        || state.expected_challenge.as_deref() != Some(challenge.as_str())
        || !redirect_ok
    {
        return error("invalid_grant", "code, verifier or redirect does not match");
    }
    let refresh = issue(state, "refresh");
    state.refresh_token = refresh.clone();
    grant(state, Some(&refresh))
}

fn refresh(form: &BTreeMap<String, String>, state: &mut ProviderState) -> (&'static str, String) {
    let given = form.get("refresh_token").cloned().unwrap_or_default();
    if state.revoked || given.is_empty() || given != state.refresh_token {
        return error("invalid_grant", "Token has been expired or revoked.");
    }
    if state.rotate {
        let rotated = issue(state, "refresh");
        state.refresh_token = rotated.clone();
        return grant(state, Some(&rotated));
    }
    grant(state, None)
}

/// A new access token, valid from now on (the old one no longer is).
fn grant(state: &mut ProviderState, refresh: Option<&str>) -> (&'static str, String) {
    let access = issue(state, "access");
    *state.valid_access.lock().unwrap() = access.clone();
    let refresh = refresh
        .map(|token| format!(r#","refresh_token":"{token}""#))
        .unwrap_or_default();
    (
        "200 OK",
        format!(
            r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":{}{refresh}}}"#,
            state.expires_in
        ),
    )
}

/// A token nobody could guess from the output: `ya29.` style, unique.
pub fn issue(state: &mut ProviderState, kind: &str) -> String {
    state.counter += 1;
    let token = format!(
        "{kind}-tok-{:04}-Zq8Xv{}Lm3",
        state.counter,
        state.counter * 7919
    );
    state.issued.push(token.clone());
    token
}
