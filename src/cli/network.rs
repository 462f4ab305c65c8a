//! The options about how the server is reached beyond `--tls`: a pinned certificate, the
//! lowest TLS version, the name to check, a proxy (flattened into [`Cli`]).

use super::*;
use crate::smtp::proxy::Proxy;
use crate::smtp::tls::{Fingerprint, TlsVersion};

/// TLS policy and the proxy.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NetworkArgs {
    /// Accept only the server certificate with this SHA-256 fingerprint (as --server-info
    /// prints it), whoever issued it, a self-signed one too; any other is refused (69).
    /// Implies TLS
    #[arg(
        long,
        value_name = "SHA256",
        env = "SMTPSEND_TLS_FINGERPRINT",
        value_parser = parse_fingerprint,
        conflicts_with = "insecure_skip_verify"
    )]
    pub tls_fingerprint: Option<Fingerprint>,

    /// The lowest TLS version to accept (default 1.2)
    #[arg(
        long,
        value_name = "VERSION",
        env = "SMTPSEND_TLS_MIN_VERSION",
        value_parser = tls_versions()
    )]
    pub tls_min_version: Option<TlsVersion>,

    /// The name to send as SNI and to check the server certificate against, when it is not
    /// the server's host name (connecting by address or through a tunnel)
    #[arg(long, value_name = "NAME", env = "SMTPSEND_TLS_SERVER_NAME")]
    pub tls_server_name: Option<String>,

    /// Reach the server through a proxy: socks5h://[USER@]HOST:PORT (the proxy resolves the
    /// server's name), socks5://... (resolved here) or http://... (HTTP CONNECT); "env" takes
    /// ALL_PROXY (NO_PROXY honoured). The proxy password comes from SMTPSEND_PROXY_PASSWORD,
    /// proxy-password-file or proxy-password-command, never the URL
    #[arg(long, value_name = "URL", env = "SMTPSEND_PROXY")]
    pub proxy: Option<String>,
}

/// `--proxy`: a proxy, or the one the environment names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyChoice {
    Url(Proxy),
    /// `env`: `ALL_PROXY` (or `all_proxy`), unless `NO_PROXY` names the server.
    FromEnvironment,
}

/// Reads `--proxy` (or the account's `proxy`); checked by the plan, not by clap, whose error
/// would quote the value (and a password written into it).
pub fn parse_proxy(value: &str) -> Result<ProxyChoice, String> {
    if value.eq_ignore_ascii_case("env") {
        return Ok(ProxyChoice::FromEnvironment);
    }
    Proxy::parse(value).map(ProxyChoice::Url)
}

/// Reads `--tls-fingerprint` (or the account's `tls-fingerprint`).
pub fn parse_fingerprint(value: &str) -> Result<Fingerprint, String> {
    Fingerprint::parse(value)
}

/// `--tls-min-version`'s values.
fn tls_versions() -> impl TypedValueParser<Value = TlsVersion> {
    let values = TlsVersion::ALL.map(|version| PossibleValue::new(version.name()));
    PossibleValuesParser::new(values)
        .map(|name| TlsVersion::parse(&name).expect("clap took one of the possible values"))
}
