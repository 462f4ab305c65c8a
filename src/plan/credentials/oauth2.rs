//! OAuth2 as a password source (RFC 6749): a send gets an access token, from the cache in
//! the token store while it has more than five minutes left, else from the provider's
//! token endpoint with the refresh token (a rotated refresh token is stored atomically);
//! when the server refuses the token anyway, once more with a fresh one. The refresh token
//! comes from `smtpsend --oauth2-login` (RFC 8628 device authorization, see [`device`]),
//! kept in the store or in the user's keyring through two commands.
//!
//! Every token, the client secret and the device code is a [`Secret`] the moment it is
//! read; none is ever printed, put in argv or written anywhere but the 0600 store (and the
//! keyring command's stdin).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::base::exit::{Kind, fail};
use crate::base::secret::Secret;

pub mod browser;
pub mod config;
pub mod device;
pub mod endpoint;
pub mod store;

use endpoint::{Http, Reply};
use store::{Saved, Store, now};

/// A cached access token is refreshed when it has less than this many seconds left.
pub const REFRESH_MARGIN: u64 = 5 * 60;

/// The endpoints and scope of a provider preset.
pub struct Endpoints {
    pub token_url: &'static str,
    pub device_url: &'static str,
    /// The authorization page, for providers whose device grant does not cover mail.
    pub auth_url: Option<&'static str>,
    pub scope: &'static str,
}

/// Google (developers.google.com/identity/protocols/oauth2/limited-input-device) and
/// Microsoft's identity platform (learn.microsoft.com/entra/identity-platform/
/// v2-oauth2-device-code), with the scopes their SMTP servers ask for.
pub fn endpoints(provider: &str) -> Option<Endpoints> {
    match provider {
        "google" => Some(Endpoints {
            token_url: "https://oauth2.googleapis.com/token",
            device_url: "https://oauth2.googleapis.com/device/code",
            // Google's device grant does not allow the Gmail scope: sign in in a browser.
            auth_url: Some("https://accounts.google.com/o/oauth2/v2/auth"),
            scope: "https://mail.google.com/",
        }),
        "microsoft" => Some(Endpoints {
            token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            device_url: "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
            auth_url: None,
            scope: "https://outlook.office.com/SMTP.Send offline_access",
        }),
        _ => None,
    }
}

/// An account's OAuth2 settings, resolved.
#[derive(Debug, Clone)]
pub struct OAuth2 {
    /// The account name: the store file is `ACCOUNT.json`.
    pub account: String,
    /// `google`, `microsoft` or `custom`.
    pub provider: String,
    pub client_id: String,
    /// A command printing the client secret (a public client has none).
    pub client_secret_command: Option<String>,
    pub token_url: String,
    pub device_url: String,
    /// With an authorization page, `--oauth2-login` uses a browser ([`browser`]).
    pub auth_url: Option<String>,
    pub scope: String,
    /// The keyring commands: the first gets a refresh token on stdin, the second prints it.
    pub keyring: Option<(String, String)>,
    pub http: Http,
}

/// The access tokens this run got, by account: a batch's later sessions, and a renewal
/// after another session already renewed, take it from here.
static TOKENS: Mutex<Vec<(String, Secret, u64)>> = Mutex::new(Vec::new());

impl OAuth2 {
    /// An access token with more than [`REFRESH_MARGIN`] left: this run's, the store's, or
    /// a fresh one from the token endpoint.
    pub fn access_token(&self) -> anyhow::Result<Secret> {
        if let Some(token) = self.remembered(None) {
            return Ok(token);
        }
        self.refresh(false)
    }

    /// A token in place of `refused`: this run's newer one when there is one, else a fresh
    /// one from the token endpoint whatever the cache says.
    pub fn renew(&self, refused: &Secret) -> anyhow::Result<Secret> {
        if let Some(token) = self.remembered(Some(refused)) {
            return Ok(token);
        }
        self.refresh(true)
    }

    /// What makes a refused token a fresh one, for the login.
    pub fn renewal(self: &Arc<Self>) -> crate::smtp::auth::Renewal {
        let oauth = Arc::clone(self);
        crate::smtp::auth::Renewal(Arc::new(move |refused: &Secret| oauth.renew(refused)))
    }

    fn remembered(&self, refused: Option<&Secret>) -> Option<Secret> {
        let tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .iter()
            .rev()
            .find(|(account, token, expires)| {
                *account == self.account
                    && Some(token) != refused
                    && *expires > now().saturating_add(REFRESH_MARGIN)
            })
            .map(|(_, token, _)| token.clone())
    }

    fn remember(&self, token: &Secret, expires_at: u64) {
        let mut tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
        tokens.push((self.account.clone(), token.clone(), expires_at));
    }

    /// Under the store's lock: the cached token (unless `force`), else the refresh grant.
    fn refresh(&self, force: bool) -> anyhow::Result<Secret> {
        let store = Store::open(&self.account, true)?.expect("created");
        let _lock = store.lock(self.http.timeout)?;
        let saved = store.load()?.unwrap_or_default();
        if !force
            && let Some(token) =
                saved.fresh_access_token(&self.token_url, &self.client_id, REFRESH_MARGIN)
        {
            self.remember(&token, saved.expires_at);
            self.note(&format!(
                "the cached access token ({})",
                left(saved.expires_at)
            ));
            return Ok(token);
        }
        let refresh_token = self.refresh_token(&saved)?;
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", self.client_id.as_str()),
        ];
        let secret = self.client_secret()?;
        if let Some(secret) = &secret {
            form.push(("client_secret", secret.expose()));
        }
        let reply = endpoint::post(&self.http, &self.token_url, &form, "token endpoint")?;
        if reply.error().is_some() || !(200..300).contains(&reply.status) {
            return Err(self.refresh_refused(&reply));
        }
        let token = self.keep(&store, saved, &reply, Some(&refresh_token))?;
        let expires_at = now().saturating_add(reply.seconds("expires_in").unwrap_or(3600));
        self.note(&format!(
            "a fresh access token from {} ({})",
            self.token_url,
            left(expires_at)
        ));
        Ok(token)
    }

    /// With `-d`, a transcript line saying which access token the login uses.
    fn note(&self, what: &str) {
        if self.http.debug {
            crate::base::output::print_transcript_line(&format!(
                "oauth2: account {} logs in with {what}",
                self.account
            ));
        }
    }

    /// Stores what a token reply granted (a rotated refresh token in place of the old one)
    /// and returns the access token.
    pub fn keep(
        &self,
        store: &Store,
        saved: Saved,
        reply: &Reply,
        old_refresh: Option<&Secret>,
    ) -> anyhow::Result<Secret> {
        let access = reply.secret("access_token").ok_or_else(|| {
            fail(
                Kind::Protocol,
                format!(
                    "the token endpoint {} granted no access_token",
                    self.token_url
                ),
            )
        })?;
        // A bearer token is printable ASCII without spaces (RFC 6750 §2.1); anything else
        // would change the SASL string it goes into.
        if !access.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(fail(
                Kind::Protocol,
                format!(
                    "the token endpoint {} granted an access token with characters no token has",
                    self.token_url
                ),
            ));
        }
        let expires_at = now().saturating_add(reply.seconds("expires_in").unwrap_or(3600));
        let rotated = reply
            .secret("refresh_token")
            .filter(|token| Some(token) != old_refresh);
        let mut saved = Saved {
            token_url: self.token_url.clone(),
            client_id: self.client_id.clone(),
            access_token: Some(access.expose().to_string()),
            expires_at,
            ..saved
        };
        match (&self.keyring, &rotated) {
            (Some((store_command, _)), Some(token)) => {
                self.hand_to_keyring(store_command, token)?
            }
            (None, Some(token)) => saved.refresh_token = Some(token.expose().to_string()),
            _ => {}
        }
        if self.keyring.is_some() {
            saved.refresh_token = None;
        }
        store.save(&saved)?;
        self.remember(&access, expires_at);
        Ok(access)
    }

    /// The refresh token: from the keyring command, or the store.
    fn refresh_token(&self, saved: &Saved) -> anyhow::Result<Secret> {
        if let Some((_, read_command)) = &self.keyring {
            let label = format!("oauth2-refresh-token-command in account {}", self.account);
            let bytes = super::command::from_command(read_command, &label, self.http.timeout)?;
            let text = super::check_password(&bytes, &label)?;
            return Ok(Secret::new(text.to_string()));
        }
        saved
            .refresh_token
            .clone()
            .filter(|_| saved.client_id == self.client_id)
            .map(Secret::new)
            .ok_or_else(|| {
                fail(
                    Kind::AuthRefused,
                    format!(
                        "account {} is not signed in to {} (no refresh token in {}): run \
                         smtpsend --oauth2-login --account {}",
                        self.account,
                        self.provider,
                        store::path_of(&self.account),
                        self.account
                    ),
                )
            })
    }

    /// Hands a refresh token to the keyring's store command, on its stdin.
    pub fn hand_to_keyring(&self, command: &str, token: &Secret) -> anyhow::Result<()> {
        let label = format!("oauth2-store-command in account {}", self.account);
        super::command::run_with_input(
            command,
            &label,
            self.http.timeout,
            token.expose().as_bytes(),
        )
    }

    /// The client secret, from its command; `None` for a public client.
    pub fn client_secret(&self) -> anyhow::Result<Option<Secret>> {
        let Some(command) = &self.client_secret_command else {
            return Ok(None);
        };
        let label = format!("oauth2-client-secret-command in account {}", self.account);
        let bytes = super::command::from_command(command, &label, self.http.timeout)?;
        let text = super::check_password(&bytes, &label)?;
        Ok(Some(Secret::new(text.to_string())))
    }

    /// The refusal of a refresh: a refresh token the provider no longer honours (revoked,
    /// expired, for another client) is 77 with the way out; a client it does not know is a
    /// configuration error; a server error is temporary.
    fn refresh_refused(&self, reply: &Reply) -> anyhow::Error {
        let login = format!("run smtpsend --oauth2-login --account {}", self.account);
        let text = reply.error_text();
        let (kind, message) = match reply.error() {
            Some("invalid_grant") => (
                Kind::AuthRefused,
                format!(
                    "{} refused the refresh token of account {}: {text}; {login}",
                    self.provider, self.account
                ),
            ),
            Some("invalid_client" | "unauthorized_client" | "invalid_scope") => (
                Kind::Config,
                format!(
                    "{} refused the client of account {}: {text} (check oauth2-client-id and its secret)",
                    self.provider, self.account
                ),
            ),
            _ if reply.status >= 500 || reply.status == 429 => (
                Kind::TempFail,
                format!("the token endpoint {} failed: {text}", self.token_url),
            ),
            _ => (
                Kind::AuthRefused,
                format!(
                    "the token endpoint {} refused to refresh the token: {text}; {login}",
                    self.token_url
                ),
            ),
        };
        fail(kind, message)
    }

    /// The sign-in state for `--show-config`: signed in or not, the access token's time
    /// left, where the refresh token is kept (never a token).
    fn status(&self) -> Status {
        let kept = match &self.keyring {
            Some(_) => None,
            None => Some(store::path_of(&self.account)),
        };
        let saved = Store::open(&self.account, false)
            .ok()
            .flatten()
            .and_then(|store| store.load().ok().flatten());
        let signed_in =
            self.keyring.is_some() || saved.as_ref().is_some_and(|s| s.refresh_token.is_some());
        let expires_at = saved
            .filter(|s| s.access_token.is_some() && s.token_url == self.token_url)
            .map(|s| s.expires_at);
        Status {
            signed_in,
            expires_in_minutes: expires_at.map(|at| at.saturating_sub(now()) / 60),
            expired: expires_at.is_some_and(|at| at <= now()),
            kept,
        }
    }

    /// The sign-in state as `--show-config` shows it.
    pub fn state(&self) -> String {
        let status = self.status();
        if !status.signed_in {
            return format!(
                "{}: not signed in (run smtpsend --oauth2-login --account {})",
                self.provider, self.account
            );
        }
        let access = match status.expires_in_minutes {
            Some(_) if status.expired => {
                "access token expired, refreshed at the next send".to_string()
            }
            Some(minutes) => format!("access token expires in {minutes} min"),
            None => "no access token yet".to_string(),
        };
        let kept = match &status.kept {
            None => "refresh token in the keyring (oauth2-refresh-token-command)".to_string(),
            Some(path) => format!("refresh token in {path}"),
        };
        format!("{}: signed in; {access}; {kept}", self.provider)
    }

    /// The sign-in state as `--show-config --json` gives it: `provider`, `signed_in`,
    /// `access_token_expires_in_minutes` (null without a live token), `refresh_token_store`
    /// (a path, or `"keyring"`).
    pub fn state_json(&self) -> serde_json::Value {
        let status = self.status();
        serde_json::json!({
            "provider": self.provider.to_string(),
            "signed_in": status.signed_in,
            "access_token_expires_in_minutes":
                status.expires_in_minutes.filter(|_| !status.expired),
            "refresh_token_store": status.kept.as_deref().unwrap_or("keyring"),
        })
    }
}

/// What `--show-config` says of the sign-in.
struct Status {
    signed_in: bool,
    expires_in_minutes: Option<u64>,
    expired: bool,
    /// The store's path; `None` for the keyring.
    kept: Option<String>,
}

/// How long a token has left: `expires in 52 min`.
fn left(expires_at: u64) -> String {
    format!("expires in {} min", expires_at.saturating_sub(now()) / 60)
}

/// A deadline as people write it.
pub fn minutes(duration: Duration) -> String {
    let minutes = duration.as_secs().div_ceil(60);
    match minutes {
        1 => "1 minute".to_string(),
        n => format!("{n} minutes"),
    }
}
