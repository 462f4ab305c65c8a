//! What a TLS session must be beyond a trusted certificate: a pinned certificate
//! (`--tls-fingerprint`, checked after the handshake and before anything is sent), a lowest
//! protocol version (`--tls-min-version`), and the name the certificate is checked against
//! and sent as SNI (`--tls-server-name`).

use std::fmt;

use sha2::{Digest, Sha256};

/// The SHA-256 of a certificate's DER bytes: what `--server-info` prints and
/// `--tls-fingerprint` pins.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a certificate.
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Reads a fingerprint as `--server-info` prints it (`AB:CD:…`), or as 64 hex digits
    /// without colons, in any case, optionally after `sha256:` or `SHA256 `.
    pub fn parse(text: &str) -> Result<Fingerprint, String> {
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        let digits: String = lower
            .strip_prefix("sha256:")
            .or_else(|| lower.strip_prefix("sha256 "))
            .unwrap_or(&lower)
            .trim()
            .chars()
            .filter(|c| *c != ':')
            .collect();
        let wrong = || {
            format!(
                "{trimmed:?} is not a SHA-256 fingerprint: give the 32 bytes in hex, as \
                 --server-info prints them (AB:CD:…:EF)"
            )
        };
        if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(wrong());
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&digits[index * 2..index * 2 + 2], 16).map_err(|_| wrong())?;
        }
        Ok(Fingerprint(bytes))
    }
}

impl fmt::Display for Fingerprint {
    /// Colon-separated upper-case hex, as `--server-info` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: Vec<String> = self.0.iter().map(|b| format!("{b:02X}")).collect();
        f.write_str(&hex.join(":"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The lowest TLS version a session may use (`--tls-min-version`); 1.2 is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    #[default]
    V1_2,
    V1_3,
}

impl TlsVersion {
    pub const ALL: [TlsVersion; 2] = [TlsVersion::V1_2, TlsVersion::V1_3];

    /// The name on the command line and in the configuration file: `1.2`.
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }

    /// Parses `1.2`, `1.3` (also written `tls1.3`, `TLSv1.3`).
    pub fn parse(value: &str) -> Option<TlsVersion> {
        let lower = value.trim().to_ascii_lowercase();
        let bare = lower
            .strip_prefix("tlsv")
            .or_else(|| lower.strip_prefix("tls"))
            .unwrap_or(&lower);
        TlsVersion::ALL
            .into_iter()
            .find(|version| version.name() == bare)
    }

    pub(super) fn protocol(self) -> native_tls::Protocol {
        match self {
            TlsVersion::V1_2 => native_tls::Protocol::Tlsv12,
            TlsVersion::V1_3 => native_tls::Protocol::Tlsv13,
        }
    }
}

/// What the session's TLS must be, besides trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsPolicy {
    /// Accept exactly this certificate, whoever issued it and whatever names it carries
    /// (a self-signed one too), and no other.
    pub pin: Option<Fingerprint>,
    /// The lowest protocol version; `None`: TLS 1.2.
    pub min_version: Option<TlsVersion>,
    /// The name to send as SNI and to check the certificate against, instead of the
    /// server's host name (when connecting by address or through a tunnel).
    pub server_name: Option<String>,
}

impl TlsPolicy {
    /// True when the session must be encrypted whatever `--tls auto` would otherwise decide:
    /// a pinned certificate means TLS, even to a loopback address.
    pub fn requires_tls(&self) -> bool {
        self.pin.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_as_server_info_prints_it_and_without_colons() {
        let printed = Fingerprint::of(b"certificate").to_string();
        assert_eq!(printed.len(), 95);
        let parsed = Fingerprint::parse(&printed).unwrap();
        assert_eq!(parsed.to_string(), printed);
        let bare = printed.replace(':', "").to_ascii_lowercase();
        assert_eq!(Fingerprint::parse(&bare).unwrap(), parsed);
        assert_eq!(
            Fingerprint::parse(&format!("SHA256:{printed}")).unwrap(),
            parsed
        );
        for bad in ["", "AB:CD", &format!("{bare}00"), &bare.replace('a', "g")] {
            assert!(Fingerprint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions_read_in_the_usual_spellings() {
        assert_eq!(TlsVersion::parse("1.3"), Some(TlsVersion::V1_3));
        assert_eq!(TlsVersion::parse("TLSv1.2"), Some(TlsVersion::V1_2));
        assert_eq!(TlsVersion::parse("tls1.3"), Some(TlsVersion::V1_3));
        assert_eq!(TlsVersion::parse("1.1"), None);
    }
}
