//! Property tests (proptest) for the parsers that read what others wrote: server reply
//! lines, EHLO capabilities, and complete messages (raw mode and -t), with their address
//! lists. None may panic on any input, and each reads back what a well-formed writer wrote.
//! The same parsers have cargo-fuzz targets in fuzz/ (see docs/fuzzing.md).

use proptest::prelude::*;
use proptest::sample::subsequence;

use smtpsend::address::Mailbox;
use smtpsend::raw::{RawMessage, to_crlf};
use smtpsend::smtp::reply::{Capabilities, Reply, ReplyLine};

/// Cases per property: PROPTEST_CASES when set (docs/fuzzing.md), else enough for every
/// `cargo test`.
fn config() -> ProptestConfig {
    match std::env::var_os("PROPTEST_CASES") {
        Some(_) => ProptestConfig::default(),
        None => ProptestConfig::with_cases(1000),
    }
}

/// A message saved from a mailbox starts with this line, which is no header field.
const MBOX_LINE: &[u8] = b"From alice@example.com Mon Nov 23 10:00:00 2026\n";

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

/// Bytes that look enough like a message (sometimes saved from a mailbox) to reach every
/// branch of the parser.
fn message_bytes() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), message_text()).prop_map(|(mbox, text)| match mbox {
        true => [MBOX_LINE, &text].concat(),
        false => text,
    })
}

fn message_text() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => b'a'..=b'z',
        2 => Just(b':'),
        2 => Just(b'\n'),
        1 => Just(b'\r'),
        2 => Just(b' '),
        1 => Just(b'\t'),
        1 => Just(b'\0'),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..600)
}

/// Text that looks enough like a reply line (digits, separators, anything).
fn reply_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{0,4}[ -]?[ -~]{0,30}",
        "[1-6][0-9]{2}[ -]?\\PC{0,30}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_reply_line_parses_or_is_refused_without_panicking(line in reply_text()) {
        if let Some(parsed) = ReplyLine::parse(&line) {
            prop_assert!((200..=599).contains(&parsed.code));
            let rebuilt = match (parsed.last, parsed.text.is_empty() && line.len() == 3) {
                (true, true) => format!("{}", parsed.code),
                (true, false) => format!("{} {}", parsed.code, parsed.text),
                (false, _) => format!("{}-{}", parsed.code, parsed.text),
            };
            prop_assert_eq!(rebuilt, line);
        }
    }

    #[test]
    fn reply_lines_as_a_server_writes_them_read_back(
        code in 200u16..600,
        lines in prop::collection::vec("[^\r\n]{0,60}", 1..8),
    ) {
        for (index, text) in lines.iter().enumerate() {
            let last = index + 1 == lines.len();
            let wire = format!("{code}{}{text}", if last { ' ' } else { '-' });
            let parsed = ReplyLine::parse(&wire).expect("a well-formed reply line");
            prop_assert_eq!(parsed.code, code);
            prop_assert_eq!(parsed.last, last);
            prop_assert_eq!(parsed.text, text.as_str());
        }
    }

    #[test]
    fn any_reply_can_be_shown(code in 0u16..1000, lines in prop::collection::vec(reply_text(), 0..6)) {
        let reply = Reply { code, lines };
        let shown = reply.to_string();
        prop_assert!(shown.starts_with(&code.to_string()));
        let _ = reply.text();
        let _ = reply.enhanced_meaning();
        if let Some(enhanced) = reply.enhanced_code() {
            prop_assert!(reply.lines[0].starts_with(&enhanced));
        }
    }

    #[test]
    fn any_ehlo_reply_gives_capabilities_without_panicking(
        code in 200u16..300,
        lines in prop::collection::vec(reply_text(), 0..12),
    ) {
        let caps = Capabilities::from_ehlo(&Reply { code, lines: lines.clone() });
        let _ = caps.size_limit();
        prop_assert_eq!(caps.lines.len(), lines.len().saturating_sub(1));
    }

    #[test]
    fn ehlo_capabilities_read_back_what_was_offered(
        size in 1u64..(1 << 40),
        offered in subsequence(vec!["PIPELINING", "8BITMIME", "CHUNKING", "SMTPUTF8", "DSN", "STARTTLS"], 0..=6),
        mechanisms in subsequence(vec!["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"], 0..=4),
        lowercase in any::<bool>(),
    ) {
        let mut lines = vec!["mx.example.com greets you".to_string(), format!("SIZE {size}")];
        lines.extend(offered.iter().map(|k| k.to_string()));
        if !mechanisms.is_empty() {
            lines.push(format!("AUTH {}", mechanisms.join(" ")));
        }
        if lowercase {
            lines = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
        }
        let caps = Capabilities::from_ehlo(&Reply { code: 250, lines });
        prop_assert_eq!(caps.size_limit(), Some(size));
        for (keyword, flag) in [
            ("PIPELINING", smtp_proto::EXT_PIPELINING),
            ("8BITMIME", smtp_proto::EXT_8BIT_MIME),
            ("CHUNKING", smtp_proto::EXT_CHUNKING),
            ("SMTPUTF8", smtp_proto::EXT_SMTP_UTF8),
            ("DSN", smtp_proto::EXT_DSN),
            ("STARTTLS", smtp_proto::EXT_START_TLS),
        ] {
            prop_assert_eq!(caps.has(flag), offered.contains(&keyword), "{}", keyword);
        }
        for (name, flag) in [
            ("PLAIN", smtp_proto::AUTH_PLAIN),
            ("LOGIN", smtp_proto::AUTH_LOGIN),
            ("CRAM-MD5", smtp_proto::AUTH_CRAM_MD5),
            ("XOAUTH2", smtp_proto::AUTH_XOAUTH2),
        ] {
            prop_assert_eq!(caps.ehlo.auth_mechanisms & flag != 0, mechanisms.contains(&name), "{}", name);
        }
    }

    #[test]
    fn any_input_parses_as_a_message_without_panicking(bytes in message_bytes()) {
        let message = RawMessage::parse(&bytes);
        let _ = message.header_problem();
        let chosen = message.recipient_fields();
        for field in chosen.fields.iter().chain(&message.fields.iter().collect::<Vec<_>>()) {
            let _ = Mailbox::parse_list(&field.value());
        }
        let written = message.to_bytes();
        // Nothing is lost: every byte of the input (line ends made CRLF) is still there,
        // at most with a blank line supplied between the header and the body. A body that
        // needs BINARYMIME keeps its bytes and line ends exactly. Only a leading mbox
        // `From ` line is dropped.
        let input = without_mbox_line(&bytes);
        let normalised = to_crlf(input);
        if message.binary.is_none() {
            prop_assert!(written.len() == normalised.len() || written.len() == normalised.len() + 2);
        } else {
            prop_assert!(input.len() <= written.len() && written.len() <= normalised.len() + 2);
            let body = message.body.strip_prefix(b"\r\n").unwrap_or(&message.body);
            prop_assert!(input.ends_with(body));
        }
        if bytes.starts_with(MBOX_LINE) {
            prop_assert!(!message.fields.iter().any(|field| field.raw.starts_with(b"From ")));
        }
    }

    #[test]
    fn writing_a_parsed_message_is_stable(bytes in message_bytes()) {
        let once = RawMessage::parse(&bytes).to_bytes();
        let twice = RawMessage::parse(&once).to_bytes();
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn a_well_formed_message_reads_back_exactly(
        fields in prop::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,20}", "[ -~]{0,60}", prop::option::of("[ -~]{1,40}")), 0..10),
        body in "(\\PC{0,40}\r\n){0,5}",
    ) {
        let mut text = String::new();
        for (name, value, continuation) in &fields {
            text.push_str(&format!("{name}: {value}\r\n"));
            if let Some(more) = continuation {
                text.push_str(&format!("\t{more}\r\n"));
            }
        }
        text.push_str("\r\n");
        text.push_str(&body);
        let message = RawMessage::parse(text.as_bytes());
        prop_assert_eq!(message.fields.len(), fields.len());
        for (field, (name, value, continuation)) in message.fields.iter().zip(&fields) {
            prop_assert_eq!(&field.name, name);
            let expected = match continuation {
                Some(more) => format!("{value}\t{more}"),
                None => value.clone(),
            };
            prop_assert_eq!(field.value(), expected.trim());
        }
        prop_assert_eq!(message.header_problem(), None);
        prop_assert_eq!(message.to_bytes(), text.as_bytes());
    }

    #[test]
    fn line_ends_become_crlf_and_nothing_else_changes(bytes in message_bytes()) {
        let out = to_crlf(&bytes);
        for (index, byte) in out.iter().enumerate() {
            match byte {
                b'\r' => prop_assert_eq!(out.get(index + 1), Some(&b'\n')),
                b'\n' => prop_assert!(index > 0 && out[index - 1] == b'\r'),
                _ => {}
            }
        }
        let strip = |b: &[u8]| b.iter().copied().filter(|c| *c != b'\r' && *c != b'\n').collect::<Vec<_>>();
        prop_assert_eq!(strip(&out), strip(&bytes));
    }

    #[test]
    fn address_lists_are_parsed_or_refused_without_panicking(text in "\\PC{0,80}|[a-z@<>,;:\"().\\[\\] ]{0,80}") {
        if let Ok(list) = Mailbox::parse_list(&text) {
            for mailbox in list {
                prop_assert!(smtpsend::address::validate(&mailbox.address).is_ok());
            }
        }
        let _ = Mailbox::parse(&text);
    }
}
