//! Unit tests of `name`: OpenSSL's rules, as the handshake would apply them.

use super::*;

/// A DER certificate for these subjectAltNames (IP addresses as such), or with only a
/// common name when `names` is empty.
fn certificate(names: &[&str], common_name: &str) -> Vec<u8> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

#[test]
fn exact_names_match_in_any_case() {
    let der = certificate(
        &["mail.example.org", "smtp.example.org"],
        "mail.example.org",
    );
    assert!(matches(&der, "mail.example.org"));
    assert!(matches(&der, "SMTP.Example.ORG"));
    assert!(!matches(&der, "example.org"));
    assert!(!matches(&der, "mail.example.org.evil.test"));
    assert!(!matches(&der, "127.0.0.1"));
}

#[test]
fn a_wildcard_covers_one_label_and_no_partial_wildcard_is_taken() {
    let der = certificate(&["*.example.org", "w*.example.net"], "x");
    assert!(matches(&der, "mail.example.org"));
    assert!(!matches(&der, "a.mail.example.org"));
    assert!(!matches(&der, "example.org"));
    assert!(!matches(&der, "www.example.net"));
}

#[test]
fn addresses_match_only_address_entries() {
    let der = certificate(&["127.0.0.1", "::1", "localhost"], "localhost");
    assert!(matches(&der, "127.0.0.1"));
    assert!(matches(&der, "::1"));
    assert!(matches(&der, "localhost"));
    assert!(!matches(&der, "127.0.0.2"));
    let by_name = certificate(&["localhost"], "127.0.0.1");
    assert!(!matches(&by_name, "127.0.0.1"), "a CN is not an address");
}

#[test]
fn the_common_name_counts_only_without_dns_names() {
    let only_cn = certificate(&[], "legacy.example.org");
    assert!(matches(&only_cn, "legacy.example.org"));
    let with_san = certificate(&["mail.example.org"], "legacy.example.org");
    assert!(!matches(&with_san, "legacy.example.org"));
}

#[test]
fn garbage_and_odd_names_never_match() {
    assert!(!matches(b"not a certificate", "mail.example.org"));
    let der = certificate(&["mail.example.org"], "mail.example.org");
    assert!(!matches(&der, "mail.example.org\0.evil.test"));
    assert!(!matches(&der, ""));
}

#[test]
fn names_are_the_alt_names_else_the_common_name() {
    let der = certificate(&["mail.example.org", "10.0.0.25", "::1"], "ignored");
    assert_eq!(names(&der), ["mail.example.org", "10.0.0.25", "::1"]);
    assert_eq!(
        names(&certificate(&[], "legacy.example.org")),
        ["legacy.example.org"]
    );
}

#[test]
fn a_mismatch_names_what_the_certificate_is_for() {
    let der = certificate(&["mail.example.org", "*.example.org"], "mail.example.org");
    let err = check(Some(&der), "10.0.0.25").unwrap_err();
    assert_eq!(crate::base::exit::code_for(&err), 69);
    let line = crate::base::exit::one_line(&err);
    assert!(
        line.contains("it is for mail.example.org, *.example.org, not 10.0.0.25"),
        "{line}"
    );
    assert!(check(Some(&der), "smtp.example.org").is_ok());
    assert!(check(None, "smtp.example.org").is_err());
}

/// A throw-away CA: its parameters and key (to sign with) and its PEM (to trust).
struct Ca {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    pem: String,
}

impl Ca {
    fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "name test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca { params, key, pem }
    }

    /// A server identity and its certificate (DER) with exactly these subjectAltNames (DNS
    /// names taken as written, even when they look like addresses) and this common name.
    fn issue(
        &self,
        dns: &[&str],
        ips: &[&str],
        common_name: Option<&str>,
    ) -> (native_tls::Identity, Vec<u8>) {
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        let dns = dns.iter().map(|name| {
            rcgen::SanType::DnsName(rcgen::string::Ia5String::try_from(*name).unwrap())
        });
        let ips = ips
            .iter()
            .map(|ip| rcgen::SanType::IpAddress(ip.parse().unwrap()));
        params.subject_alt_names = dns.chain(ips).collect();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(common_name) = common_name {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, common_name);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let identity =
            native_tls::Identity::from_pkcs8(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
                .unwrap();
        (identity, cert.der().to_vec())
    }
}

/// Whether native-tls, checking the chain and the name in the handshake itself, connects to
/// a server with this identity as `name` (over a socket pair: nothing leaves the process).
fn native_tls_accepts(
    connector: &native_tls::TlsConnector,
    acceptor: &native_tls::TlsAcceptor,
    name: &str,
) -> bool {
    let (server_end, client_end) = std::os::unix::net::UnixStream::pair().unwrap();
    let acceptor = acceptor.clone();
    let server = std::thread::spawn(move || {
        if let Ok(mut tls) = acceptor.accept(server_end) {
            let _ = std::io::Read::read(&mut tls, &mut [0u8; 1]);
        }
    });
    let accepted = connector.connect(name, client_end).is_ok();
    server.join().unwrap();
    accepted
}

/// The DNS names, IP addresses and common name of each certificate the differential test
/// issues.
type Names = (
    &'static [&'static str],
    &'static [&'static str],
    Option<&'static str>,
);

const CERTIFICATES: [Names; 12] = [
    (&["mail.example.org"], &[], Some("mail.example.org")),
    (
        &["*.example.org", "w*.example.net", "*.*.example.com", "*"],
        &[],
        None,
    ),
    (
        &["mail.example.org.", "MAIL.EXAMPLE.COM", ".example.net"],
        &[],
        None,
    ),
    (
        &[
            "xn--bcher-kva.example",
            "*.xn--80ak6aa92e.com",
            "xn--*.example",
        ],
        &[],
        None,
    ),
    (&["127.0.0.1", "::1", "[::1]"], &[], None),
    (&["good.example\0.evil.test"], &[], None),
    (
        &[],
        &["127.0.0.1", "::1", "::ffff:10.0.0.1", "fe80::1"],
        None,
    ),
    (&[], &[], Some("legacy.example.org")),
    (&[], &[], Some("127.0.0.1")),
    (&[], &[], Some("*.example.org")),
    (&[], &["127.0.0.1"], Some("mail.example.org")),
    (&["localhost"], &[], Some("127.0.0.1")),
];

/// The names each certificate is checked against.
const NAMES: [&str; 30] = [
    "mail.example.org",
    "MAIL.example.ORG",
    "mail.example.org.",
    "a.example.org",
    "a.b.example.org",
    "example.org",
    ".example.org",
    "www.example.net",
    "a.b.example.com",
    "mail.example.com",
    "xn--bcher-kva.example",
    "a.xn--80ak6aa92e.com",
    "xn--a.example",
    "127.0.0.1",
    "127.1",
    "0x7f.0.0.1",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "::ffff:10.0.0.1",
    "::ffff:a00:1",
    "10.0.0.1",
    "FE80::1",
    "fe80::1%lo",
    "good.example",
    "legacy.example.org",
    "localhost",
    "localhost.",
    "mail.example.org:25",
    "*.example.org",
];

#[test]
fn the_check_accepts_exactly_what_native_tls_accepts() {
    let ca = Ca::new();
    let connector = native_tls::TlsConnector::builder()
        .disable_built_in_roots(true)
        .add_root_certificate(native_tls::Certificate::from_pem(ca.pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let mut differences = Vec::new();
    let mut accepted = 0;
    for (dns, ips, common_name) in CERTIFICATES {
        let (identity, der) = ca.issue(dns, ips, common_name);
        let acceptor = native_tls::TlsAcceptor::new(identity).unwrap();
        for name in NAMES {
            let native = native_tls_accepts(&connector, &acceptor, name);
            accepted += usize::from(native);
            if native != matches(&der, name) {
                differences.push(format!("{name:?} for {dns:?} {ips:?} {common_name:?}"));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "native-tls disagrees: {differences:#?}"
    );
    assert!(
        accepted > 20,
        "only {accepted} accepted: the harness is broken"
    );
}

/// The texts of one IPv6 address: each zero run compressed or not, hex in either case,
/// groups padded or not, the last 32 bits as an IPv4 address or not.
fn address_texts(groups: [u16; 8]) -> Vec<String> {
    let mut texts = Vec::new();
    for upper in [false, true] {
        for padded in [false, true] {
            let hex: Vec<String> = groups
                .iter()
                .map(|g| match (upper, padded) {
                    (false, false) => format!("{g:x}"),
                    (true, false) => format!("{g:X}"),
                    (false, true) => format!("{g:04x}"),
                    (true, true) => format!("{g:04X}"),
                })
                .collect();
            let [a, b] = groups[6].to_be_bytes();
            let [c, d] = groups[7].to_be_bytes();
            let dotted = format!("{a}.{b}.{c}.{d}");
            for with_ipv4 in [false, true] {
                let count = if with_ipv4 { 6 } else { 8 };
                let join = |parts: &[String]| {
                    let mut parts = parts.to_vec();
                    if with_ipv4 && (count < 8) {
                        parts.push(dotted.clone());
                    }
                    parts.join(":")
                };
                texts.push(join(&hex[..count]));
                for start in 0..count {
                    for end in start + 1..=count {
                        if groups[start..end].iter().all(|g| *g == 0) {
                            let left = hex[..start].join(":");
                            let right = join(&hex[end..count]);
                            texts.push(format!("{left}::{right}"));
                        }
                    }
                }
            }
        }
    }
    texts
}

#[test]
fn an_address_means_the_same_to_openssl_as_to_the_handshake() {
    // native-tls hands the handshake the address Rust parsed; the check hands OpenSSL the
    // text: each text Rust takes must match a certificate for the very address it parsed.
    let key = rcgen::KeyPair::generate().unwrap();
    let for_address = |ip: IpAddr| {
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.subject_alt_names = vec![rcgen::SanType::IpAddress(ip)];
        params.self_signed(&key).unwrap().der().to_vec()
    };
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut addresses: Vec<[u16; 8]> = vec![
        [0; 8],
        [0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1],
        [0, 0, 0, 0, 0, 0, 0x7f00, 1],
        [1, 0, 0, 0, 0, 0, 0, 0],
        [0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1],
        [0xfe80, 0, 0, 0, 0, 0, 0, 1],
    ];
    for _ in 0..100 {
        let mut groups = [0u16; 8];
        for group in &mut groups {
            let r = random();
            *group = if r % 3 == 0 { 0 } else { (r >> 8) as u16 };
        }
        addresses.push(groups);
    }
    let mut wrong = Vec::new();
    for groups in addresses {
        let ip = IpAddr::from(std::net::Ipv6Addr::from(groups));
        let der = for_address(ip);
        for text in address_texts(groups) {
            if text.parse::<IpAddr>().ok() == Some(ip) && !matches(&der, &text) {
                wrong.push(text);
            }
        }
    }
    for _ in 0..100 {
        let ip = IpAddr::from((random() as u32).to_be_bytes());
        if !matches(&for_address(ip), &ip.to_string()) {
            wrong.push(ip.to_string());
        }
    }
    assert!(wrong.is_empty(), "OpenSSL reads these otherwise: {wrong:?}");
}
