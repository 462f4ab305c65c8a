//! `--dry-run`: the message exactly as it would be sent on stdout, so that it can be saved and
//! sent later with `-t`; the envelope (MAIL FROM, RCPT TO) and notes on stderr. With `--json`,
//! one document with the envelope, the Message-ID and the message in base64.

use anyhow::Context;

use crate::message::address::Mailbox;
use crate::message::raw::RawMessage;
use crate::message::{Content, Envelope};
use crate::report::JsonReport;

/// Shows what would be sent (see the module's documentation).
pub fn dry_run(json: bool, envelope: &Envelope, content: &Content) -> anyhow::Result<()> {
    if json {
        return dry_run_json(envelope, content);
    }
    let international = crate::smtp::utf8::is_international(envelope, content);
    let smtputf8 = if international { " SMTPUTF8" } else { "" };
    crate::say!("MAIL FROM:<{}>{smtputf8}", envelope.from);
    for recipient in &envelope.recipients {
        crate::say!("RCPT TO:<{recipient}>");
    }
    if international {
        crate::say!("smtpsend: {}", smtputf8_note(envelope, content));
    }
    if let Some(note) = resend_note(envelope, content) {
        crate::say!("smtpsend: {note}");
    }
    let written = crate::base::output::write_message(|stdout| content.write_to(stdout))
        .context("cannot write the message to stdout")?;
    let Some(to_terminal) = written else {
        return Ok(());
    };
    // stdout holds the exact bytes; a missing final line break is said on stderr (which
    // also ends the line on a terminal, so the prompt does not stick to the text).
    if !content.ends_with_crlf() {
        if to_terminal {
            crate::say!("");
        }
        crate::say!(
            "smtpsend: (the message does not end with a line break; sending adds CRLF \
             before the end mark)"
        );
    }
    Ok(())
}

/// The JSON document, the message last, streamed in base64.
fn dry_run_json(envelope: &Envelope, content: &Content) -> anyhow::Result<()> {
    let report = JsonReport {
        status: "dry-run",
        exit_code: 0,
        envelope,
        message_id: content.message_id(),
        size: content.len(),
        recipients: &[],
        reply: None,
        error: None,
        queued_as: None,
    };
    crate::base::output::print_json_with_base64(&report, "message", |out| content.write_to(out))
        .context("cannot write the message to stdout")?;
    Ok(())
}

/// How to send the saved message later to this same envelope, when `smtpsend -t < FILE`
/// would not: some recipients are in no header field (Bcc), or the envelope sender
/// (`--envelope-from`) is not the From.
fn resend_note(envelope: &Envelope, content: &Content) -> Option<String> {
    let header = RawMessage::parse(content.header_block());
    let mut named: Vec<String> = Vec::new();
    for field in header.recipient_fields().fields {
        let list = Mailbox::parse_list(&field.value()).ok()?;
        named.extend(list.into_iter().map(|mailbox| mailbox.address));
    }
    let has = |list: &[String], address: &String| {
        list.iter().any(|known| known.eq_ignore_ascii_case(address))
    };
    let from = header
        .values("from")
        .first()
        .and_then(|value| Mailbox::parse_list(value).ok())
        .and_then(|list| list.into_iter().next())
        .map(|mailbox| mailbox.address);
    let mut words = vec!["smtpsend".to_string()];
    let mut why = Vec::new();
    if from.is_none_or(|from| !from.eq_ignore_ascii_case(&envelope.from)) {
        let sender = if envelope.from.is_empty() {
            "<>"
        } else {
            &envelope.from
        };
        words.extend(["-f".to_string(), shell_word(sender)]);
        why.push("the envelope sender is not the From");
    }
    let only_envelope: Vec<&String> = envelope
        .recipients
        .iter()
        .filter(|address| !has(&named, address))
        .collect();
    if named
        .iter()
        .all(|address| has(&envelope.recipients, address))
    {
        words.push("-t".to_string());
        words.extend(only_envelope.iter().map(|address| shell_word(address)));
    } else {
        words.extend(
            envelope
                .recipients
                .iter()
                .map(|address| shell_word(address)),
        );
        why.push("the header names recipients the envelope does not have");
    }
    if !only_envelope.is_empty() {
        why.insert(0, "some recipients are in no header field, as with Bcc");
    }
    if why.is_empty() {
        return None;
    }
    Some(format!(
        "to send the saved message later to this envelope ({}): {} < FILE",
        why.join("; "),
        words.join(" ")
    ))
}

/// `word` as one shell word: as it is when it is plain, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._+-=%/,:".contains(c));
    match plain {
        true => word.to_string(),
        false => format!("'{}'", word.replace('\'', "'\\''")),
    }
}

/// What a dry run says about a message that is not ASCII: it goes as shown to a server
/// that offers SMTPUTF8, and what happens at one that does not.
fn smtputf8_note(envelope: &Envelope, content: &Content) -> String {
    let head = "the addresses or header fields are not ASCII: sent as shown (UTF-8, SMTPUTF8) \
                to a server that offers SMTPUTF8";
    match crate::smtp::utf8::adapt(false, envelope, content) {
        Ok((std::borrow::Cow::Borrowed(_), std::borrow::Cow::Borrowed(_))) => format!(
            "{head}; to one that does not, unchanged without SMTPUTF8 (no address has a \
             non-ASCII domain)"
        ),
        Ok((ascii, _)) => {
            let mut addresses = vec![format!("MAIL FROM:<{}>", ascii.from)];
            addresses.extend(ascii.recipients.iter().map(|to| format!("RCPT TO:<{to}>")));
            format!(
                "{head}; to one that does not, with domains as A-labels (in the address \
                 header fields too): {}",
                addresses.join(", ")
            )
        }
        Err(err) => format!(
            "{head}; a server without it refuses: {}",
            crate::base::exit::one_line(&err)
        ),
    }
}
