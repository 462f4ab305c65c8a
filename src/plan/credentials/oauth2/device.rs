//! The device authorization grant (RFC 8628) that `--oauth2-login` runs: ask the device
//! endpoint for a code, let the user enter it at the provider's page, poll the token
//! endpoint as the provider says (`authorization_pending`, `slow_down`), and keep the
//! refresh token it grants.

use std::time::Duration;

use super::endpoint::{self, Reply};
use super::store::{Saved, Store};
use super::*;

/// The grant type of a device code (RFC 8628 §3.4).
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What the device endpoint gave: the code for the user and where to enter it.
pub struct Started {
    /// The code the client polls with: a secret.
    pub device_code: Secret,
    /// The code the user types at the page.
    pub user_code: String,
    pub verification_uri: String,
    /// The page with the code filled in, when the provider gives one.
    pub verification_uri_complete: Option<String>,
    /// How long the codes are valid.
    pub expires_in: Duration,
    /// How long to wait between two polls (5 s unless the provider says).
    pub interval: Duration,
}

/// What one poll found.
pub enum Poll {
    /// The user has not finished yet: wait and poll again.
    Pending,
    /// Polling too fast: wait 5 s longer from now on.
    SlowDown,
    /// Signed in: the token reply.
    Granted(Reply),
}

impl OAuth2 {
    /// Asks the device endpoint for a user code (RFC 8628 §3.1, §3.2).
    pub fn device_start(&self) -> anyhow::Result<Started> {
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("scope", self.scope.as_str()),
        ];
        let secret = self.client_secret()?;
        if let Some(secret) = &secret {
            form.push(("client_secret", secret.expose()));
        }
        let reply = endpoint::post(&self.http, &self.device_url, &form, "device endpoint")?;
        if reply.error().is_some() || !(200..300).contains(&reply.status) {
            let kind = match reply.status {
                500.. => Kind::TempFail,
                _ => Kind::Config,
            };
            return Err(fail(
                kind,
                format!(
                    "{} refused to start the sign-in for account {}: {}",
                    self.provider,
                    self.account,
                    reply.error_text()
                ),
            ));
        }
        let incomplete = |what: &str| {
            fail(
                Kind::Protocol,
                format!("the device endpoint {} gave no {what}", self.device_url),
            )
        };
        Ok(Started {
            device_code: reply
                .secret("device_code")
                .ok_or_else(|| incomplete("device_code"))?,
            user_code: reply
                .text("user_code")
                .ok_or_else(|| incomplete("user_code"))?,
            // Google says verification_url, RFC 8628 verification_uri.
            verification_uri: reply
                .text("verification_uri")
                .or_else(|| reply.text("verification_url"))
                .ok_or_else(|| incomplete("verification_uri"))?,
            verification_uri_complete: reply.text("verification_uri_complete"),
            expires_in: Duration::from_secs(reply.seconds("expires_in").unwrap_or(900).min(3600)),
            interval: Duration::from_secs(reply.seconds("interval").unwrap_or(5).clamp(1, 60)),
        })
    }

    /// Polls the token endpoint once (RFC 8628 §3.4, §3.5).
    pub fn device_poll(&self, started: &Started) -> anyhow::Result<Poll> {
        let mut form = vec![
            ("grant_type", DEVICE_GRANT),
            ("device_code", started.device_code.expose()),
            ("client_id", self.client_id.as_str()),
        ];
        let secret = self.client_secret()?;
        if let Some(secret) = &secret {
            form.push(("client_secret", secret.expose()));
        }
        let reply = endpoint::post(&self.http, &self.token_url, &form, "token endpoint")?;
        let again = format!(
            "run smtpsend --oauth2-login --account {} again",
            self.account
        );
        match reply.error() {
            None if (200..300).contains(&reply.status) => Ok(Poll::Granted(reply)),
            Some("authorization_pending") => Ok(Poll::Pending),
            Some("slow_down") => Ok(Poll::SlowDown),
            Some("expired_token") => Err(fail(
                Kind::TempFail,
                format!("the code expired before the sign-in was finished; {again}"),
            )),
            Some("access_denied") => Err(fail(
                Kind::AuthRefused,
                format!(
                    "the sign-in was declined at {}: {}",
                    self.provider,
                    reply.error_text()
                ),
            )),
            _ if reply.status >= 500 => Err(fail(
                Kind::TempFail,
                format!(
                    "the token endpoint {} failed: {}",
                    self.token_url,
                    reply.error_text()
                ),
            )),
            _ => Err(fail(
                Kind::Config,
                format!(
                    "{} refused the sign-in of account {}: {}",
                    self.provider,
                    self.account,
                    reply.error_text()
                ),
            )),
        }
    }

    /// Keeps what the sign-in granted: the refresh token in the store (or the keyring),
    /// the access token cached. Returns where the refresh token went, for the user.
    pub fn finish_login(&self, reply: &Reply) -> anyhow::Result<String> {
        if reply.secret("refresh_token").is_none() {
            return Err(fail(
                Kind::Config,
                format!(
                    "{} granted no refresh token, so a send could not renew the access token \
                     (the scope must allow offline access: {})",
                    self.provider, self.scope
                ),
            ));
        }
        let store = Store::open(&self.account, true)?.expect("created");
        let _lock = store.lock(self.http.timeout)?;
        self.keep(&store, Saved::default(), reply, None)?;
        Ok(match &self.keyring {
            Some(_) => "handed to oauth2-store-command".to_string(),
            None => format!("stored in {}", store.path().display()),
        })
    }
}
