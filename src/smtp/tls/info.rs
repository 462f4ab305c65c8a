//! What a finished handshake negotiated, for the transcript and `--server-info`: the
//! version and cipher read from the server's hello, the peer certificate's subject, issuer,
//! validity and fingerprint.

use native_tls::Certificate;

/// What a finished handshake negotiated, for the transcript and `--server-info`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TlsInfo {
    /// e.g. `TLSv1.3`.
    pub version: String,
    /// The IANA cipher suite name, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the certificate's DER bytes, colon-separated hex.
    pub sha256: String,
    /// False when verification was switched off with `--insecure-skip-verify`, or replaced
    /// by a pinned fingerprint.
    pub verified: bool,
    /// The certificate is the one `--tls-fingerprint` pins.
    pub pinned: bool,
}

impl TlsInfo {
    /// The one-line summary the transcript shows after a handshake.
    pub fn summary(&self) -> String {
        let check = match (self.pinned, self.verified) {
            (true, _) => "pinned",
            (false, true) => "verified",
            (false, false) => "NOT verified",
        };
        format!(
            "{} {}, certificate {} ({check})",
            self.version, self.cipher, self.subject
        )
    }
}

/// The negotiated protocol version and cipher suite, from the ServerHello (sent in clear
/// in TLS 1.2 and 1.3 alike); native-tls does not report them itself.
pub(super) fn server_hello(bytes: &[u8]) -> (String, String) {
    use tls_parser::{
        TlsCipherSuite, TlsExtension, TlsMessage, TlsMessageHandshake, TlsVersion,
        parse_tls_plaintext, parse_tls_server_hello_extensions,
    };
    let unknown = || ("TLS (version unknown)".to_string(), "cipher unknown".into());
    let Ok((_, record)) = parse_tls_plaintext(bytes) else {
        return unknown();
    };
    let Some(hello) = record.msg.iter().find_map(|message| match message {
        TlsMessage::Handshake(TlsMessageHandshake::ServerHello(hello)) => Some(hello),
        _ => None,
    }) else {
        return unknown();
    };
    let mut version = hello.version;
    if let Some(Ok((_, extensions))) = hello.ext.map(parse_tls_server_hello_extensions) {
        for extension in extensions {
            if let TlsExtension::SupportedVersions(versions) = extension {
                if let Some(selected) = versions.first() {
                    version = *selected;
                }
            }
        }
    }
    let version = match version {
        TlsVersion::Tls13 => "TLSv1.3".to_string(),
        TlsVersion::Tls12 => "TLSv1.2".into(),
        TlsVersion::Tls11 => "TLSv1.1".into(),
        TlsVersion::Tls10 => "TLSv1.0".into(),
        other => format!("TLS version 0x{:04x}", other.0),
    };
    let cipher = TlsCipherSuite::from_id(hello.cipher.0)
        .map(|suite| suite.name.to_string())
        .unwrap_or_else(|| format!("cipher 0x{:04x}", hello.cipher.0));
    (version, cipher)
}

/// Subject, issuer, validity and fingerprint of the server's certificate.
pub(super) fn describe_certificate(certificate: Option<Certificate>) -> TlsInfo {
    let mut info = TlsInfo {
        subject: "(none)".into(),
        ..TlsInfo::default()
    };
    let Some(der) = certificate.and_then(|c| c.to_der().ok()) else {
        return info;
    };
    info.sha256 = super::Fingerprint::of(&der).to_string();
    if let Ok((_, parsed)) = x509_parser::parse_x509_certificate(&der) {
        info.subject = parsed.subject().to_string();
        info.issuer = parsed.issuer().to_string();
        let validity = parsed.validity();
        info.not_before = validity.not_before.to_string();
        info.not_after = validity.not_after.to_string();
    }
    info
}

#[cfg(test)]
mod tests {
    use super::server_hello;

    #[test]
    fn reads_version_and_cipher_from_a_tls13_server_hello() {
        // A TLS 1.3 ServerHello (RFC 8448 §3) trimmed to the fields read here.
        let mut hello = vec![0x03, 0x03];
        hello.extend([0u8; 32]); // random
        hello.push(0); // empty session id
        hello.extend([0x13, 0x01]); // TLS_AES_128_GCM_SHA256
        hello.push(0); // no compression
        let extensions = [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]; // supported_versions: 1.3
        hello.extend((extensions.len() as u16).to_be_bytes());
        hello.extend(extensions);
        let mut handshake = vec![2, 0, 0, hello.len() as u8];
        handshake.extend(&hello);
        let mut record = vec![0x16, 0x03, 0x03];
        record.extend((handshake.len() as u16).to_be_bytes());
        record.extend(&handshake);
        let (version, cipher) = server_hello(&record);
        assert_eq!(version, "TLSv1.3");
        assert_eq!(cipher, "TLS_AES_128_GCM_SHA256");
    }

    #[test]
    fn garbage_is_unknown_not_a_panic() {
        let (version, _) = server_hello(b"\x16\x03\x03\xff\xffjunk");
        assert!(version.contains("unknown"));
    }
}
