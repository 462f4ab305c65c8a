//! Fuzz target: complete messages as raw mode and `-t` read them from stdin: the header
//! parser, the header checks, the recipient fields and their address lists, and the edits
//! raw mode makes. Nothing may panic, no byte may be lost, and writing is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpsend::address::Mailbox;
use smtpsend::raw::{self, RawMessage};

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

    let written = message.to_bytes();
    let crlf = raw::to_crlf(data);
    if message.binary.is_none() {
        assert!(written.len() == crlf.len() || written.len() == crlf.len() + 2);
    } else {
        // A body that needs BINARYMIME keeps its bytes and line ends exactly.
        assert!(data.len() <= written.len() && written.len() <= crlf.len() + 2);
    }
    assert_eq!(RawMessage::parse(&written).to_bytes(), written);

    raw::prepare(
        &mut message,
        b"From: <a@example.com>\r\n",
        "Mon, 23 Nov 2026 10:00:00 +0000",
        "id@example.com",
    );
    assert!(!message.has("bcc") && !message.has("resent-bcc"));
    assert!(message.has("from") && message.has("date") && message.has("message-id"));
    let prepared = message.to_bytes();
    assert_eq!(RawMessage::parse(&prepared).to_bytes(), prepared);
});
