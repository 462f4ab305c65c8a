//! Talking to the provider's endpoints (ureq over native-tls, so the trust is the one the
//! SMTP session has: the system's roots, or only the CA file): a form POSTed over https,
//! no redirect followed (the form holds secrets), the environment's proxy variables
//! ignored (the account's proxy is used when it has one), the reply read to at most 64 KiB
//! within the deadline; and the replies of RFC 6749 §5 read into tokens or errors.

use std::time::Duration;

use serde_json::Value;

use crate::base::exit::{Kind, fail};
use crate::base::secret::Secret;
use crate::plan::network::ProxyPlan;
use crate::smtp::proxy::ProxyKind;
use crate::smtp::tls::TlsFile;

/// The most of a reply that is read.
const REPLY_LIMIT: u64 = 64 << 10;

/// How the endpoints are reached.
#[derive(Debug, Clone)]
pub struct Http {
    /// Trust only this CA file (the account's `tls-ca-file` or `--tls-ca-file`).
    pub ca_file: Option<TlsFile>,
    pub proxy: Option<ProxyPlan>,
    /// The deadline of one request, cut to the time left in the run.
    pub timeout: Duration,
    /// `-d`: say in the transcript where the access token came from.
    pub debug: bool,
}

/// What an endpoint answered: its status and its JSON object.
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The RFC 6749 §5.2 error code (`invalid_grant`), when the reply is an error.
    pub fn error(&self) -> Option<&str> {
        self.body.get("error").and_then(Value::as_str)
    }

    /// The error with its description, for a message: `invalid_grant (Token has been
    /// expired or revoked.)`.
    pub fn error_text(&self) -> String {
        let code = self.error().unwrap_or("no error code");
        match self.body.get("error_description").and_then(Value::as_str) {
            Some(description) => format!("{code} ({})", one_line(description)),
            None => format!("{code} (HTTP {})", self.status),
        }
    }

    /// A string member, registered with the scrubber as a secret.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        let text = self.body.get(name)?.as_str()?;
        (!text.is_empty()).then(|| Secret::new(text.to_string()))
    }

    /// A number of seconds (a string of digits is taken too, as some servers send).
    pub fn seconds(&self, name: &str) -> Option<u64> {
        match self.body.get(name)? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// A plain string member.
    pub fn text(&self, name: &str) -> Option<String> {
        self.body.get(name)?.as_str().map(one_line)
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// POSTs `form` to `url` (`what` names the endpoint in errors). A reply that is not a JSON
/// object is a protocol error (76); an endpoint that cannot be reached or does not answer
/// in time is temporary (75); a certificate that is not trusted is 69.
pub fn post(http: &Http, url: &str, form: &[(&str, &str)], what: &str) -> anyhow::Result<Reply> {
    if !url.starts_with("https://") {
        return Err(fail(
            Kind::Config,
            format!("the {what} {url} is not an https:// URL; tokens never go in clear"),
        ));
    }
    let agent = agent(http)?;
    let sent = agent
        .post(url)
        .header("Accept", "application/json")
        .send_form(form.iter().copied());
    let mut response = sent.map_err(|err| transport_error(&err, url, what))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(REPLY_LIMIT)
        .read_to_string()
        .map_err(|err| transport_error(&err, url, what))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(body @ Value::Object(_)) => Ok(Reply { status, body }),
        _ => Err(fail(
            if status >= 500 {
                Kind::TempFail
            } else {
                Kind::Protocol
            },
            format!("the {what} {url} answered HTTP {status} without a JSON object"),
        )),
    }
}

/// The agent for one request: native-tls with the trust of the session, no redirects, no
/// proxy from the environment, statuses left to the caller, one deadline for the whole.
fn agent(http: &Http) -> anyhow::Result<ureq::Agent> {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
    let roots = match &http.ca_file {
        Some(file) => {
            let pem = crate::smtp::tls::read_file(file)?;
            let certificates: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(certificate)) => Some(certificate),
                    _ => None,
                })
                .collect();
            RootCerts::new_with_certs(&certificates)
        }
        None => RootCerts::PlatformVerifier,
    };
    let tls = TlsConfig::builder()
        .provider(TlsProvider::NativeTls)
        .root_certs(roots)
        .build();
    let deadline = crate::base::interrupt::capped(http.timeout);
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(proxy(http)?)
        .https_only(true)
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(concat!("smtpsend/", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(deadline))
        .build();
    Ok(config.new_agent())
}

/// The account's proxy for ureq, its password read; as for the session, a password goes
/// only to a proxy on a loopback address.
fn proxy(http: &Http) -> anyhow::Result<Option<ureq::Proxy>> {
    use ureq::ProxyProtocol;
    let Some(plan) = &http.proxy else {
        return Ok(None);
    };
    let proxy = plan.resolve(http.timeout)?;
    let protocol = match proxy.kind {
        ProxyKind::Socks5 => ProxyProtocol::Socks5,
        ProxyKind::Socks5h => ProxyProtocol::Socks5h,
        ProxyKind::Http => ProxyProtocol::Http,
    };
    let mut builder = ureq::Proxy::builder(protocol)
        .host(&proxy.host)
        .port(proxy.port);
    if let (Some(user), Some(password)) = (&proxy.user, &proxy.password) {
        let loopback = proxy.host == "localhost"
            || proxy
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(fail(
                Kind::Config,
                format!(
                    "will not send the proxy password for {proxy}: SOCKS5 and HTTP proxies \
                     carry it in clear, and the proxy is not on a loopback address"
                ),
            ));
        }
        builder = builder.username(user).password(password.expose());
    }
    builder
        .build()
        .map(Some)
        .map_err(|err| fail(Kind::Config, format!("the proxy {proxy}: {err}")))
}

/// A request that got no reply: untrusted certificates are 69, anything else temporary.
fn transport_error(err: &ureq::Error, url: &str, what: &str) -> anyhow::Error {
    let text = crate::base::exit::one_line(&anyhow::anyhow!("{err}"));
    let untrusted = matches!(err, ureq::Error::NativeTls(_) | ureq::Error::Tls(_))
        && (text.contains("certificate verify failed") || text.contains("certificate"));
    let kind = match err {
        _ if untrusted => Kind::Unavailable,
        ureq::Error::BodyExceedsLimit(_) => Kind::Protocol,
        _ => Kind::TempFail,
    };
    let why = match err {
        ureq::Error::Timeout(_) => "it did not answer in time".to_string(),
        ureq::Error::BodyExceedsLimit(_) => {
            format!("its reply is larger than {} KiB", REPLY_LIMIT >> 10)
        }
        _ => text,
    };
    fail(kind, format!("cannot reach the {what} {url}: {why}"))
}
