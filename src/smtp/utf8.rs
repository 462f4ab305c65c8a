//! SMTPUTF8 (RFC 6531): messages whose envelope addresses or header fields are not ASCII.
//!
//! When the server offers SMTPUTF8 they go as UTF-8 and MAIL FROM carries the `SMTPUTF8`
//! parameter. When it does not, internationalised domains are turned into A-labels
//! (`bücher.example` → `xn--bcher-kva.example`, IDNA as RFC 5891 defines it) in the envelope
//! and in address header fields whose only non-ASCII part is a domain; a local part that is
//! not ASCII has no ASCII form, so such an address cannot be sent at all (exit 69).

use std::borrow::Cow;

use crate::base::exit::{Kind, fail};
use crate::message::{Content, Envelope};

/// Header fields holding addresses or message ids, whose domains can become A-labels.
const ADDRESS_FIELDS: [&str; 17] = [
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "return-path",
    "disposition-notification-to",
    "message-id",
    "resent-message-id",
    "in-reply-to",
    "references",
];

/// True when the envelope or the header block has non-ASCII text: the message needs
/// SMTPUTF8 to go as it is.
pub fn is_international(envelope: &Envelope, content: &Content) -> bool {
    !envelope.from.is_ascii()
        || envelope.recipients.iter().any(|to| !to.is_ascii())
        || !content.header_block().is_ascii()
}

/// The envelope and content to send to a server that does (`offered`) or does not offer
/// SMTPUTF8: unchanged in the first case; otherwise with A-label domains, or an error (69)
/// when an envelope address has a local part that is not ASCII.
pub fn adapt<'a>(
    offered: bool,
    envelope: &'a Envelope,
    content: &'a Content,
) -> anyhow::Result<(Cow<'a, Envelope>, Cow<'a, Content>)> {
    if offered || !is_international(envelope, content) {
        return Ok((Cow::Borrowed(envelope), Cow::Borrowed(content)));
    }
    let envelope = if envelope.from.is_ascii() && envelope.recipients.iter().all(|a| a.is_ascii()) {
        Cow::Borrowed(envelope)
    } else {
        let mut ascii = Envelope {
            from: ascii_address(&envelope.from)?,
            recipients: Vec::with_capacity(envelope.recipients.len()),
        };
        for recipient in &envelope.recipients {
            ascii.recipients.push(ascii_address(recipient)?);
        }
        Cow::Owned(ascii)
    };
    let header = content.header_block();
    let content = if header.is_ascii() {
        Cow::Borrowed(content)
    } else {
        let rewritten = a_label_header(header);
        if rewritten == header {
            Cow::Borrowed(content)
        } else {
            Cow::Owned(content.with_header_block(&rewritten))
        }
    };
    Ok((envelope, content))
}

/// An envelope address for a server without SMTPUTF8: the domain as A-labels; an error
/// when the local part is not ASCII.
pub fn ascii_address(address: &str) -> anyhow::Result<String> {
    if address.is_ascii() {
        return Ok(address.to_string());
    }
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    if !local.is_ascii() {
        return Err(fail(
            Kind::Unavailable,
            format!(
                "the server does not offer SMTPUTF8 (RFC 6531), and the local part of \
                 <{address}> is not ASCII, so it cannot be sent there; nothing was sent"
            ),
        ));
    }
    let ascii = idna::domain_to_ascii(domain).map_err(|_| {
        fail(
            Kind::Usage,
            format!("<{address}>: the domain {domain:?} is not a valid internationalised name"),
        )
    })?;
    Ok(format!("{local}@{ascii}"))
}

/// The header block with the domains in address fields turned into A-labels, for each field
/// where that leaves only ASCII; other fields are kept as they are.
pub fn a_label_header(header: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + 32);
    for field in fields(header) {
        let name = field.iter().position(|b| *b == b':').map(|colon| {
            String::from_utf8_lossy(&field[..colon])
                .trim()
                .to_ascii_lowercase()
        });
        let rewrite = field.iter().any(|b| !b.is_ascii())
            && name.is_some_and(|name| ADDRESS_FIELDS.contains(&name.as_str()));
        if rewrite
            && let Ok(text) = std::str::from_utf8(field)
            && let Some(ascii) = a_label_domains(text).filter(|t| t.is_ascii())
        {
            out.extend_from_slice(ascii.as_bytes());
        } else {
            out.extend_from_slice(field);
        }
    }
    out
}

/// Splits a header block into fields, each with its continuation lines and line ends (the
/// blank line that ends the header comes last, as its own piece).
fn fields(header: &[u8]) -> Vec<&[u8]> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < header.len() {
        let end = header[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(header.len(), |lf| at + lf + 1);
        let next_continues = matches!(header.get(end), Some(b' ' | b'\t'));
        let blank = header[at..end].iter().all(|b| *b == b'\r' || *b == b'\n');
        if blank || !next_continues {
            fields.push(&header[start..end]);
            start = end;
        }
        at = end;
    }
    if start < header.len() {
        fields.push(&header[start..]);
    }
    fields
}

/// The text with every `@domain` that is not ASCII replaced by its A-label form; `None` when
/// a domain has no valid A-label form.
fn a_label_domains(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "<>,;:()\"[]".contains(c))
            .unwrap_or(rest.len());
        let domain = &rest[..end];
        if domain.is_ascii() {
            out.push_str(domain);
        } else {
            out.push_str(&idna::domain_to_ascii(domain).ok()?);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_become_a_labels_and_local_parts_cannot() {
        assert_eq!(
            ascii_address("info@bücher.example").unwrap(),
            "info@xn--bcher-kva.example"
        );
        assert_eq!(ascii_address("a@example.com").unwrap(), "a@example.com");
        let err = ascii_address("jörg@example.com").unwrap_err();
        assert_eq!(crate::base::exit::code_for(&err), 69);
    }

    #[test]
    fn header_fields_whose_only_non_ascii_part_is_a_domain_are_rewritten() {
        let header = "From: =?utf-8?B?SsO2cmc=?= <info@bücher.example>\r\n\
                      To: a@exämple.com,\r\n b@bücher.example\r\n\
                      Cc: jörg@exämple.com\r\n\
                      Subject: Grüße @ bücher.example\r\n\
                      Message-ID: <1.2@bücher.example>\r\n\r\n";
        let out = String::from_utf8(a_label_header(header.as_bytes())).unwrap();
        assert_eq!(
            out,
            "From: =?utf-8?B?SsO2cmc=?= <info@xn--bcher-kva.example>\r\n\
             To: a@xn--exmple-cua.com,\r\n b@xn--bcher-kva.example\r\n\
             Cc: jörg@exämple.com\r\n\
             Subject: Grüße @ bücher.example\r\n\
             Message-ID: <1.2@xn--bcher-kva.example>\r\n\r\n"
        );
    }
}
