//! How the server is reached, beyond its address and `--tls`: the trust (`--tls-ca-file`,
//! the client certificate), the TLS policy (`--tls-fingerprint`, `--tls-min-version`,
//! `--tls-server-name`) and the proxy (`--proxy`, with its password from a credential
//! source). Each from its option or variable, else the account.

use std::path::PathBuf;
use std::time::Duration;

use crate::base::exit::{Kind, fail};
use crate::cli::ProxyChoice;
use crate::plan::credentials::PasswordSource;
use crate::plan::table::{Picker, Source};
use crate::smtp::proxy::Proxy;
use crate::smtp::stream::Target;
use crate::smtp::tls::{Fingerprint, TlsConfig, TlsFile, TlsPolicy, TlsVersion};

pub use crate::plan::credentials::PROXY_PASSWORD_VAR;

/// A proxy whose password (when its URL names a user) has not been read yet.
#[derive(Debug, Clone)]
pub struct ProxyPlan {
    pub proxy: Proxy,
    /// Where the user's password comes from, and the setting that said so.
    pub password: Option<(PasswordSource, String)>,
}

impl ProxyPlan {
    /// The proxy with its password read (a command gets `deadline`).
    pub fn resolve(&self, deadline: Duration) -> anyhow::Result<Proxy> {
        let mut proxy = self.proxy.clone();
        if let (Some(user), Some((source, label))) = (&proxy.user, &self.password) {
            proxy.password = Some(source.read(user, label, deadline)?);
        }
        Ok(proxy)
    }
}

/// The CA file to trust instead of the system's roots: `--tls-ca-file`, else the account's
/// `tls-ca-file` (the OAuth2 endpoints are checked against it too).
pub fn ca_file(picker: &Picker) -> Option<TlsFile> {
    match (&picker.cli.tls_ca_file, &picker.account.tls_ca_file) {
        (Some(path), _) => Some(TlsFile {
            path: path.clone(),
            named: "--tls-ca-file".to_string(),
        }),
        (None, Some(path)) => Some(TlsFile {
            path: crate::plan::credentials::expand_home(path.get_ref()),
            named: format!("tls-ca-file in account {}", account_name(picker)),
        }),
        (None, None) => None,
    }
}

/// Trust, the client certificate and the TLS policy.
pub fn tls_config(picker: &mut Picker) -> anyhow::Result<TlsConfig> {
    let cli = picker.cli;
    let named = |path: &PathBuf, flag: &str| TlsFile {
        path: path.clone(),
        named: flag.to_string(),
    };
    let ca_file = ca_file(picker);
    if let (Some(file), None) = (&ca_file, &cli.tls_ca_file) {
        let shown = file.path.display().to_string();
        let source = picker.from_account("tls-ca-file").to_string();
        picker.show("tls-ca-file", shown.clone(), shown.into(), source);
    }
    let client_cert = cli
        .tls_cert
        .as_ref()
        .zip(cli.tls_key.as_ref())
        .map(|(cert, key)| (named(cert, "--tls-cert"), named(key, "--tls-key")));
    let config = TlsConfig::new(ca_file, client_cert, cli.insecure_skip_verify);
    Ok(config.with_policy(tls_policy(picker)?))
}

fn account_name(picker: &Picker) -> String {
    picker.account_name.clone().unwrap_or_default()
}

/// `--tls-fingerprint`, `--tls-min-version`, `--tls-server-name`, or the account's; each
/// shown when set.
fn tls_policy(picker: &mut Picker) -> anyhow::Result<TlsPolicy> {
    let network = &picker.cli.network;
    let account = picker.account;
    let pin = match (&network.tls_fingerprint, &account.tls_fingerprint) {
        (Some(pin), _) => Some((*pin, option(picker, "--tls-fingerprint"))),
        (None, Some(text)) => Some((
            Fingerprint::parse(text.get_ref()).map_err(|why| fail(Kind::Config, why))?,
            picker.from_account("tls-fingerprint"),
        )),
        (None, None) => None,
    };
    if let Some((pin, source)) = &pin {
        if picker.cli.insecure_skip_verify {
            return Err(fail(
                Kind::Usage,
                "--insecure-skip-verify cannot be combined with a pinned certificate \
                 (tls-fingerprint): the pin is the check",
            ));
        }
        picker.show(
            "tls-fingerprint",
            pin.to_string(),
            pin.to_string().into(),
            source.to_string(),
        );
    }
    let min_version = match (network.tls_min_version, &account.tls_min_version) {
        (Some(version), _) => Some((version, option(picker, "--tls-min-version"))),
        (None, Some(text)) => {
            TlsVersion::parse(text.get_ref()).map(|v| (v, picker.from_account("tls-min-version")))
        }
        (None, None) => None,
    };
    if let Some((version, source)) = &min_version {
        let name = version.name();
        picker.show(
            "tls-min-version",
            name.into(),
            name.into(),
            source.to_string(),
        );
    }
    let server_name = match (&network.tls_server_name, &account.tls_server_name) {
        (Some(name), _) => Some((name.clone(), option(picker, "--tls-server-name"))),
        (None, Some(name)) => Some((
            name.get_ref().clone(),
            picker.from_account("tls-server-name"),
        )),
        (None, None) => None,
    };
    if let Some((name, source)) = &server_name {
        if name.is_empty()
            || name.len() > 253
            || name.contains(|c: char| c.is_whitespace() || c.is_control())
        {
            return Err(fail(
                Kind::Usage,
                format!(
                    "{}: give a host name",
                    source.given("--tls-server-name", format!("{name:?}"))
                ),
            ));
        }
        picker.show(
            "tls-server-name",
            name.clone(),
            name.as_str().into(),
            source.to_string(),
        );
    }
    Ok(TlsPolicy {
        pin: pin.map(|(pin, _)| pin),
        min_version: min_version.map(|(version, _)| version),
        server_name: server_name.map(|(name, _)| name),
    })
}

/// The source of an option of the network group (its variable is `SMTPSEND_` and its name).
fn option(picker: &Picker, flag: &'static str) -> Source {
    let variable = match flag {
        "--tls-fingerprint" => "SMTPSEND_TLS_FINGERPRINT",
        "--tls-min-version" => "SMTPSEND_TLS_MIN_VERSION",
        "--tls-server-name" => "SMTPSEND_TLS_SERVER_NAME",
        _ => "SMTPSEND_PROXY",
    };
    picker.option(flag, variable)
}

/// The proxy, if any: `--proxy` (or `SMTPSEND_PROXY`), else the account's; `env` takes
/// `ALL_PROXY` unless `NO_PROXY` names the server. Shown with where it came from.
pub fn proxy(picker: &mut Picker, target: &Target) -> anyhow::Result<Option<ProxyPlan>> {
    let (choice, source) = match (&picker.cli.network.proxy, &picker.account.proxy) {
        (Some(text), _) => {
            let source = option(picker, "--proxy");
            let choice = crate::cli::parse_proxy(text).map_err(|why| {
                let named = match &source {
                    Source::Env(variable) => variable.to_string(),
                    _ => "--proxy".to_string(),
                };
                fail(Kind::Usage, format!("{named}: {why}"))
            })?;
            (choice, source)
        }
        (None, Some(text)) => (
            crate::cli::parse_proxy(text.get_ref()).map_err(|why| fail(Kind::Config, why))?,
            picker.from_account("proxy"),
        ),
        (None, None) => return Ok(None),
    };
    let (proxy, source) = match choice {
        ProxyChoice::Url(proxy) => (proxy, source.to_string()),
        ProxyChoice::FromEnvironment => match from_environment(target)? {
            Some((proxy, variable)) => (proxy, format!("{variable}, as {source} says")),
            None => {
                picker.show(
                    "proxy",
                    "(none)".into(),
                    serde_json::Value::Null,
                    format!("{source}: env, and none applies"),
                );
                return Ok(None);
            }
        },
    };
    if let Target::Unix(path) = target {
        return Err(fail(
            Kind::Usage,
            format!(
                "a proxy ({proxy}) cannot reach the unix socket {}",
                path.display()
            ),
        ));
    }
    let password = proxy_password(picker, &proxy)?;
    picker.show("proxy", proxy.to_string(), proxy.to_string().into(), source);
    Ok(Some(ProxyPlan { proxy, password }))
}

/// `ALL_PROXY` (or `all_proxy`), unless `NO_PROXY` (or `no_proxy`) names the server;
/// with the variable it came from.
fn from_environment(target: &Target) -> anyhow::Result<Option<(Proxy, &'static str)>> {
    let Some((variable, url)) = ["ALL_PROXY", "all_proxy"].into_iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| (name, v))
    }) else {
        return Ok(None);
    };
    let proxy =
        Proxy::parse(&url).map_err(|why| fail(Kind::Config, format!("{variable}: {why}")))?;
    let host = match target {
        Target::Tcp { host, .. } => host.to_ascii_lowercase(),
        Target::Unix(_) => return Ok(None),
    };
    let no_proxy = std::env::var("NO_PROXY")
        .or_else(|_| std::env::var("no_proxy"))
        .unwrap_or_default();
    Ok((!no_proxy_matches(&no_proxy, &host)).then_some((proxy, variable)))
}

/// True when the `NO_PROXY` list names `host`: `*`, the host itself, or a domain it is in
/// (`example.com` and `.example.com` both cover `smtp.example.com`).
fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split(',')
        .map(|entry| entry.trim().trim_start_matches('.').to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| entry == "*" || host == entry || host.ends_with(&format!(".{entry}")))
}

/// The proxy user's password source: `SMTPSEND_PROXY_PASSWORD`, else the account's
/// `proxy-password-file` or `proxy-password-command`. A user without one is an error (78).
fn proxy_password(
    picker: &Picker,
    proxy: &Proxy,
) -> anyhow::Result<Option<(PasswordSource, String)>> {
    let Some(user) = &proxy.user else {
        return Ok(None);
    };
    if let Some(value) = std::env::var_os(PROXY_PASSWORD_VAR) {
        let text = value.into_string().map_err(|_| {
            fail(
                Kind::Config,
                format!("{PROXY_PASSWORD_VAR}: the password is not UTF-8 text; it is refused rather than sent altered"),
            )
        })?;
        let secret = crate::base::secret::Secret::new(text);
        return Ok(Some((
            PasswordSource::Clear(secret),
            PROXY_PASSWORD_VAR.into(),
        )));
    }
    let account = picker.account;
    let label = |key: &str| format!("{key} in account {}", account_name(picker));
    if let Some(path) = &account.proxy_password_file {
        let path = crate::plan::credentials::expand_home(path.get_ref());
        // A file the system file names may be read by its group, as its password-file.
        let source = match picker.written.get("proxy-password-file") {
            Some(at) if at.system => PasswordSource::GroupFile(path),
            _ => PasswordSource::File(path),
        };
        return Ok(Some((source, label("proxy-password-file"))));
    }
    if let Some(command) = &account.proxy_password_command {
        let command = PasswordSource::Command(command.get_ref().clone());
        return Ok(Some((command, label("proxy-password-command"))));
    }
    Err(fail(
        Kind::Config,
        format!(
            "the proxy {proxy} names the user {user}, but no password for it: set \
             {PROXY_PASSWORD_VAR}, or proxy-password-file or proxy-password-command in the account"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::no_proxy_matches;

    #[test]
    fn no_proxy_names_hosts_and_domains() {
        assert!(no_proxy_matches(
            "localhost, .example.com",
            "smtp.example.com"
        ));
        assert!(no_proxy_matches("example.com", "example.com"));
        assert!(no_proxy_matches("*", "anything"));
        assert!(!no_proxy_matches("example.com", "badexample.com"));
        assert!(!no_proxy_matches("", "smtp.example.com"));
    }
}
