//! The server's name checked in its certificate, after a handshake that verified the chain:
//! OpenSSL's own check (`X509_check_host`, `X509_check_ip_asc`) with the flags native-tls
//! gives it, so the rule is the one the handshake would apply; done here so that a
//! mismatch can say which names the certificate has.

use std::ffi::CString;
use std::net::IpAddr;

use crate::base::exit::{Kind, fail};

/// Whether the certificate (DER) is valid for `name`, a host name or an IP address, by
/// OpenSSL's rules: subjectAltName first (the subject CN only without DNS names), no
/// partial wildcards (`w*.example.com`), a wildcard for one label only.
pub fn matches(der: &[u8], name: &str) -> bool {
    let Ok(text) = CString::new(name) else {
        return false;
    };
    let Ok(length) = std::os::raw::c_long::try_from(der.len()) else {
        return false;
    };
    openssl_sys::init();
    // SAFETY: d2i_X509 reads at most `length` bytes from `der`, which lives through the
    // call, and returns a new X509 or null; a non-null one is freed below and used only
    // in between. `text` is NUL-terminated and outlives the checks, which read it and the
    // certificate and keep neither (no peer name is asked for).
    unsafe {
        let mut input = der.as_ptr();
        let certificate = openssl_sys::d2i_X509(std::ptr::null_mut(), &mut input, length);
        if certificate.is_null() {
            return false;
        }
        let found = if name.parse::<IpAddr>().is_ok() {
            openssl_sys::X509_check_ip_asc(certificate, text.as_ptr(), 0)
        } else {
            openssl_sys::X509_check_host(
                certificate,
                text.as_ptr(),
                name.len(),
                openssl_sys::X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                std::ptr::null_mut(),
            )
        };
        openssl_sys::X509_free(certificate);
        found == 1
    }
}

/// The names a certificate is for: its subjectAltName DNS names and IP addresses, else its
/// subject's common name.
pub fn names(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut names: Vec<String> = parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some(dns.to_string()),
                    GeneralName::IPAddress(bytes) => ip_text(bytes),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        names.extend(
            parsed
                .subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_string)),
        );
    }
    names
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// Refuses a certificate that is not for `name` (69), naming the names it is for; the
/// connection is dropped with nothing sent over it.
pub fn check(der: Option<&[u8]>, name: &str) -> anyhow::Result<()> {
    if der.is_some_and(|der| matches(der, name)) {
        return Ok(());
    }
    let names = der.map(names).unwrap_or_default();
    let listed = match names.as_slice() {
        [] => "no name at all".to_string(),
        names => {
            let shown: Vec<String> = names
                .iter()
                .take(8)
                .map(|n| crate::base::escape::escape_controls(n).into_owned())
                .collect();
            let more = names.len().saturating_sub(8);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("{}{more}", shown.join(", "))
        }
    };
    Err(crate::smtp::advise(
        fail(
            Kind::Unavailable,
            format!(
                "the TLS certificate of {name} is not trusted: it is for {listed}, not \
                 {name}; nothing was sent"
            ),
        ),
        crate::smtp::Advice::NameMismatch,
    ))
}

#[cfg(test)]
mod tests;
