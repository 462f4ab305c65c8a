//! TLS for a session (native-tls): the connector with its trust settings, the handshake under
//! a deadline, and what was negotiated (version and cipher read from the server's hello,
//! the peer certificate's subject, issuer, validity and fingerprint).

use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use native_tls::{Certificate, HandshakeError, Identity, TlsConnector};

use crate::base::exit::{Kind, fail};
use crate::smtp::stream::{Stream, Tapped};

mod info;
mod name;
mod policy;
pub use info::TlsInfo;
use info::*;
pub use policy::{Fingerprint, TlsPolicy, TlsVersion};

/// When to use TLS (`--tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Implicit TLS on port 465 and for smtps://; otherwise STARTTLS whenever the server
    /// offers it, except on a loopback address or a unix socket.
    #[default]
    Auto,
    /// STARTTLS, or fail (exit 69) when the server does not offer it.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// Never TLS; credentials then go only to a loopback address or a unix socket.
    None,
}

impl TlsMode {
    pub const ALL: [TlsMode; 4] = [
        TlsMode::Auto,
        TlsMode::Starttls,
        TlsMode::Implicit,
        TlsMode::None,
    ];

    /// The name on the command line and in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Auto => "auto",
            TlsMode::Starttls => "starttls",
            TlsMode::Implicit => "implicit",
            TlsMode::None => "none",
        }
    }

    /// What the mode means, for the help text.
    pub fn meaning(self) -> &'static str {
        match self {
            TlsMode::Auto => {
                "Implicit TLS on port 465 and for smtps://; otherwise STARTTLS whenever the \
                 server offers it, except on a loopback address or a unix socket"
            }
            TlsMode::Starttls => "STARTTLS, or fail (exit 69) when the server does not offer it",
            TlsMode::Implicit => "TLS from the first byte (SMTPS)",
            TlsMode::None => {
                "Never TLS; credentials then go only to a loopback address or a unix socket"
            }
        }
    }

    /// Parses a value such as `starttls` (any case).
    pub fn parse(value: &str) -> Option<TlsMode> {
        TlsMode::ALL
            .into_iter()
            .find(|mode| mode.name().eq_ignore_ascii_case(value))
    }
}

/// A PEM file for TLS and how to name it in errors (the option that gave it, in the words of
/// the layer that knows the options).
#[derive(Debug, Clone)]
pub struct TlsFile {
    pub path: PathBuf,
    pub named: String,
}

/// How to trust the server and whether to present a client certificate.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// Trust only the certificates in this PEM file instead of the system roots (as curl's
    /// `--cacert` and msmtp's `tls_trust_file` do).
    pub ca_file: Option<TlsFile>,
    /// A client certificate (PEM) and its PKCS#8 key (PEM).
    pub client_cert: Option<(TlsFile, TlsFile)>,
    /// Accept any certificate and host name (`--insecure-skip-verify`).
    pub insecure: bool,
    /// A pinned certificate, the lowest version, the name to check (see [`TlsPolicy`]).
    pub policy: TlsPolicy,
    /// The connector, built once on first use (loading trust roots costs milliseconds).
    built: OnceLock<TlsConnector>,
}

impl TlsConfig {
    pub fn new(
        ca_file: Option<TlsFile>,
        client_cert: Option<(TlsFile, TlsFile)>,
        insecure: bool,
    ) -> TlsConfig {
        TlsConfig {
            ca_file,
            client_cert,
            insecure,
            policy: TlsPolicy::default(),
            built: OnceLock::new(),
        }
    }

    /// The same trust and identity, with this policy.
    pub fn with_policy(mut self, policy: TlsPolicy) -> TlsConfig {
        self.policy = policy;
        self.built = OnceLock::new();
        self
    }

    /// The connector (built on first use): the system roots or the CA file, the client
    /// identity. Reading the files fails here, so callers can check them before connecting.
    pub fn connector(&self) -> anyhow::Result<TlsConnector> {
        if let Some(connector) = self.built.get() {
            return Ok(connector.clone());
        }
        let connector = self.build()?;
        Ok(self.built.get_or_init(|| connector).clone())
    }

    fn build(&self) -> anyhow::Result<TlsConnector> {
        let mut builder = TlsConnector::builder();
        if let Some(file) = &self.ca_file {
            let pem = read_file(file)?;
            let certificates = Certificate::stack_from_pem(&pem).unwrap_or_default();
            if certificates.is_empty() {
                return Err(fail(
                    Kind::Config,
                    format!(
                        "{} {}: no PEM certificate in the file",
                        file.named,
                        file.path.display()
                    ),
                ));
            }
            builder.disable_built_in_roots(true);
            for certificate in certificates {
                builder.add_root_certificate(certificate);
            }
        }
        if let Some((cert, key)) = &self.client_cert {
            let cert_pem = read_file(cert)?;
            let key_pem = read_file(key)?;
            let identity = Identity::from_pkcs8(&cert_pem, &key_pem).map_err(|err| {
                fail(
                    Kind::Config,
                    format!(
                        "{} {} / {} {}: not a usable PEM certificate and PKCS#8 key: {err}",
                        cert.named,
                        cert.path.display(),
                        key.named,
                        key.path.display()
                    ),
                )
            })?;
            builder.identity(identity);
        }
        // A pinned certificate is the whole check: it is compared after the handshake,
        // before anything is sent (see `check_pin`), whoever issued it.
        if self.insecure || self.policy.pin.is_some() {
            builder.danger_accept_invalid_certs(true);
        }
        // The chain is verified in the handshake, the name right after it by the same
        // OpenSSL check (`name::check`), before anything is sent: so that a mismatch can
        // say which names the certificate has.
        builder.danger_accept_invalid_hostnames(true);
        if let Some(version) = self.policy.min_version {
            builder.min_protocol_version(Some(version.protocol()));
        }
        let _skip_system_roots = self
            .ca_file
            .as_ref()
            .map(|file| SystemRootsPointedAt::new(&file.path));
        builder
            .build()
            .map_err(|err| fail(Kind::Software, format!("cannot set up TLS: {err}")))
    }
}

/// While alive, points OpenSSL's `SSL_CERT_FILE`/`SSL_CERT_DIR` at the CA file, so building
/// a connector that will not use the system roots does not parse the system bundle (twice,
/// in native-tls: tens of milliseconds). The variables are restored on drop. Only called
/// before any thread of this process starts.
struct SystemRootsPointedAt {
    saved: Vec<(&'static str, Option<std::ffi::OsString>)>,
}

impl SystemRootsPointedAt {
    fn new(ca_file: &std::path::Path) -> SystemRootsPointedAt {
        let names = ["SSL_CERT_FILE", "SSL_CERT_DIR"];
        let saved = names.map(|name| (name, std::env::var_os(name))).to_vec();
        for name in names {
            // SAFETY: smtpsend builds its connector before starting any thread, so nothing
            // reads the environment concurrently.
            unsafe { std::env::set_var(name, ca_file) };
        }
        SystemRootsPointedAt { saved }
    }
}

impl Drop for SystemRootsPointedAt {
    fn drop(&mut self) {
        for (name, value) in &self.saved {
            // SAFETY: as in `new`.
            unsafe {
                match value {
                    Some(value) => std::env::set_var(name, value),
                    None => std::env::remove_var(name),
                }
            }
        }
    }
}

/// The largest PEM file read for `--tls-ca-file`, `--tls-cert` or `--tls-key`: a bundle of
/// every public root CA takes about 200 KiB.
pub const PEM_LIMIT: u64 = 1 << 20;

/// Reads a PEM file named by `flag`: opened without blocking, it must be a regular file (a
/// FIFO or device is refused at once, 66) of at most [`PEM_LIMIT`] bytes (78).
pub fn read_file(file: &TlsFile) -> anyhow::Result<Vec<u8>> {
    let (path, flag) = (file.path.as_path(), file.named.as_str());
    let mut opened = crate::base::input::open_regular(path, flag)?;
    crate::base::input::read_to_limit(&mut opened.file, PEM_LIMIT)
        .map_err(|err| crate::base::input::unreadable(flag, path, &err))?
        .ok_or_else(|| {
            fail(
                Kind::Config,
                format!(
                    "{flag} {} is larger than {} KiB, too large for a PEM file",
                    path.display(),
                    PEM_LIMIT >> 10
                ),
            )
        })
}

/// Runs the client handshake over `stream`, verifying the certificate for `server_name`
/// (unless the config says not to), and gives up after `timeout` (a silent server cannot
/// hang the command).
pub fn handshake(
    stream: Stream,
    server_name: &str,
    config: &TlsConfig,
    timeout: Duration,
) -> anyhow::Result<(Stream, TlsInfo)> {
    let connector = config.connector()?;
    let server_name = config.policy.server_name.as_deref().unwrap_or(server_name);
    let deadline = Instant::now() + timeout;
    let set_deadline = |stream: &Tapped| -> io::Result<()> {
        let remaining =
            crate::base::interrupt::capped(deadline.saturating_duration_since(Instant::now()));
        stream.inner.set_read_timeout(remaining)?;
        stream.inner.set_write_timeout(remaining)
    };
    let tapped = Tapped {
        inner: stream,
        seen: Some(Vec::new()),
    };
    set_deadline(&tapped)?;
    let mut attempt = connector.connect(server_name, tapped);
    let mut tls = loop {
        match attempt {
            Ok(tls) => break tls,
            Err(HandshakeError::WouldBlock(pending)) => {
                if Instant::now() >= deadline {
                    return Err(fail(
                        Kind::TempFail,
                        format!(
                            "timed out after {}s in the TLS handshake with {server_name}",
                            timeout.as_secs_f64()
                        ),
                    ));
                }
                set_deadline(pending.get_ref())?;
                attempt = pending.handshake();
            }
            Err(HandshakeError::Failure(err)) => return Err(handshake_error(server_name, &err)),
        }
    };
    let seen = tls.get_mut().seen.take().unwrap_or_default();
    let certificate = tls.peer_certificate().ok().flatten();
    let der = certificate.as_ref().and_then(|c| c.to_der().ok());
    if let Some(pin) = &config.policy.pin {
        check_pin(pin, der.as_deref(), server_name)?;
    } else if !config.insecure {
        name::check(der.as_deref(), server_name)?;
    }
    let mut info = describe_certificate(certificate);
    info.verified = !config.insecure && config.policy.pin.is_none();
    info.pinned = config.policy.pin.is_some();
    let (version, cipher) = server_hello(&seen);
    info.version = version;
    info.cipher = cipher;
    Ok((Stream::Tls(Box::new(tls)), info))
}

/// Refuses a server whose certificate is not the pinned one (69), naming both fingerprints;
/// the connection is dropped with nothing sent over it.
fn check_pin(pin: &Fingerprint, der: Option<&[u8]>, server_name: &str) -> anyhow::Result<()> {
    let found = der.map(Fingerprint::of);
    if found.as_ref() == Some(pin) {
        return Ok(());
    }
    let found = found.map_or_else(|| "no certificate".to_string(), |f| f.to_string());
    Err(crate::smtp::advise(
        fail(
            Kind::Unavailable,
            format!(
                "the TLS certificate of {server_name} is not the pinned one: its SHA-256 \
                 fingerprint is {found}, the pinned one is {pin}; nothing was sent"
            ),
        ),
        crate::smtp::Advice::PinMismatch,
    ))
}

/// Sorts a handshake failure: an untrusted certificate or name cannot be fixed by retrying
/// (69); a dropped connection can (75).
fn handshake_error(server_name: &str, err: &native_tls::Error) -> anyhow::Error {
    let text = err.to_string();
    let lost = std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<io::Error>())
        .is_some()
        || text.contains("unexpected EOF")
        || text.contains("Connection reset");
    if lost {
        return fail(
            Kind::TempFail,
            format!("the TLS handshake with {server_name} was cut off: {text}"),
        );
    }
    if text.contains("certificate verify failed") {
        let reason = text
            .rsplit_once('(')
            .map(|(_, reason)| reason.trim_end_matches(')').to_string())
            .unwrap_or_else(|| text.clone());
        return crate::smtp::advise(
            fail(
                Kind::Unavailable,
                format!("the TLS certificate of {server_name} is not trusted: {reason}"),
            ),
            crate::smtp::Advice::PrivateCa,
        );
    }
    let versions = [
        "alert protocol version",
        "unsupported protocol",
        "no protocols available",
    ];
    if versions.iter().any(|words| text.contains(words)) {
        return crate::smtp::advise(
            fail(
                Kind::Unavailable,
                format!(
                    "the TLS handshake with {server_name} failed: no TLS version both sides accept ({text})"
                ),
            ),
            crate::smtp::Advice::TlsVersion,
        );
    }
    if text.contains("wrong version number") || text.contains("packet length too long") {
        // What OpenSSL says when the first bytes back are not TLS: an SMTP greeting.
        return crate::smtp::advise(
            fail(
                Kind::Unavailable,
                format!(
                    "the TLS handshake with {server_name} failed: the server does not speak \
                     TLS on this port"
                ),
            ),
            crate::smtp::Advice::NotTlsPort,
        );
    }
    fail(
        Kind::Unavailable,
        format!("the TLS handshake with {server_name} failed: {text}"),
    )
}
