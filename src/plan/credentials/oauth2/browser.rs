//! The authorization code grant for installed applications (RFC 6749 §4.1 with PKCE,
//! RFC 7636, and a loopback redirect, RFC 8252 §7.3), for providers whose device grant does
//! not cover mail (Google's does not): the user opens the authorization page in a browser
//! on this machine, the provider redirects to `http://127.0.0.1:PORT/` where smtpsend
//! listens for that one request, and the code it carries is exchanged, with the PKCE
//! verifier, for the tokens. The `state` value ties the redirect to this login.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::endpoint::{self, Reply};
use super::*;

/// How long the page may take to come back (the user has to sign in).
pub const WAIT: Duration = Duration::from_secs(600);

/// A login under way: the page to open and what the redirect must match.
pub struct Pending {
    listener: TcpListener,
    /// The page to open in a browser.
    pub url: String,
    redirect_uri: String,
    state: String,
    /// The PKCE verifier: a secret until the exchange.
    verifier: Secret,
}

/// 32 random bytes, base64url: a PKCE verifier or a state value.
fn random_text() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| fail(Kind::Software, format!("no random bytes: {err}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Decodes a query value (`%XX`, `+` for a space).
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'+' => out.push(b' '),
            b'%' if at + 2 < bytes.len() => {
                match u8::from_str_radix(&value[at + 1..at + 3], 16) {
                    Ok(byte) => out.push(byte),
                    Err(_) => out.push(b'%'),
                }
                at += 2;
            }
            byte => out.push(byte),
        }
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Pending {
    /// The loopback port the redirect comes to.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map_or(0, |address| address.port())
    }
}

impl OAuth2 {
    /// Listens on a loopback port and makes the authorization page's address.
    pub fn browser_start(&self, auth_url: &str) -> anyhow::Result<Pending> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|err| {
            fail(
                Kind::LocalIo,
                format!("cannot listen on 127.0.0.1 for the sign-in's redirect: {err}"),
            )
        })?;
        let port = listener.local_addr()?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}/");
        let verifier = Secret::new(random_text()?);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
        let state = random_text()?;
        let mut query = vec![
            ("response_type", "code".to_string()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", redirect_uri.clone()),
            ("scope", self.scope.clone()),
            ("state", state.clone()),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256".to_string()),
        ];
        if self.provider == "google" {
            // Google grants a refresh token only for offline access, and again only on consent.
            query.push(("access_type", "offline".to_string()));
            query.push(("prompt", "consent".to_string()));
        }
        let query: Vec<String> = query
            .into_iter()
            .map(|(name, value)| format!("{name}={}", encode(&value)))
            .collect();
        let joiner = if auth_url.contains('?') { '&' } else { '?' };
        Ok(Pending {
            listener,
            url: format!("{auth_url}{joiner}{}", query.join("&")),
            redirect_uri,
            state,
            verifier,
        })
    }

    /// Waits for the provider's redirect (at most `wait`), then exchanges its code.
    pub fn browser_finish(&self, pending: &Pending, wait: Duration) -> anyhow::Result<Reply> {
        let code = wait_for_code(pending, wait)?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", pending.redirect_uri.as_str()),
            ("client_id", self.client_id.as_str()),
            ("code_verifier", pending.verifier.expose()),
        ];
        let secret = self.client_secret()?;
        if let Some(secret) = &secret {
            form.push(("client_secret", secret.expose()));
        }
        let reply = endpoint::post(&self.http, &self.token_url, &form, "token endpoint")?;
        if reply.error().is_some() || !(200..300).contains(&reply.status) {
            let kind = if reply.status >= 500 {
                Kind::TempFail
            } else {
                Kind::AuthRefused
            };
            return Err(fail(
                kind,
                format!(
                    "{} refused the sign-in of account {}: {}",
                    self.provider,
                    self.account,
                    reply.error_text()
                ),
            ));
        }
        Ok(reply)
    }
}

/// The code of the one redirect that carries this login's state; other requests (a
/// browser asking for an icon) get a 404 and are ignored.
fn wait_for_code(pending: &Pending, wait: Duration) -> anyhow::Result<Secret> {
    let ends = Instant::now() + wait;
    pending.listener.set_nonblocking(true)?;
    loop {
        if crate::base::interrupt::received().is_some() || crate::base::interrupt::expired() {
            return Err(fail(
                Kind::TempFail,
                "interrupted before the sign-in finished",
            ));
        }
        if Instant::now() >= ends {
            return Err(fail(
                Kind::TempFail,
                format!(
                    "the sign-in did not come back within {}; run smtpsend --oauth2-login again",
                    minutes(wait)
                ),
            ));
        }
        match pending.listener.accept() {
            Ok((stream, _)) => {
                if let Some(code) = answer(stream, &pending.state)? {
                    return Ok(code);
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                crate::base::interrupt::sleep(Duration::from_millis(50));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Reads one request to the redirect address and answers it; the code when it is the
/// redirect of this login. The provider's refusal (`error=access_denied`) is 77.
fn answer(mut stream: TcpStream, state: &str) -> anyhow::Result<Option<Secret>> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 << 10 {
        if stream.read(&mut byte).unwrap_or(0) == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let target = text.split_whitespace().nth(1).unwrap_or_default();
    let query = target.split_once('?').map_or("", |(_, query)| query);
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (decode(name), decode(value)))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    if get("state").as_deref() != Some(state) {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return Ok(None);
    }
    let (page, result) = match (get("code"), get("error")) {
        (Some(code), _) if !code.is_empty() => (
            "Signed in. You can close this page.",
            Ok(Some(Secret::new(code))),
        ),
        (_, error) => (
            "The sign-in did not finish. You can close this page.",
            Err(fail(
                Kind::AuthRefused,
                format!(
                    "the sign-in was declined at the provider: {}",
                    error.unwrap_or_else(|| "no code came back".to_string())
                ),
            )),
        ),
    };
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = stream.write_all(reply.as_bytes());
    result
}
