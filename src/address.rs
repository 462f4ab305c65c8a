//! Mailboxes as users type them and as header fields hold them: `addr`, `Name <addr>`,
//! comma-separated lists, with RFC 5322 comments and groups in header values.

use std::str::FromStr;

use crate::exit::{Kind, fail};

/// One mailbox: an optional display name and a validated address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    /// Parses `addr`, `<addr>` or `Name <addr>` (the name may be quoted).
    pub fn parse(input: &str) -> anyhow::Result<Mailbox> {
        reject_line_breaks("address", input)?;
        let text = input.trim();
        let (name, address) = match (text.rfind('<'), text.ends_with('>')) {
            (Some(open), true) => {
                let name = unquote(text[..open].trim());
                let name = (!name.is_empty()).then_some(name);
                (name, text[open + 1..text.len() - 1].trim())
            }
            (None, false) => (None, text),
            _ => return Err(bad_address(input, "unbalanced angle brackets")),
        };
        validate(address).map_err(|why| bad_address(input, &why))?;
        Ok(Mailbox {
            name,
            address: address.to_string(),
        })
    }

    /// Parses a comma-separated list; commas inside quotes or angle brackets do not split.
    /// Header syntax is understood too: comments `(…)` are dropped, and a group
    /// `Name: a@x, b@x;` contributes its members (`undisclosed-recipients:;` none).
    pub fn parse_list(input: &str) -> anyhow::Result<Vec<Mailbox>> {
        reject_line_breaks("address", input)?;
        let input = strip_comments(input);
        split_list(&input)
            .into_iter()
            .filter(|item| !item.trim().is_empty())
            .map(Mailbox::parse)
            .collect()
    }
}

/// Parses every value of a repeatable flag, each of which may be a list.
pub fn parse_all(values: &[String]) -> anyhow::Result<Vec<Mailbox>> {
    let mut mailboxes = Vec::new();
    for value in values {
        let list = Mailbox::parse_list(value)?;
        if list.is_empty() {
            return Err(bad_address(value, "empty address"));
        }
        mailboxes.extend(list);
    }
    Ok(mailboxes)
}

/// Checks an envelope address: lettre's `Address` rules (local part, domain or address literal).
pub fn validate(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("empty address".into());
    }
    if address.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("contains whitespace or control characters".into());
    }
    lettre::Address::from_str(address)
        .map(|_| ())
        .map_err(|err| err.to_string())
}

/// Refuses a value that would break out of its header or command line.
pub fn reject_line_breaks(what: &str, value: &str) -> anyhow::Result<()> {
    if value.contains(['\r', '\n']) {
        return Err(fail(
            Kind::Data,
            format!("{what} contains a line break (CR or LF): {value:?}"),
        ));
    }
    if value.contains('\0') {
        return Err(fail(
            Kind::Data,
            format!("{what} contains a NUL byte: {value:?}"),
        ));
    }
    Ok(())
}

fn bad_address(input: &str, why: &str) -> anyhow::Error {
    fail(Kind::Usage, format!("invalid address {input:?}: {why}"))
}

fn unquote(name: &str) -> String {
    let inner = name
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(name);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

/// Splits at commas, and at the `:` and `;` that open and close a group (dropping the
/// group's name), outside quotes, angle brackets and domain literals.
fn split_list(input: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut quoted, mut angle, mut literal, mut escaped) =
        (0, false, false, false, false);
    for (index, ch) in input.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !literal => quoted = !quoted,
            _ if quoted => {}
            '[' => literal = true,
            ']' => literal = false,
            _ if literal => {}
            '<' => angle = true,
            '>' => angle = false,
            ':' if !angle => start = index + 1,
            ',' | ';' if !angle => {
                items.push(&input[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(&input[start..]);
    items
}

/// Replaces each comment `(…)` (nested, with quoted-pairs) outside quoted strings and
/// domain literals by a space.
fn strip_comments(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let (mut depth, mut quoted, mut literal, mut escaped) = (0usize, false, false, false);
    for ch in input.chars() {
        if depth > 0 {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push(' ');
                    }
                }
                _ => {}
            }
            continue;
        }
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !literal => quoted = !quoted,
            '[' if !quoted => literal = true,
            ']' if !quoted => literal = false,
            '(' if !quoted && !literal => {
                depth = 1;
                continue;
            }
            _ => {}
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_address() {
        let mailbox = Mailbox::parse("\"Doe, Jane\" <jane@example.com>").unwrap();
        assert_eq!(mailbox.name.as_deref(), Some("Doe, Jane"));
        assert_eq!(mailbox.address, "jane@example.com");
    }

    #[test]
    fn splits_lists_outside_quotes() {
        let list = Mailbox::parse_list("a@x.org, \"B, b\" <b@x.org>,c@x.org").unwrap();
        let addresses: Vec<_> = list.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(addresses, ["a@x.org", "b@x.org", "c@x.org"]);
    }

    #[test]
    fn understands_header_comments_and_groups() {
        let addresses = |input: &str| -> Vec<String> {
            Mailbox::parse_list(input)
                .unwrap()
                .into_iter()
                .map(|m| m.address)
                .collect()
        };
        assert!(addresses("undisclosed-recipients:;").is_empty());
        assert_eq!(
            addresses("Team: a@x.org, \"B; b\" <b@x.org>;, c@x.org (Carol (the boss))"),
            ["a@x.org", "b@x.org", "c@x.org"]
        );
        assert_eq!(
            addresses("(comment) Dee <d@x.org>, \"(not a comment)\" <e@x.org>"),
            ["d@x.org", "e@x.org"]
        );
        assert_eq!(addresses("f@[IPv6:::1]"), ["f@[IPv6:::1]"]);
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "nobody",
            "a@",
            "@x.org",
            "a b@x.org",
            "<a@x.org",
            "a@x.org\r\nRCPT",
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
