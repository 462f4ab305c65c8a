//! Server replies (RFC 5321 §4.2) and EHLO capabilities (parsed with smtp-proto).

use std::fmt;

use smtp_proto::EhloResponse;

/// A complete reply: a code and one text per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

/// One parsed reply line.
pub struct ReplyLine<'a> {
    pub code: u16,
    pub last: bool,
    pub text: &'a str,
}

impl<'a> ReplyLine<'a> {
    /// Parses `NNN text`, `NNN-text` or a bare `NNN` (line ending already removed).
    pub fn parse(line: &'a str) -> Option<ReplyLine<'a>> {
        let bytes = line.as_bytes();
        if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let code: u16 = line[..3].parse().ok()?;
        if !(200..=599).contains(&code) {
            return None;
        }
        match bytes.get(3) {
            None => Some(ReplyLine {
                code,
                last: true,
                text: "",
            }),
            Some(b' ') => Some(ReplyLine {
                code,
                last: true,
                text: &line[4..],
            }),
            Some(b'-') => Some(ReplyLine {
                code,
                last: false,
                text: &line[4..],
            }),
            Some(_) => None,
        }
    }
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The RFC 3463 enhanced status code at the start of the first line, e.g. `5.1.1`.
    pub fn enhanced_code(&self) -> Option<String> {
        let first = self.lines.first()?;
        crate::smtp::status::parse(self.code, first).map(str::to_string)
    }

    /// What the enhanced status code means, e.g. "bad destination mailbox address".
    pub fn enhanced_meaning(&self) -> Option<&'static str> {
        crate::smtp::status::meaning(&self.enhanced_code()?)
    }

    /// The text of every line joined by spaces. The enhanced code stays at the start; the
    /// copies servers repeat on every further line (RFC 2034 §3) are left out.
    pub fn text(&self) -> String {
        let code = self.enhanced_code();
        let mut text = String::new();
        for (index, line) in self.lines.iter().enumerate() {
            let line = match &code {
                Some(code) if index > 0 => line
                    .strip_prefix(code.as_str())
                    .map_or(line.as_str(), str::trim_start),
                _ => line.as_str(),
            };
            if line.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(line);
        }
        text
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        let text = self.text();
        if !text.is_empty() {
            write!(f, " {text}")?;
        }
        Ok(())
    }
}

/// What a reply may be, by the command it answers (RFC 5321 §4.3.2, RFC 3207, RFC 4954,
/// RFC 3030, RFC 2033): a refusal (4xx, 5xx) is always allowed; the positive reply must be of
/// the class the command calls for. Anything else means the server and the client no longer
/// agree on where the session is (a 354 answering MAIL, a 250 answering DATA, one reply too
/// many or too few in a pipelined group): a protocol violation, exit 76.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A 2xx completion: EHLO, HELO, LHLO, MAIL, RCPT, RSET, NOOP, VRFY, EXPN, QUIT, BDAT,
    /// the end of the data, the greeting.
    Completion,
    /// 354 to DATA: send the data.
    StartInput,
    /// 220 to STARTTLS: start the handshake.
    TlsReady,
    /// 235 (logged in) or 334 (a challenge) to AUTH and to each SASL response.
    Auth,
    /// 235 only, to an AUTH pipelined with the commands behind it (RFC 4954 §4): a
    /// challenge would make the server take the next command for the answer.
    LoggedIn,
}

impl Expect {
    /// True when `reply` is one this command may get.
    pub fn allows(self, reply: &Reply) -> bool {
        if reply.code >= 400 {
            return true;
        }
        match self {
            Expect::Completion => reply.is_positive(),
            Expect::StartInput => reply.code == 354,
            Expect::TlsReady => reply.code == 220,
            Expect::Auth => matches!(reply.code, 235 | 334),
            Expect::LoggedIn => reply.code == 235,
        }
    }

    /// The replies allowed, for messages.
    pub fn described(self) -> &'static str {
        match self {
            Expect::Completion => "2xx, 4xx or 5xx",
            Expect::StartInput => "354, 4xx or 5xx",
            Expect::TlsReady => "220, 4xx or 5xx",
            Expect::Auth => "235, 334, 4xx or 5xx",
            Expect::LoggedIn => "235, 4xx or 5xx",
        }
    }
}

/// A reply as shown in `--json`: the code, the enhanced status code and what it means, the
/// text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplySummary {
    pub code: u16,
    pub enhanced_code: Option<String>,
    pub enhanced_meaning: Option<&'static str>,
    pub text: String,
}

impl From<&Reply> for ReplySummary {
    fn from(reply: &Reply) -> Self {
        ReplySummary {
            code: reply.code,
            enhanced_code: reply.enhanced_code(),
            enhanced_meaning: reply.enhanced_meaning(),
            text: reply.text(),
        }
    }
}

/// What the server offered in its EHLO reply.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// The parsed extensions (bit flags, SIZE, AUTH mechanisms).
    pub ehlo: EhloResponse<String>,
    /// Every keyword line as sent, after the greeting line.
    pub lines: Vec<String>,
}

impl Capabilities {
    /// From a positive EHLO/LHLO reply. Unparseable extension lines are ignored.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut wire = String::new();
        for (index, line) in reply.lines.iter().enumerate() {
            let sep = if index + 1 == reply.lines.len() {
                ' '
            } else {
                '-'
            };
            wire.push_str(&format!("{}{sep}{line}\r\n", reply.code));
        }
        let ehlo = EhloResponse::parse(&mut wire.as_bytes().iter()).unwrap_or_default();
        Capabilities {
            ehlo,
            lines: reply.lines.iter().skip(1).cloned().collect(),
        }
    }

    pub fn has(&self, extension: u32) -> bool {
        self.ehlo.capabilities & extension != 0
    }

    /// The SIZE limit, when the server declared one (0 means no limit given).
    pub fn size_limit(&self) -> Option<u64> {
        (self.has(smtp_proto::EXT_SIZE) && self.ehlo.size > 0).then_some(self.ehlo.size as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn parses_bare_and_multiline() {
        let bare = ReplyLine::parse("250").unwrap();
        assert!(bare.last && bare.code == 250 && bare.text.is_empty());
        assert!(!ReplyLine::parse("250-PIPELINING").unwrap().last);
        assert!(ReplyLine::parse("25O ok").is_none());
        assert!(ReplyLine::parse("250xok").is_none());
    }

    #[test]
    fn reads_enhanced_codes() {
        assert_eq!(
            reply(550, &["5.1.1 no such user"])
                .enhanced_code()
                .as_deref(),
            Some("5.1.1")
        );
        assert_eq!(reply(250, &["Ok"]).enhanced_code(), None);
        assert_eq!(reply(550, &["2.0.0 wrong class"]).enhanced_code(), None);
    }

    #[test]
    fn text_leaves_out_repeated_enhanced_codes() {
        let multi = reply(
            550,
            &[
                "5.1.1 The account does not exist.",
                "5.1.1 Please check the address",
                "5.1.1",
            ],
        );
        assert_eq!(
            multi.text(),
            "5.1.1 The account does not exist. Please check the address"
        );
        assert_eq!(
            multi.to_string(),
            "550 5.1.1 The account does not exist. Please check the address"
        );
        assert_eq!(reply(250, &["a", "b"]).text(), "a b");
    }

    #[test]
    fn reads_capabilities() {
        let caps = Capabilities::from_ehlo(&reply(
            250,
            &[
                "mx.example",
                "PIPELINING",
                "SIZE 1000",
                "8BITMIME",
                "AUTH PLAIN LOGIN",
            ],
        ));
        assert!(caps.has(smtp_proto::EXT_PIPELINING));
        assert!(caps.has(smtp_proto::EXT_8BIT_MIME));
        assert_eq!(caps.size_limit(), Some(1000));
        assert_ne!(caps.ehlo.auth_mechanisms & smtp_proto::AUTH_PLAIN, 0);
    }
}
