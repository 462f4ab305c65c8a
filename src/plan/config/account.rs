//! One account of the configuration file: its keys (every one optional), and how its
//! `from` picks it for a sender.

use super::*;

/// One named account; every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Account {
    pub server: Option<Spanned<String>>,
    pub tls: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub password_command: Option<Spanned<String>>,
    pub password_file: Option<Spanned<PathBuf>>,
    /// A password in clear; the file must then be readable by its owner only. No error
    /// shows its value.
    #[serde(default, deserialize_with = "secret_value")]
    pub password: Option<Spanned<Secret>>,
    /// The sender, `addr` or `Name <addr>`; or a pattern such as `*@example.com` that only
    /// picks the account.
    pub from: Option<Spanned<String>>,
    pub ehlo_name: Option<Spanned<String>>,
    /// The domain appended to bare user names (`root` becomes `root@DOMAIN`).
    pub qualify_domain: Option<Spanned<String>>,
    /// The local address to connect from.
    pub source_address: Option<Spanned<String>>,
    pub timeout: Option<Spanned<Seconds>>,
    pub auth: Option<Spanned<String>>,
    /// When messages go through the outbox: `never`, `on-failure` or `always`.
    pub queue: Option<Spanned<String>>,
    /// How many times to try again after a temporary failure.
    pub retries: Option<Spanned<u32>>,
    /// Bound on the whole run, in seconds (0: none).
    pub max_time: Option<Spanned<Seconds>>,
    /// Connections at once for `--bulk` and `-q`.
    pub parallel: Option<Spanned<usize>>,
    /// Messages written ahead of their replies on each connection.
    pub window: Option<Spanned<usize>>,
    /// Trust only the CA certificates in this PEM file (`--tls-ca-file`); the OAuth2 token
    /// endpoint is checked against it too.
    pub tls_ca_file: Option<Spanned<PathBuf>>,
    /// The pinned server certificate (`--tls-fingerprint`).
    pub tls_fingerprint: Option<Spanned<String>>,
    /// The lowest TLS version (`--tls-min-version`).
    pub tls_min_version: Option<Spanned<String>>,
    /// The name the certificate is checked against (`--tls-server-name`).
    pub tls_server_name: Option<Spanned<String>>,
    /// A proxy URL (`--proxy`), or `env`.
    pub proxy: Option<Spanned<String>>,
    /// The proxy user's password: a file, or a command printing it.
    pub proxy_password_file: Option<Spanned<PathBuf>>,
    pub proxy_password_command: Option<Spanned<String>>,
    /// A provider preset: the server, port, TLS mode and login mechanism of a known provider.
    pub provider: Option<Spanned<String>>,
    /// OAuth2 instead of a password: `google`, `microsoft` or `custom`.
    pub oauth2: Option<Spanned<String>>,
    pub oauth2_client_id: Option<Spanned<String>>,
    /// A command printing the client secret (a public client has none).
    pub oauth2_client_secret_command: Option<Spanned<String>>,
    /// The endpoints and scope (required for `custom`; they replace a preset's).
    pub oauth2_token_url: Option<Spanned<String>>,
    pub oauth2_device_url: Option<Spanned<String>>,
    /// The authorization page: with it, `--oauth2-login` signs in through a browser on this
    /// machine (authorization code with PKCE) instead of with a device code.
    pub oauth2_auth_url: Option<Spanned<String>>,
    pub oauth2_scope: Option<Spanned<String>>,
    /// Keep the refresh token with these commands (a keyring) instead of the token store:
    /// the first gets it on stdin, the second prints it.
    pub oauth2_store_command: Option<Spanned<String>>,
    pub oauth2_refresh_token_command: Option<Spanned<String>>,
    /// An aliases(5) file: local recipients (`root`) are replaced by its addresses.
    pub aliases: Option<Spanned<PathBuf>>,
    /// Rewrite bare local names in To, Cc and From too (not only the envelope).
    pub rewrite_local_headers: Option<Spanned<bool>>,
    /// When the From field is set to the sender: `auto` (when missing), `always`, `never`.
    pub set_from_header: Option<Spanned<String>>,
    /// Append one line per message and attempt to this file.
    pub log_file: Option<Spanned<PathBuf>>,
    /// Write the same line to the system log with this facility (`mail`, `user`, `local0`…).
    pub syslog: Option<Spanned<String>>,
    /// `from` as written, when it held `%U`-style substitutions (`from` holds the result).
    #[serde(skip)]
    pub from_pattern: Option<String>,
}

impl Account {
    /// The sender the account gives when `from` is an address rather than a pattern.
    pub fn sender(&self) -> Option<Mailbox> {
        let from = self.from.as_ref()?.get_ref();
        if is_pattern(from) {
            return None;
        }
        Mailbox::parse(from).ok()
    }

    /// True when `address` matches `from` (an address, or a pattern with `*` and `?`).
    pub fn matches_sender(&self, address: &str) -> Option<Match> {
        let from = self.from.as_ref()?.get_ref();
        if is_pattern(from) {
            return glob_matches(from, address).then_some(Match::Pattern(from.len()));
        }
        let mailbox = Mailbox::parse(from).ok()?;
        mailbox
            .address
            .eq_ignore_ascii_case(address)
            .then_some(Match::Exact)
    }
}

/// How well an account's `from` matched the sender: exact beats any pattern, a longer
/// pattern beats a shorter one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    Pattern(usize),
    Exact,
}

/// A number of seconds, written as an integer or a float.
#[derive(Debug, Clone, Copy)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds")
            }
            fn visit_i64<E>(self, value: i64) -> Result<Seconds, E> {
                Ok(Seconds(value as f64))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Seconds, E> {
                Ok(Seconds(value as f64))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Seconds, E> {
                Ok(Seconds(value))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
