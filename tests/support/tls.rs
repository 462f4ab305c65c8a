//! Certificates made at test time: a CA and a server certificate signed by it (rcgen).

use std::path::{Path, PathBuf};

use native_tls::{Certificate, Identity};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tempfile::TempDir;

/// A throw-away CA and a server identity for some names; the CA PEM is on disk for
/// `--tls-ca-file` as long as this value lives.
pub struct TestCerts {
    pub identity: Identity,
    pub ca_pem: String,
    /// The server certificate (PEM), e.g. to compute its fingerprint.
    pub server_pem: String,
    ca_path: PathBuf,
    _dir: TempDir,
}

impl TestCerts {
    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn localhost() -> TestCerts {
        TestCerts::for_names(&["localhost", "127.0.0.1"])
    }

    /// A server certificate for these DNS names / IP addresses (e.g. a wrong name, to test
    /// that the client checks it).
    pub fn for_names(names: &[&str]) -> TestCerts {
        let mut ca_params = CertificateParams::new(Vec::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "smtpsend test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut server_params = CertificateParams::new(names.clone()).expect("server params");
        server_params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        server_params.use_authority_key_identifier_extension = true;
        let server_key = KeyPair::generate().expect("server key");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("server cert");

        let identity = Identity::from_pkcs8(
            server_cert.pem().as_bytes(),
            server_key.serialize_pem().as_bytes(),
        )
        .expect("server identity");
        let dir = tempfile::tempdir().expect("temp dir for the CA file");
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca_cert.pem()).expect("write the CA file");
        TestCerts {
            identity,
            ca_pem: ca_cert.pem(),
            server_pem: server_cert.pem(),
            ca_path,
            _dir: dir,
        }
    }

    /// A self-signed server certificate for `localhost` and `127.0.0.1`, issued by no CA
    /// (its own PEM is the "CA file", which trusts nothing else).
    pub fn self_signed() -> TestCerts {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let mut params = CertificateParams::new(names).expect("self-signed params");
        params
            .distinguished_name
            .push(DnType::CommonName, "self-signed.test");
        let key = KeyPair::generate().expect("self-signed key");
        let cert = params.self_signed(&key).expect("self-signed certificate");
        let identity = Identity::from_pkcs8(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
            .expect("self-signed identity");
        let dir = tempfile::tempdir().expect("temp dir for the certificate");
        let ca_path = dir.path().join("self-signed.pem");
        std::fs::write(&ca_path, cert.pem()).expect("write the certificate");
        TestCerts {
            identity,
            ca_pem: cert.pem(),
            server_pem: cert.pem(),
            ca_path,
            _dir: dir,
        }
    }

    /// Path of the CA PEM file, for `--tls-ca-file`.
    pub fn ca_file(&self) -> &str {
        self.ca_path.to_str().expect("temp path is UTF-8")
    }

    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// The SHA-256 fingerprint of the server certificate, as colon-separated upper-case hex
    /// (what `--server-info` shows).
    pub fn server_fingerprint(&self) -> String {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let body: String = self
            .server_pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("PEM body");
        Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The CA as a native-tls root, for clients written in the tests.
    pub fn ca_certificate(&self) -> Certificate {
        Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA certificate")
    }
}
