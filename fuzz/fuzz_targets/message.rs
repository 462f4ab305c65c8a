//! Fuzz target: complete messages as raw mode and `-t` read them from stdin: the header
//! parser, the header checks, the recipient fields and their address lists, and the edits
//! raw mode makes. Nothing may panic, no byte may be lost (but a leading mbox `From ` line),
//! and writing is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpsend::address::Mailbox;
use smtpsend::raw::{self, RawMessage};

/// The input without a leading mbox `From ` line, which the parser drops.
fn without_mbox_line(bytes: &[u8]) -> &[u8] {
    if !bytes.starts_with(b"From ") {
        return bytes;
    }
    bytes
        .iter()
        .position(|b| *b == b'\n')
        .map_or(&[], |end| &bytes[end + 1..])
}

/// Parsing what was written gives it back, unless it starts with another `From ` line
/// (which the parser takes for an mbox separator, as sendmail does).
fn assert_stable(written: &[u8]) {
    if !written.starts_with(b"From ") {
        assert_eq!(RawMessage::parse(written).to_bytes(), written);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut message = RawMessage::parse(data);
    let _ = message.header_problem();
    let chosen = message.recipient_fields();
    for field in &chosen.fields {
        if let Ok(list) = Mailbox::parse_list(&field.value()) {
            for mailbox in list {
                assert!(smtpsend::address::validate(&mailbox.address).is_ok());
            }
        }
    }
    for value in message.values("from") {
        let _ = Mailbox::parse_list(&value);
    }

    // No byte lost: line ends made CRLF (in the header only, when the body needs
    // BINARYMIME and is kept exactly), at most a blank line supplied after the header.
    let written = message.to_bytes();
    let input = without_mbox_line(data);
    let crlf = raw::to_crlf(input);
    if message.binary.is_none() {
        assert!(written.len() == crlf.len() || written.len() == crlf.len() + 2);
    } else {
        assert!(input.len() <= written.len() && written.len() <= crlf.len() + 2);
        let body = message.body.strip_prefix(b"\r\n").unwrap_or(&message.body);
        assert!(input.ends_with(body));
    }
    assert_stable(&written);

    raw::prepare(
        &mut message,
        b"From: <a@example.com>\r\n",
        "Mon, 23 Nov 2026 10:00:00 +0000",
        "id@example.com",
    );
    assert!(!message.has("bcc") && !message.has("resent-bcc"));
    assert!(message.has("from") && message.has("date") && message.has("message-id"));
    assert_stable(&message.to_bytes());
});
