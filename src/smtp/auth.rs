//! SASL login (RFC 4954): PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER (RFC 7628) and
//! SCRAM-SHA-256 (RFC 5802, RFC 7677). Every line the client sends is shown as `<redacted>`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use smtp_proto::{
    AUTH_CRAM_MD5, AUTH_LOGIN, AUTH_OAUTHBEARER, AUTH_PLAIN, AUTH_SCRAM_SHA_256, AUTH_XOAUTH2,
};

use crate::base::exit::{Kind, fail};
use crate::smtp::command::Auth;
use crate::smtp::connection::Connection;
use crate::smtp::reply::{Capabilities, Expect, Reply};

pub use crate::base::secret::Secret;

mod scram;
use scram::*;

mod pipelined;
pub use pipelined::PipelinedLogin;

/// The SASL mechanism to use (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mechanism {
    /// The strongest the server offers: SCRAM-SHA-256, then PLAIN/LOGIN over TLS, then CRAM-MD5.
    #[default]
    Auto,
    Plain,
    Login,
    CramMd5,
    Xoauth2,
    Oauthbearer,
    ScramSha256,
}

impl Mechanism {
    pub const ALL: [Mechanism; 7] = [
        Mechanism::Auto,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::Xoauth2,
        Mechanism::Oauthbearer,
        Mechanism::ScramSha256,
    ];

    /// What `auto` means, for the help text.
    pub const AUTO_MEANS: &'static str =
        "The strongest the server offers: SCRAM-SHA-256, then PLAIN/LOGIN over TLS, then CRAM-MD5";

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Auto => "auto",
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::Xoauth2 => "XOAUTH2",
            Mechanism::Oauthbearer => "OAUTHBEARER",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }

    /// The name in options and the configuration file: `cram-md5`.
    pub fn value_name(self) -> &'static str {
        match self {
            Mechanism::Auto => "auto",
            Mechanism::Plain => "plain",
            Mechanism::Login => "login",
            Mechanism::CramMd5 => "cram-md5",
            Mechanism::Xoauth2 => "xoauth2",
            Mechanism::Oauthbearer => "oauthbearer",
            Mechanism::ScramSha256 => "scram-sha-256",
        }
    }

    fn flag(self) -> u64 {
        match self {
            Mechanism::Auto => 0,
            Mechanism::Plain => AUTH_PLAIN,
            Mechanism::Login => AUTH_LOGIN,
            Mechanism::CramMd5 => AUTH_CRAM_MD5,
            Mechanism::Xoauth2 => AUTH_XOAUTH2,
            Mechanism::Oauthbearer => AUTH_OAUTHBEARER,
            Mechanism::ScramSha256 => AUTH_SCRAM_SHA_256,
        }
    }

    /// Parses a value such as `cram-md5` (any case).
    pub fn parse(value: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|mechanism| mechanism.name().eq_ignore_ascii_case(value))
    }
}

/// Who to log in as, and how.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: String,
    /// The password, or the OAuth token for XOAUTH2 and OAUTHBEARER.
    pub secret: Secret,
    pub mechanism: Mechanism,
    /// For a token that can be renewed (OAuth2): what gives a fresh one when the server
    /// refuses this one. The login is then tried once more.
    pub renew: Option<Renewal>,
}

/// Gives a fresh token in place of the one the server refused (`Err` when none can be had:
/// the error then decides the exit code).
#[derive(Clone)]
pub struct Renewal(pub std::sync::Arc<Renew>);

/// The function behind a [`Renewal`]: the refused token in, a fresh one out.
pub type Renew = dyn Fn(&Secret) -> anyhow::Result<Secret> + Send + Sync;

impl std::fmt::Debug for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Renewal")
    }
}

/// Where the session stands when it is time to log in.
pub(super) struct Channel<'a> {
    pub conn: &'a mut Connection,
    pub capabilities: &'a Capabilities,
    pub timeout: Duration,
    pub encrypted: bool,
    /// The host name and port, for OAUTHBEARER.
    pub host: &'a str,
    pub port: u16,
}

/// Logs in; returns the mechanism used. Refusals: 5xx → 77, 4xx → 75.
pub(super) fn authenticate(channel: Channel<'_>, login: &Login) -> anyhow::Result<Mechanism> {
    let mechanism = chosen(&channel, login)?;
    let mut exchange = Exchange::start(mechanism, login, channel.host, channel.port);
    let conn = channel.conn;
    match initial_command(&mut exchange) {
        Some((line, visible)) => conn.send_secret(line.as_bytes(), &visible)?,
        None => {
            let command = Auth {
                mechanism: mechanism.name(),
                initial_response: None,
            };
            conn.send(command.to_string().as_bytes())?
        }
    }
    let waiting = format!("the reply to AUTH {}", mechanism.name());
    let mut reply = conn.read_reply(channel.timeout, &waiting, Expect::Auth)?;
    let mut rounds = 0;
    while reply.code == 334 {
        rounds += 1;
        let challenge = reply.lines.first().map(String::as_str).unwrap_or("").trim();
        let decoded = BASE64.decode(challenge);
        let response = match decoded {
            Ok(challenge) if rounds <= 8 => exchange.challenge(&challenge),
            _ => Err(fail(
                Kind::Protocol,
                format!(
                    "the server's AUTH {} challenge is not valid base64",
                    mechanism.name()
                ),
            )),
        };
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                conn.send(b"*\r\n")?;
                let _ = conn.read_reply(channel.timeout, &waiting, Expect::Auth);
                return Err(err);
            }
        };
        exchange.register_sent(&response);
        conn.send_secret(format!("{}\r\n", BASE64.encode(response)).as_bytes(), "")?;
        reply = conn.read_reply(channel.timeout, &waiting, Expect::Auth)?;
    }
    if reply.is_positive() {
        exchange.finished()?;
        return Ok(mechanism);
    }
    Err(refused(
        &reply,
        &login.user,
        mechanism,
        exchange.server_error.as_deref(),
    ))
}

/// The mechanism to log in with: the one asked for, or the strongest offered.
fn chosen(channel: &Channel<'_>, login: &Login) -> anyhow::Result<Mechanism> {
    let offered = channel.capabilities.ehlo.auth_mechanisms;
    choose(
        login.mechanism,
        offered,
        channel.encrypted,
        channel.capabilities,
    )
}

/// The AUTH command with its initial response, when the mechanism sends one, and what the
/// transcript may show of it; what carries the secret is registered with the scrubber.
fn initial_command(exchange: &mut Exchange<'_>) -> Option<(String, String)> {
    let response = exchange.initial_response()?;
    exchange.register_sent(&response);
    let encoded = match response.is_empty() {
        true => "=".to_string(),
        false => BASE64.encode(&response),
    };
    let command = Auth {
        mechanism: exchange.mechanism.name(),
        initial_response: Some(&encoded),
    };
    Some((command.to_string(), command.visible()))
}

/// The error for a refused login: 5xx → 77, 4xx → 75, marked as a [`LoginRefused`].
fn refused(
    reply: &Reply,
    user: &str,
    mechanism: Mechanism,
    server_error: Option<&str>,
) -> anyhow::Error {
    let kind = if reply.is_transient() {
        Kind::TempFail
    } else {
        Kind::AuthRefused
    };
    fail(
        kind,
        format!(
            "authentication as {user} ({}) refused: {}",
            mechanism.name(),
            reply_text(reply, server_error)
        ),
    )
    .context(LoginRefused)
}

/// Marks an error as the server refusing the login: no message was sent, and every other
/// session with the same login would be refused the same way.
#[derive(Debug)]
pub struct LoginRefused;

impl std::fmt::Display for LoginRefused {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

impl std::error::Error for LoginRefused {}

/// True when the error is the server refusing the login (see [`LoginRefused`]).
pub fn login_refused(err: &anyhow::Error) -> bool {
    err.downcast_ref::<LoginRefused>().is_some()
}

fn reply_text(reply: &Reply, server_error: Option<&str>) -> String {
    match server_error {
        Some(detail) => format!("{reply} ({detail})"),
        None => reply.to_string(),
    }
}

/// The mechanism to use: the one asked for when offered, or the strongest offered.
fn choose(
    wanted: Mechanism,
    offered: u64,
    encrypted: bool,
    capabilities: &Capabilities,
) -> anyhow::Result<Mechanism> {
    let offered_names = || {
        capabilities
            .lines
            .iter()
            .find_map(|line| {
                let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
                keyword
                    .eq_ignore_ascii_case("AUTH")
                    .then(|| rest.to_string())
            })
            .filter(|names| !names.trim().is_empty())
    };
    if wanted != Mechanism::Auto {
        if offered & wanted.flag() != 0 {
            return Ok(wanted);
        }
        return Err(fail(
            Kind::Unavailable,
            match offered_names() {
                Some(names) => format!(
                    "the server does not offer AUTH {} (it offers: {names})",
                    wanted.name()
                ),
                None => format!(
                    "the server offers no authentication (AUTH {} was asked for)",
                    wanted.name()
                ),
            },
        ));
    }
    let mut order = vec![Mechanism::ScramSha256];
    if encrypted {
        order.extend([Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5]);
    } else {
        // Only reached for a loopback address or a unix socket.
        order.extend([Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login]);
    }
    order
        .into_iter()
        .find(|m| offered & m.flag() != 0)
        .ok_or_else(|| {
            fail(
                Kind::Unavailable,
                match offered_names() {
                    Some(names) => format!(
                        "the server offers no usable authentication mechanism (it offers: {names}; smtpsend speaks SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER)"
                    ),
                    None => "a user name is set but the server offers no authentication (no AUTH in its EHLO reply)".to_string(),
                },
            )
        })
}

/// One SASL conversation.
struct Exchange<'a> {
    mechanism: Mechanism,
    login: &'a Login,
    host: &'a str,
    port: u16,
    step: usize,
    scram: Option<Scram>,
    /// What the server said when it refused (XOAUTH2/OAUTHBEARER send JSON in a 334).
    server_error: Option<String>,
}

impl<'a> Exchange<'a> {
    fn start(mechanism: Mechanism, login: &'a Login, host: &'a str, port: u16) -> Exchange<'a> {
        Exchange {
            mechanism,
            login,
            host,
            port,
            step: 0,
            scram: None,
            server_error: None,
        }
    }

    /// The initial response sent with the AUTH command, if the mechanism has one.
    fn initial_response(&mut self) -> Option<Vec<u8>> {
        let user = &self.login.user;
        let secret = self.login.secret.expose();
        match self.mechanism {
            Mechanism::Plain => Some(format!("\0{user}\0{secret}").into_bytes()),
            Mechanism::Xoauth2 => {
                Some(format!("user={user}\x01auth=Bearer {secret}\x01\x01").into_bytes())
            }
            Mechanism::Oauthbearer => Some(
                format!(
                    "n,a={},\x01host={}\x01port={}\x01auth=Bearer {secret}\x01\x01",
                    sasl_name(user),
                    self.host,
                    self.port
                )
                .into_bytes(),
            ),
            Mechanism::ScramSha256 => {
                let scram = Scram::new(user, &client_nonce());
                let first = scram.client_first();
                self.scram = Some(scram);
                Some(first.into_bytes())
            }
            Mechanism::Login | Mechanism::CramMd5 | Mechanism::Auto => None,
        }
    }

    /// The answer to one 334 challenge.
    fn challenge(&mut self, challenge: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.step += 1;
        let user = &self.login.user;
        let secret = self.login.secret.expose();
        match (self.mechanism, self.step) {
            (Mechanism::Login, 1) => Ok(user.as_bytes().to_vec()),
            (Mechanism::Login, 2) => Ok(secret.as_bytes().to_vec()),
            (Mechanism::CramMd5, 1) => Ok(cram_md5(user, secret, challenge).into_bytes()),
            (Mechanism::Xoauth2, 1) => {
                // The token was refused: the server explains in JSON and waits for an empty line.
                self.server_error = Some(String::from_utf8_lossy(challenge).into_owned());
                Ok(Vec::new())
            }
            (Mechanism::Oauthbearer, 1) => {
                self.server_error = Some(String::from_utf8_lossy(challenge).into_owned());
                Ok(b"\x01".to_vec())
            }
            (Mechanism::ScramSha256, step @ (1 | 2)) => {
                let scram = self
                    .scram
                    .as_mut()
                    .expect("SCRAM state from the first message");
                let text = std::str::from_utf8(challenge)
                    .map_err(|_| scram_error("a server message is not UTF-8"))?;
                if step == 1 {
                    Ok(scram.client_final(text, secret)?.into_bytes())
                } else {
                    scram.verify_server_final(text)?;
                    Ok(Vec::new())
                }
            }
            _ => Err(fail(
                Kind::Protocol,
                format!(
                    "the server sent an unexpected AUTH {} challenge",
                    self.mechanism.name()
                ),
            )),
        }
    }

    /// Registers a response about to be sent with the scrubber when it carries the secret
    /// (PLAIN's `\0user\0password`, the OAuth strings), so that a server echoing it back,
    /// raw or in base64, gets it redacted. LOGIN sends the password alone (registered
    /// already); the user name, SCRAM's first message and CRAM-MD5's digest are no secrets.
    fn register_sent(&self, response: &[u8]) {
        let secret = self.login.secret.expose().as_bytes();
        if !secret.is_empty()
            && response != secret
            && response
                .windows(secret.len())
                .any(|window| window == secret)
        {
            crate::base::secret::register(response);
        }
    }

    /// Checks the exchange is complete once the server said 235.
    fn finished(&self) -> anyhow::Result<()> {
        match &self.scram {
            Some(scram) if !scram.server_verified => Err(scram_error(
                "the server accepted the login without proving it knows the password (no server signature)",
            )),
            _ => Ok(()),
        }
    }
}

/// CRAM-MD5 (RFC 2195): the user and the hex HMAC-MD5 of the challenge keyed by the password.
fn cram_md5(user: &str, secret: &str, challenge: &[u8]) -> String {
    let mut mac = Hmac::<md5::Md5>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(challenge);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{user} {hex}")
}

/// A SASL name with `=` and `,` escaped (RFC 5802 §5.1).
fn sasl_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

#[cfg(test)]
mod tests;
