//! Delivery status notifications (RFC 3461): what `-N`, `-R` and `-V` ask for, and the
//! MAIL and RCPT parameters that carry it, xtext-encoded.

use serde::{Deserialize, Serialize};

use crate::smtp::command::{MailParam, RcptParam};

/// The DSN request for one message; empty when none of `-N`, `-R`, `-V` was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dsn {
    /// `NEVER`, or a comma list of `SUCCESS`, `FAILURE`, `DELAY` (already checked, upper case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// `FULL` or `HDRS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<String>,
    /// The envelope identifier, printable ASCII.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envid: Option<String>,
}

impl Dsn {
    pub fn is_empty(&self) -> bool {
        self.notify.is_none() && self.ret.is_none() && self.envid.is_none()
    }

    /// `RET=` and `ENVID=` for MAIL FROM (RFC 3461 §4.3, §4.4).
    pub fn mail_params(&self) -> Vec<MailParam> {
        let mut params = Vec::new();
        if let Some(ret) = &self.ret {
            params.push(MailParam::Ret(ret.clone()));
        }
        if let Some(envid) = &self.envid {
            params.push(MailParam::EnvId(envid.clone()));
        }
        params
    }

    /// `NOTIFY=` and `ORCPT=` for one RCPT TO (RFC 3461 §4.1, §4.2). ORCPT records the
    /// address as given, so a report names it even after the server rewrites it. A
    /// non-ASCII address (sent with SMTPUTF8) uses the `utf-8` type of RFC 6533.
    pub fn rcpt_params(&self, address: &str) -> Vec<RcptParam> {
        let mut params = Vec::new();
        if let Some(notify) = &self.notify {
            params.push(RcptParam::Notify(notify.clone()));
        }
        params.push(RcptParam::Orcpt(address.to_string()));
        params
    }
}

/// xtext (RFC 3461 §4): `!` to `~` as they are, except `+` and `=`; every other byte as
/// `+XX` in upper-case hex.
pub fn xtext(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if (b'!'..=b'~').contains(&byte) && byte != b'+' && byte != b'=' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("+{byte:02X}"));
        }
    }
    out
}

/// utf-8-addr-xtext (RFC 6533 §3): UTF-8 characters as they are; `+`, `=`, `\`, spaces and
/// controls as `\x{HEX}`.
pub fn utf8_addr_xtext(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        let plain = ('!'..='~').contains(&ch) && !matches!(ch, '+' | '=' | '\\');
        if ch.is_ascii() && !plain {
            out.push_str(&format!("\\x{{{:X}}}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_encodes_plus_equals_and_non_printables() {
        assert_eq!(xtext("b+tag@example.com"), "b+2Btag@example.com");
        assert_eq!(xtext("a=b c"), "a+3Db+20c");
        assert_eq!(xtext("ünï"), "+C3+BCn+C3+AF");
        assert_eq!(xtext("plain!~"), "plain!~");
    }

    #[test]
    fn utf8_addr_xtext_keeps_utf8() {
        assert_eq!(
            utf8_addr_xtext("jörg+x@bücher.de"),
            "jörg\\x{2B}x@bücher.de"
        );
    }

    #[test]
    fn parameters_for_mail_and_rcpt() {
        let dsn = Dsn {
            notify: Some("SUCCESS,FAILURE".into()),
            ret: Some("HDRS".into()),
            envid: Some("id=42".into()),
        };
        let shown = |params: Vec<String>| params;
        assert_eq!(
            shown(dsn.mail_params().iter().map(ToString::to_string).collect()),
            ["RET=HDRS", "ENVID=id+3D42"]
        );
        assert_eq!(
            shown(
                dsn.rcpt_params("b+x@example.com")
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            ),
            ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;b+2Bx@example.com"]
        );
        let only_ret = Dsn {
            ret: Some("FULL".into()),
            ..Dsn::default()
        };
        assert_eq!(
            only_ret.rcpt_params("b@example.com"),
            [RcptParam::Orcpt("b@example.com".into())]
        );
    }
}
