//! Mailboxes as users type them and as header fields hold them: `addr`, `Name <addr>`,
//! comma-separated lists, with RFC 5322 comments and groups in header values; a bare user
//! name (`root`, the local part alone) is accepted and may be qualified with a domain.

use crate::base::exit::{Kind, fail};

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
            _ => {
                return Err(bad_address(
                    input,
                    "a < without its > (write Name <address>)",
                ));
            }
        };
        validate(address).map_err(|why| bad_address(input, &why))?;
        Ok(Mailbox {
            name,
            address: address.to_string(),
        })
    }

    /// The mailbox as a user writes it: `Name <addr>`, or `addr` alone.
    pub fn to_text(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} <{}>", self.address),
            None => self.address.clone(),
        }
    }

    /// This mailbox with `@domain` appended when its address is a bare user name.
    pub fn qualified(&self, domain: Option<&str>) -> Mailbox {
        Mailbox {
            name: self.name.clone(),
            address: qualify(&self.address, domain),
        }
    }

    /// Parses a comma-separated list; commas inside quotes or angle brackets do not split.
    /// Header syntax is understood too: comments `(…)` are dropped, and a group
    /// `Name: a@x, b@x;` contributes its members (`undisclosed-recipients:;` none).
    pub fn parse_list(input: &str) -> anyhow::Result<Vec<Mailbox>> {
        reject_line_breaks("address", input)?;
        let input = strip_comments(input).ok_or_else(|| {
            bad_address(
                input,
                "a ( without its ) (a comment is written (like this); quote a name that has one)",
            )
        })?;
        let items: Vec<&str> = split_list(&input)
            .into_iter()
            .filter(|item| !item.trim().is_empty())
            .collect();
        let mut mailboxes = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let parsed = Mailbox::parse(item);
            let bare_word =
                matches!(&parsed, Ok(m) if m.name.is_none() && !m.address.contains('@'));
            if (parsed.is_err() || bare_word)
                && let Some(next) = items.get(index + 1)
                && let Some((name, address)) = unquoted_display_name(next)
            {
                let whole = format!("{}, {name}", item.trim());
                return Err(fail(
                    Kind::Usage,
                    format!(
                        "invalid address list {:?}: the comma splits the display name {whole:?}; \
                         quote it: \"{whole}\" <{address}> (if {:?} is a user name, list it after that address)",
                        input.trim(),
                        item.trim()
                    ),
                ));
            }
            mailboxes.push(parsed?);
        }
        Ok(mailboxes)
    }
}

/// Mailboxes as a mail-builder header value, for an address field (display names RFC 2047-encoded).
pub fn address_header<'a>(
    mailboxes: &[&'a Mailbox],
) -> mail_builder::headers::address::Address<'a> {
    let items: Vec<mail_builder::headers::address::Address<'a>> = mailboxes
        .iter()
        .map(|m| {
            mail_builder::headers::address::Address::new_address(
                m.name.as_deref(),
                m.address.as_str(),
            )
        })
        .collect();
    if items.len() == 1 {
        items
            .into_iter()
            .next()
            .unwrap_or(mail_builder::headers::address::Address::new_list(Vec::new()))
    } else {
        mail_builder::headers::address::Address::new_list(items)
    }
}

/// Parses every value of a repeatable flag, each of which may be a list.
pub fn parse_all(values: &[String]) -> anyhow::Result<Vec<Mailbox>> {
    let mut mailboxes = Vec::new();
    for value in values {
        let list = Mailbox::parse_list(value)?;
        if list.is_empty() {
            return Err(bad_address(value, "the address is empty"));
        }
        mailboxes.extend(list);
    }
    Ok(mailboxes)
}

/// Checks an envelope address, `local@domain` (a domain name or an address literal) or a
/// bare user name (the local part alone, as cron and LMTP use them). The error says in plain
/// words what is wrong.
pub fn validate(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("the address is empty".into());
    }
    let unquoted = &address[quoted_prefix_len(address)..];
    if unquoted.contains(char::is_whitespace) && !address.contains(char::is_control) {
        return Err(
            "it contains a space; an address has none (a display name is written Name <address>)"
                .into(),
        );
    }
    if address.contains(char::is_control) {
        return Err("it contains a control character".into());
    }
    let Some((local, domain)) = split_domain(address) else {
        if address.starts_with('-') {
            return Err(
                "a bare user name cannot start with - (is it an option given after --?)".into(),
            );
        }
        return check_local_part(address);
    };
    if local.is_empty() {
        return Err("there is nothing before the @ (the user name is missing)".into());
    }
    check_local_part(local)?;
    if domain.is_empty() {
        return Err("there is nothing after the @ (the domain is missing)".into());
    }
    if domain.contains('@') {
        return Err("it has more than one @ (quote a local part that has one)".into());
    }
    lettre::Address::new("postmaster", domain).map_err(|_| {
        format!(
            "{domain:?} after the @ is not a domain name or an address literal such as [192.0.2.1]"
        )
    })?;
    Ok(())
}

/// True when `address` is a bare user name: a local part without `@domain`.
pub fn is_unqualified(address: &str) -> bool {
    !address.is_empty() && split_domain(address).is_none()
}

/// `address` with `@domain` appended when it is a bare user name and a domain is given.
pub fn qualify(address: &str, domain: Option<&str>) -> String {
    match domain {
        Some(domain) if is_unqualified(address) => format!("{address}@{domain}"),
        _ => address.to_string(),
    }
}

/// Checks a domain given to qualify bare user names with (`--qualify-domain`).
pub fn validate_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() || domain.contains(['@', ' ', '\t', '\r', '\n', '\0']) {
        return Err("give a domain name such as example.com, without @".into());
    }
    lettre::Address::new("postmaster", domain)
        .map(|_| ())
        .map_err(|_| "give a domain name such as example.com, without @".into())
}

/// Splits `local@domain` at the `@` outside a quoted local part; `None` for a bare local part.
fn split_domain(address: &str) -> Option<(&str, &str)> {
    let after_quotes = quoted_prefix_len(address);
    address[after_quotes..].find('@').map(|at| {
        (
            &address[..after_quotes + at],
            &address[after_quotes + at + 1..],
        )
    })
}

/// The length of a quoted local part at the start of `address` (0 when there is none).
fn quoted_prefix_len(address: &str) -> usize {
    match address.strip_prefix('"') {
        Some(rest) => {
            let mut escaped = false;
            let close = rest.char_indices().find_map(|(index, ch)| match ch {
                _ if escaped => {
                    escaped = false;
                    None
                }
                '\\' => {
                    escaped = true;
                    None
                }
                '"' => Some(index + 2),
                _ => None,
            });
            close.unwrap_or(address.len())
        }
        None => 0,
    }
}

/// Checks a local part (dot-atom or quoted string, UTF-8 allowed as RFC 6532 says).
fn check_local_part(local: &str) -> Result<(), String> {
    if lettre::Address::new(local, "example.com").is_ok() {
        return Ok(());
    }
    if local.starts_with('"') {
        return Err(format!(
            "the quoted user name {local:?} is not closed or has a stray quote"
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(format!(
            "the user name {local:?} starts or ends with a dot, or has two dots in a row"
        ));
    }
    let odd: String = local
        .chars()
        .filter(|c| {
            c.is_ascii() && !c.is_ascii_alphanumeric() && !"!#$%&'*+-/=?^_`{|}~.".contains(*c)
        })
        .fold(String::new(), |mut seen, c| {
            if !seen.contains(c) {
                seen.push(c);
            }
            seen
        });
    if local.contains(',') {
        return Err(format!(
            "the user name {local:?} has a comma; give one address per item, or quote a display name that has one"
        ));
    }
    Err(format!(
        "the user name {local:?} has characters an address can only have in quotes: {odd}"
    ))
}

/// For the item after a comma: `Jane <j@example.com>` with an unquoted display name, as
/// (name, address) — the sign that a `Doe, Jane <…>` name was split at its comma.
fn unquoted_display_name(item: &str) -> Option<(&str, &str)> {
    let text = item.trim();
    let open = text.rfind('<')?;
    let name = text[..open].trim();
    let address = text[open + 1..].strip_suffix('>')?.trim();
    (!name.is_empty() && !name.starts_with('"')).then_some((name, address))
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
/// domain literals by a space; `None` when a comment is not closed.
fn strip_comments(input: &str) -> Option<String> {
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
    (depth == 0).then_some(out)
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
            "no body",
            "a@",
            "@x.org",
            "a b@x.org",
            "<a@x.org",
            "a@x.org\r\nRCPT",
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn bare_user_names_are_accepted_and_qualified() {
        for bare in ["root", "Postmaster", "first.last", "\"odd name\"", "jörg"] {
            assert!(validate(bare).is_ok(), "{bare} refused");
            assert!(is_unqualified(bare), "{bare} is qualified?");
        }
        assert!(!is_unqualified("\"a@b\"@x.org"));
        assert!(is_unqualified("\"a@b\""));
        assert_eq!(qualify("root", Some("example.com")), "root@example.com");
        assert_eq!(qualify("root", None), "root");
        assert_eq!(qualify("a@x.org", Some("example.com")), "a@x.org");
    }

    #[test]
    fn errors_say_what_is_wrong_in_plain_words() {
        let why = |input: &str| validate(input).unwrap_err();
        assert!(why("a@").contains("domain is missing"), "{}", why("a@"));
        assert!(why("@x.org").contains("user name is missing"));
        assert!(why("a(b@x.org").contains("only have in quotes: ("));
        assert!(why("a..b@x.org").contains("two dots"));
        assert!(why("a@x_y!.org").contains("not a domain name"));
        let err = Mailbox::parse_list("Doe, Jane <j@example.com>").unwrap_err();
        assert!(
            err.to_string()
                .contains("quote it: \"Doe, Jane\" <j@example.com>"),
            "{err}"
        );
    }
}
