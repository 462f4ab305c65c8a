//! Enhanced status codes (RFC 3463, RFC 2034): parsing `class.subject.detail` and what each
//! registered code means (the IANA registry of RFC 5248, with the later additions).

/// The enhanced code at the start of a reply line, e.g. `5.1.1` in `5.1.1 no such user`,
/// when its class (2, 4 or 5) matches the reply code's first digit as RFC 3463 requires.
pub fn parse(reply_code: u16, line: &str) -> Option<&str> {
    let word = line.split(' ').next()?;
    let mut parts = word.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    let number = |part: &str, most: usize| {
        (1..=most).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    let class_matches = class.len() == 1 && class.as_bytes()[0] == b'0' + (reply_code / 100) as u8;
    (parts.next().is_none()
        && matches!(class, "2" | "4" | "5")
        && class_matches
        && number(subject, 3)
        && number(detail, 3))
    .then_some(word)
}

/// What an enhanced code means, e.g. `5.1.1` → "bad destination mailbox address"; an
/// unregistered detail falls back to its subject ("other or undefined mailbox status").
pub fn meaning(code: &str) -> Option<&'static str> {
    let mut parts = code.splitn(2, '.');
    let (_class, rest) = (parts.next()?, parts.next()?);
    if let Some((_, text)) = DETAILS.iter().find(|(key, _)| *key == rest) {
        return Some(text);
    }
    let subject = rest.split('.').next()?;
    DETAILS
        .iter()
        .find(|(key, _)| key.strip_suffix(".0") == Some(subject))
        .map(|(_, text)| *text)
}

/// `subject.detail` and its meaning (RFC 3463 §3, RFC 5248's registry and its additions).
const DETAILS: &[(&str, &str)] = &[
    ("0.0", "other undefined status"),
    ("1.0", "other address status"),
    ("1.1", "bad destination mailbox address"),
    ("1.2", "bad destination system address"),
    ("1.3", "bad destination mailbox address syntax"),
    ("1.4", "destination mailbox address ambiguous"),
    ("1.5", "destination address valid"),
    (
        "1.6",
        "destination mailbox has moved, no forwarding address",
    ),
    ("1.7", "bad sender's mailbox address syntax"),
    ("1.8", "bad sender's system address"),
    ("1.9", "message relayed to non-compliant mailer"),
    ("1.10", "recipient address has null MX"),
    ("2.0", "other or undefined mailbox status"),
    ("2.1", "mailbox disabled, not accepting messages"),
    ("2.2", "mailbox full"),
    ("2.3", "message length exceeds administrative limit"),
    ("2.4", "mailing list expansion problem"),
    ("3.0", "other or undefined mail system status"),
    ("3.1", "mail system full"),
    ("3.2", "system not accepting network messages"),
    ("3.3", "system not capable of selected features"),
    ("3.4", "message too big for system"),
    ("3.5", "system incorrectly configured"),
    ("3.6", "requested priority was changed"),
    ("4.0", "other or undefined network or routing status"),
    ("4.1", "no answer from host"),
    ("4.2", "bad connection"),
    ("4.3", "directory server failure"),
    ("4.4", "unable to route"),
    ("4.5", "mail system congestion"),
    ("4.6", "routing loop detected"),
    ("4.7", "delivery time expired"),
    ("5.0", "other or undefined protocol status"),
    ("5.1", "invalid command"),
    ("5.2", "syntax error"),
    ("5.3", "too many recipients"),
    ("5.4", "invalid command arguments"),
    ("5.5", "wrong protocol version"),
    ("5.6", "authentication exchange line is too long"),
    ("6.0", "other or undefined media error"),
    ("6.1", "media not supported"),
    ("6.2", "conversion required and prohibited"),
    ("6.3", "conversion required but not supported"),
    ("6.4", "conversion with loss performed"),
    ("6.5", "conversion failed"),
    ("6.6", "message content not available"),
    (
        "6.7",
        "non-ASCII addresses not permitted for that sender or recipient",
    ),
    (
        "6.8",
        "UTF-8 string reply is required, but not permitted by the client",
    ),
    (
        "6.9",
        "UTF-8 header message cannot be transferred to one or more recipients",
    ),
    ("7.0", "other or undefined security status"),
    ("7.1", "delivery not authorized, message refused"),
    ("7.2", "mailing list expansion prohibited"),
    ("7.3", "security conversion required but not possible"),
    ("7.4", "security features not supported"),
    ("7.5", "cryptographic failure"),
    ("7.6", "cryptographic algorithm not supported"),
    ("7.7", "message integrity failure"),
    ("7.8", "authentication credentials invalid"),
    ("7.9", "authentication mechanism is too weak"),
    ("7.10", "encryption needed"),
    (
        "7.11",
        "encryption required for requested authentication mechanism",
    ),
    ("7.12", "a password transition is needed"),
    ("7.13", "user account disabled"),
    ("7.14", "trust relationship required"),
    ("7.15", "priority level is too low"),
    ("7.16", "message is too big for the specified priority"),
    ("7.17", "mailbox owner has changed"),
    ("7.18", "domain owner has changed"),
    ("7.19", "RRVS test cannot be completed"),
    ("7.20", "no passing DKIM signature found"),
    ("7.21", "no acceptable DKIM signature found"),
    ("7.22", "no valid author-matched DKIM signature found"),
    ("7.23", "SPF validation failed"),
    ("7.24", "SPF validation error"),
    ("7.25", "reverse DNS validation failed"),
    ("7.26", "multiple authentication checks failed"),
    ("7.27", "sender address has null MX"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_codes_of_the_replys_class() {
        assert_eq!(parse(550, "5.1.1 no such user"), Some("5.1.1"));
        assert_eq!(parse(452, "4.5.3 too many recipients"), Some("4.5.3"));
        assert_eq!(parse(250, "2.1.10 ok"), Some("2.1.10"));
        assert_eq!(
            parse(550, "2.0.0 Ok"),
            None,
            "class must match the reply code"
        );
        assert_eq!(parse(550, "5.1 no"), None);
        assert_eq!(parse(550, "5.1.1.1 no"), None);
        assert_eq!(parse(550, "5.1.1234 no"), None);
        assert_eq!(parse(250, "Ok"), None);
        assert_eq!(parse(250, ""), None);
    }

    #[test]
    fn explains_registered_codes_and_falls_back_to_the_subject() {
        assert_eq!(meaning("5.1.1"), Some("bad destination mailbox address"));
        assert_eq!(meaning("4.5.3"), Some("too many recipients"));
        assert_eq!(meaning("5.7.27"), Some("sender address has null MX"));
        assert_eq!(meaning("4.2.99"), Some("other or undefined mailbox status"));
        assert_eq!(meaning("5.9.9"), None);
    }
}
