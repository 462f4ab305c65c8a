//! One type per SMTP verb; `Display` is the exact wire form, CRLF included.

use std::fmt;

pub struct Ehlo<'a>(pub &'a str);
pub struct Helo<'a>(pub &'a str);
pub struct Lhlo<'a>(pub &'a str);

/// `MAIL FROM:<addr> [params]`.
pub struct Mail<'a> {
    pub from: &'a str,
    pub params: &'a [MailParam],
}

/// A MAIL FROM parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailParam {
    /// `SIZE=n` (RFC 1870): the message's size as the server will store it.
    Size(u64),
    /// `BODY=` (RFC 6152, RFC 3030).
    Body(BodyType),
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `RET=FULL|HDRS` (RFC 3461 §4.3).
    Ret(String),
    /// `ENVID=xtext` (RFC 3461 §4.4); the value as given, encoded on the wire.
    EnvId(String),
}

/// What `BODY=` declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    EightBitMime,
    BinaryMime,
}

/// `RCPT TO:<addr> [params]`.
pub struct Rcpt<'a> {
    pub to: &'a str,
    pub params: &'a [RcptParam],
}

/// A RCPT TO parameter (RFC 3461).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptParam {
    /// `NOTIFY=NEVER` or a list of `SUCCESS`, `FAILURE`, `DELAY`.
    Notify(String),
    /// `ORCPT=rfc822;xtext` or, for a non-ASCII address, `ORCPT=utf-8;utf-8-addr-xtext`
    /// (RFC 6533): the address as given.
    Orcpt(String),
}

/// `AUTH MECHANISM [initial-response]` (RFC 4954 §4). The initial response is secret: the
/// transcript shows [`Auth::visible`] and `<redacted>`.
pub struct Auth<'a> {
    pub mechanism: &'a str,
    /// The base64 initial response (`=` for an empty one), if the mechanism sends one.
    pub initial_response: Option<&'a str>,
}

impl Auth<'_> {
    /// What the transcript may show of the command: `AUTH PLAIN `.
    pub fn visible(&self) -> String {
        format!("AUTH {} ", self.mechanism)
    }
}

pub struct Data;
/// `BDAT size LAST` (RFC 3030): the whole message as one chunk of `size` octets.
pub struct BdatLast(pub u64);
pub struct Rset;
pub struct Quit;
pub struct Noop;
/// `VRFY string` (RFC 5321 §4.1.1.6).
pub struct Vrfy<'a>(pub &'a str);
/// `EXPN string` (RFC 5321 §4.1.1.7).
pub struct Expn<'a>(pub &'a str);
pub struct StartTls;

impl fmt::Display for Ehlo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EHLO {}\r\n", self.0)
    }
}

impl fmt::Display for Helo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HELO {}\r\n", self.0)
    }
}

impl fmt::Display for Lhlo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LHLO {}\r\n", self.0)
    }
}

impl fmt::Display for MailParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailParam::Size(size) => write!(f, "SIZE={size}"),
            MailParam::Body(BodyType::EightBitMime) => f.write_str("BODY=8BITMIME"),
            MailParam::Body(BodyType::BinaryMime) => f.write_str("BODY=BINARYMIME"),
            MailParam::SmtpUtf8 => f.write_str("SMTPUTF8"),
            MailParam::Ret(ret) => write!(f, "RET={ret}"),
            MailParam::EnvId(id) => write!(f, "ENVID={}", super::dsn::xtext(id)),
        }
    }
}

impl fmt::Display for RcptParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RcptParam::Notify(notify) => write!(f, "NOTIFY={notify}"),
            RcptParam::Orcpt(address) if address.is_ascii() => {
                write!(f, "ORCPT=rfc822;{}", super::dsn::xtext(address))
            }
            RcptParam::Orcpt(address) => {
                write!(f, "ORCPT=utf-8;{}", super::dsn::utf8_addr_xtext(address))
            }
        }
    }
}

impl fmt::Display for Auth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.initial_response {
            Some(response) => write!(f, "AUTH {} {response}\r\n", self.mechanism),
            None => write!(f, "AUTH {}\r\n", self.mechanism),
        }
    }
}

impl fmt::Display for Mail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MAIL FROM:<{}>", self.from)?;
        for param in self.params {
            write!(f, " {param}")?;
        }
        f.write_str("\r\n")
    }
}

impl fmt::Display for Rcpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RCPT TO:<{}>", self.to)?;
        for param in self.params {
            write!(f, " {param}")?;
        }
        f.write_str("\r\n")
    }
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DATA\r\n")
    }
}

impl fmt::Display for BdatLast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BDAT {} LAST\r\n", self.0)
    }
}

impl fmt::Display for Rset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RSET\r\n")
    }
}

impl fmt::Display for Quit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QUIT\r\n")
    }
}

impl fmt::Display for Noop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NOOP\r\n")
    }
}

impl fmt::Display for StartTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("STARTTLS\r\n")
    }
}

impl fmt::Display for Vrfy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRFY {}\r\n", self.0)
    }
}

impl fmt::Display for Expn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EXPN {}\r\n", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_is_its_wire_form() {
        let params = [
            MailParam::Size(1234),
            MailParam::Body(BodyType::EightBitMime),
            MailParam::SmtpUtf8,
            MailParam::Ret("HDRS".into()),
            MailParam::EnvId("id=42".into()),
        ];
        let mail = Mail {
            from: "a@example.com",
            params: &params,
        };
        assert_eq!(
            mail.to_string(),
            "MAIL FROM:<a@example.com> SIZE=1234 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+3D42\r\n"
        );
        let null = Mail {
            from: "",
            params: &[MailParam::Body(BodyType::BinaryMime)],
        };
        assert_eq!(null.to_string(), "MAIL FROM:<> BODY=BINARYMIME\r\n");
        let params = [
            RcptParam::Notify("SUCCESS,FAILURE".into()),
            RcptParam::Orcpt("b+x@example.com".into()),
        ];
        let rcpt = Rcpt {
            to: "b+x@example.com",
            params: &params,
        };
        assert_eq!(
            rcpt.to_string(),
            "RCPT TO:<b+x@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@example.com\r\n"
        );
        let utf8 = Rcpt {
            to: "jörg@bücher.de",
            params: &[RcptParam::Orcpt("jörg@bücher.de".into())],
        };
        assert_eq!(
            utf8.to_string(),
            "RCPT TO:<jörg@bücher.de> ORCPT=utf-8;jörg@bücher.de\r\n"
        );
        let auth = Auth {
            mechanism: "PLAIN",
            initial_response: Some("AGEAYg=="),
        };
        assert_eq!(auth.to_string(), "AUTH PLAIN AGEAYg==\r\n");
        assert_eq!(auth.visible(), "AUTH PLAIN ");
        let login = Auth {
            mechanism: "LOGIN",
            initial_response: None,
        };
        assert_eq!(login.to_string(), "AUTH LOGIN\r\n");
        assert_eq!(BdatLast(42).to_string(), "BDAT 42 LAST\r\n");
        assert_eq!(Ehlo("[127.0.0.1]").to_string(), "EHLO [127.0.0.1]\r\n");
        assert_eq!(Vrfy("bob").to_string(), "VRFY bob\r\n");
    }
}
