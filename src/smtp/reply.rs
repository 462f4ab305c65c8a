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
        let word = first.split(' ').next()?;
        let parts: Vec<&str> = word.split('.').collect();
        let class_ok = matches!(parts.first(), Some(&"2" | &"4" | &"5"));
        let numbers_ok = parts.len() == 3
            && parts[1..]
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
        (class_ok && numbers_ok).then(|| word.to_string())
    }

    /// The text of every line joined by spaces, enhanced codes included.
    pub fn text(&self) -> String {
        self.lines.join(" ")
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

/// A reply as shown in `--json`: the code, the enhanced status code, the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplySummary {
    pub code: u16,
    pub enhanced_code: Option<String>,
    pub text: String,
}

impl From<&Reply> for ReplySummary {
    fn from(reply: &Reply) -> Self {
        ReplySummary {
            code: reply.code,
            enhanced_code: reply.enhanced_code(),
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
