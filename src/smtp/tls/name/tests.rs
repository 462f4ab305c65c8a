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
