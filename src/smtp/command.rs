//! One type per SMTP verb; `Display` is the exact wire form, CRLF included.

use std::fmt;

pub struct Ehlo<'a>(pub &'a str);
pub struct Helo<'a>(pub &'a str);
pub struct Lhlo<'a>(pub &'a str);

/// `MAIL FROM:<addr> [params]`.
pub struct Mail<'a> {
    pub from: &'a str,
    pub params: &'a [String],
}

/// `RCPT TO:<addr> [params]`.
pub struct Rcpt<'a> {
    pub to: &'a str,
    pub params: &'a [String],
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
