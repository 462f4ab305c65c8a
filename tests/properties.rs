//! Property tests (proptest) for the parsers that read what others wrote: server reply
//! lines, EHLO capabilities, and complete messages (raw mode and -t), with their address
//! lists. None may panic on any input, and each reads back what a well-formed writer wrote.
//! The same parsers have cargo-fuzz targets in fuzz/ (see docs/fuzzing.md).
//!
//! And for what smtpsend writes: whatever the body bytes and the way they come (composed
//! from --body-file or stdin, raw, raw binary with or without BINARYMIME), the data on the
//! wire is one message that reads back as the input, and has exactly one end of data for a
//! strict server and for a lenient one alike.

use std::io::Write;

use mail_parser::{MessageParser, MimeHeaders};
use proptest::prelude::*;
use proptest::sample::subsequence;

use crate::support::{Run, end_marks, lf_to_crlf};

use smtpsend::message::address::Mailbox;
use smtpsend::message::raw::{RawMessage, to_crlf};
use smtpsend::message::transfer::encode_text;
use smtpsend::message::{Content, FilePart};
use smtpsend::smtp::data::WireEncoder;
use smtpsend::smtp::reply::{Capabilities, Reply, ReplyLine};

/// Where the failing cases proptest found are kept and replayed first: next to this file,
/// tests/properties.proptest-regressions. Said outright, because proptest's default looks
/// for a `main.rs` above the source file, finds tests/main.rs (the test binary's root) and
/// would use proptest-regressions/properties.txt instead.
fn persisted(config: ProptestConfig) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..config
    }
}

/// Cases per property: PROPTEST_CASES when set (docs/fuzzing.md), else enough for every
/// `cargo test`.
fn config() -> ProptestConfig {
    persisted(match std::env::var_os("PROPTEST_CASES") {
        Some(_) => ProptestConfig::default(),
        None => ProptestConfig::with_cases(1000),
    })
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
                prop_assert!(smtpsend::message::address::validate(&mailbox.address).is_ok());
            }
        }
        let _ = Mailbox::parse(&text);
    }
}

// --- what goes on the wire ---

/// Cases per property that builds and encodes a whole message.
fn wire_config() -> ProptestConfig {
    persisted(match std::env::var_os("PROPTEST_CASES") {
        Some(_) => ProptestConfig::default(),
        None => ProptestConfig::with_cases(300),
    })
}

/// Cases per property that runs smtpsend and a server for each case.
fn end_to_end() -> ProptestConfig {
    persisted(ProptestConfig::with_cases(6))
}

/// Text rich in what breaks framing: line ends of every kind, dots, NUL and other control
/// characters, non-ASCII, and now and then a line too long for SMTP.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-z ]{1,12}",
        3 => Just("\r\n".to_string()),
        3 => Just("\n".to_string()),
        3 => Just("\r".to_string()),
        3 => Just(".".to_string()),
        1 => Just("\0".to_string()),
        1 => Just("\t\u{1b}=".to_string()),
        1 => Just("Grüße 世界".to_string()),
        1 => Just("y".repeat(1200)),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        5 => b'a'..=b'z',
        3 => Just(b'\n'),
        3 => Just(b'\r'),
        3 => Just(b'.'),
        1 => Just(b'\0'),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..400)
}

/// The DATA stream for `content`, as the session writes it.
fn data_stream(content: &Content) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut encoder = WireEncoder::data(&mut wire, None);
    content
        .write_to(&mut encoder)
        .expect("content without NUL goes through DATA");
    encoder.finish().unwrap();
    drop(encoder);
    wire
}

fn bytes_of(content: &Content) -> Vec<u8> {
    let mut out = Vec::new();
    content.write_to(&mut out).unwrap();
    out
}

/// The message as a server stores it from `content`: with the CRLF the end mark adds when
/// it does not end with one.
fn stored(content: &Content) -> Vec<u8> {
    let mut message = bytes_of(content);
    if !message.ends_with(b"\r\n") {
        message.extend_from_slice(b"\r\n");
    }
    message
}

/// The decoded text part of `message` is `input`, but that line ends may have become CRLF
/// and a message always ends with a line break.
fn check_text_part(message: &[u8], input: &[u8]) -> Result<(), TestCaseError> {
    let parsed = MessageParser::default()
        .parse(message)
        .expect("a MIME message");
    let part = parsed
        .parts
        .iter()
        .find(|part| part.content_type().is_some_and(|t| t.ctype() == "text"))
        .expect("a text part");
    let encoding = part.content_transfer_encoding().unwrap_or("7bit");
    prop_assert!(
        ["7bit", "quoted-printable", "base64"].contains(&encoding),
        "{}",
        encoding
    );
    let mut decoded = part.contents();
    if !input.ends_with(b"\n") && decoded.ends_with(b"\r\n") {
        decoded = &decoded[..decoded.len() - 2];
    }
    prop_assert!(
        decoded == input || decoded == lf_to_crlf(input).as_slice(),
        "decoded {:?} from {:?}",
        String::from_utf8_lossy(decoded),
        String::from_utf8_lossy(input)
    );
    Ok(())
}

/// A composed message with `text` as its body, in memory or streamed from a file.
fn composed(text: &[u8], from_file: bool) -> (Content, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut content = Content::default();
    let head = |encoding: &str| {
        format!(
            "From: <a@example.com>\r\nSubject: p\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=\"utf-8\"\r\n\
             Content-Transfer-Encoding: {encoding}\r\n\r\n"
        )
    };
    if from_file {
        let path = dir.path().join("body.txt");
        std::fs::write(&path, text).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let part = FilePart::text(&mut file, &path, "body file")
            .unwrap()
            .unwrap();
        content.push_bytes(head(part.encoding().name()).as_bytes());
        content.push_file(part);
    } else {
        let (measured, body) = encode_text(text);
        content.push_bytes(head(measured.encoding.name()).as_bytes());
        content.push_bytes(&body);
    }
    (content, dir)
}

/// `Subject: p`, a blank line, and `body`, as raw mode prepares it.
fn raw_content(body: &[u8]) -> Content {
    let mut input = b"Subject: p\n\n".to_vec();
    input.extend_from_slice(body);
    let message = RawMessage::parse(&input);
    match message.binary.clone() {
        Some(why) => Content::binary_from_bytes(message.to_bytes(), why),
        None => Content::from_bytes(message.to_bytes()),
    }
}

/// The BDAT chunk for `content`, as the session writes it; `None` when the wire refuses it.
fn chunk_stream(content: &Content) -> Option<Vec<u8>> {
    let binary = content.binary().is_some();
    let pad = !binary && !content.ends_with_crlf();
    let size = content.len() + if pad { 2 } else { 0 };
    let mut wire = Vec::new();
    let mut encoder = WireEncoder::chunk(&mut wire, size, binary, None);
    content.write_to(&mut encoder).ok()?;
    encoder.finish_chunk(pad).ok()?;
    drop(encoder);
    Some(wire)
}

proptest! {
    #![proptest_config(wire_config())]

    #[test]
    fn a_composed_text_reads_back_through_one_end_of_data(
        text in hostile_text(),
        from_file in any::<bool>(),
    ) {
        let (content, _dir) = composed(text.as_bytes(), from_file);
        prop_assert_eq!(content.binary(), None);
        let wire = data_stream(&content);
        prop_assert_eq!(end_marks(&wire), (1, 1));
        prop_assert!(wire.ends_with(b"\r\n.\r\n"));
        let message = crate::support::unstuff(&wire);
        prop_assert_eq!(&message, &stored(&content));
        prop_assert!(message.is_ascii() && !message.contains(&0));
        check_text_part(&message, text.as_bytes())?;
        // BDAT carries the same bytes, as counted.
        prop_assert_eq!(chunk_stream(&content), Some(message));
    }

    #[test]
    fn a_raw_message_reads_back_through_one_end_of_data(body in hostile_bytes()) {
        let content = raw_content(&body);
        // To a server without BINARYMIME (DATA, or BDAT without it): as text, unless a NUL
        // forbids it.
        match content.without_binary() {
            _ if content.binary().is_none() => {
                let wire = data_stream(&content);
                prop_assert_eq!(end_marks(&wire), (1, 1));
                prop_assert_eq!(crate::support::unstuff(&wire), stored(&content));
                prop_assert_eq!(chunk_stream(&content), Some(stored(&content)));
            }
            Some(text) => {
                prop_assert!(!body.contains(&0));
                let wire = data_stream(&text);
                prop_assert_eq!(end_marks(&wire), (1, 1));
                let expected = to_crlf(&bytes_of(&content));
                prop_assert_eq!(crate::support::unstuff(&wire), stored(&Content::from_bytes(expected)));
                prop_assert_eq!(chunk_stream(&text), Some(stored(&text)));
            }
            None => prop_assert!(body.contains(&0)),
        }
        // With BINARYMIME a binary body goes exactly as given.
        if content.binary().is_some() {
            let chunk = chunk_stream(&content).expect("a binary body goes as BINARYMIME");
            prop_assert!(chunk.ends_with(&body));
        }
    }

    #[test]
    fn whatever_reaches_the_encoder_leaves_it_with_one_end_of_data(
        pieces in prop::collection::vec(hostile_bytes(), 0..4),
    ) {
        let mut wire = Vec::new();
        let mut encoder = WireEncoder::data(&mut wire, None);
        let written = pieces.iter().try_for_each(|piece| encoder.write_all(piece));
        let all = pieces.concat();
        if all.contains(&0) {
            prop_assert!(written.is_err());
            drop(encoder);
            prop_assert!(!wire.contains(&0));
            return Ok(());
        }
        prop_assert!(written.is_ok());
        encoder.finish().unwrap();
        drop(encoder);
        prop_assert_eq!(end_marks(&wire), (1, 1));
        let mut expected = to_crlf(&all);
        if !(expected.ends_with(b"\r\n")) {
            expected.extend_from_slice(b"\r\n");
        }
        prop_assert_eq!(crate::support::unstuff(&wire), expected);
    }
}

fn server_with(capabilities: &[&str]) -> crate::support::Server {
    let mut builder = crate::support::Server::builder();
    for capability in capabilities {
        builder = builder.capability(capability);
    }
    builder.start()
}

proptest! {
    #![proptest_config(end_to_end())]

    #[test]
    fn a_composed_body_arrives_as_one_message(
        text in hostile_text(),
        from_file in any::<bool>(),
        chunking in any::<bool>(),
    ) {
        let server = server_with(if chunking { &["CHUNKING"] } else { &[] });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.txt");
        std::fs::write(&path, &text).unwrap();
        let run = Run::new(["--to", "b@example.com"]).server(&server);
        let run = match from_file {
            true => run.arg("--body-file").arg(&path),
            false => run.stdin(text.as_bytes()),
        };
        let out = run.output();
        prop_assert_eq!(out.code, 0, "{}", out.stderr);
        let record = server.finish();
        prop_assert_eq!(record.transactions().len(), 1);
        let sent = record.only_completed();
        if !chunking {
            prop_assert_eq!(end_marks(&sent.data_wire), (1, 1));
        }
        check_text_part(&sent.message, text.as_bytes())?;
    }

    #[test]
    fn a_raw_message_arrives_as_one_message_or_not_at_all(
        body in hostile_bytes(),
        capabilities in subsequence(vec!["CHUNKING", "BINARYMIME"], 0..=2),
    ) {
        let server = server_with(&capabilities);
        let mut input = b"Subject: p\n\n".to_vec();
        input.extend_from_slice(&body);
        let out = Run::new(["--raw", "b@example.com"]).server(&server).stdin(&input).output();
        let record = server.finish();
        let binarymime = capabilities.len() == 2;
        if body.contains(&0) && !binarymime {
            prop_assert_eq!(out.code, 69, "{}", out.stderr);
            prop_assert!(record.transactions().is_empty());
            return Ok(());
        }
        prop_assert_eq!(out.code, 0, "{}", out.stderr);
        let sent = record.only_completed();
        if !capabilities.contains(&"CHUNKING") {
            prop_assert_eq!(end_marks(&sent.data_wire), (1, 1));
        }
        let content = raw_content(&body);
        let expected = match content.binary() {
            Some(_) if binarymime => bytes_of(&content),
            Some(_) => stored(&content.without_binary().unwrap()),
            None => stored(&content),
        };
        // The stored message ends with what raw mode made of the input; smtpsend added
        // From, Date and Message-ID to the header.
        let body_start = expected.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        prop_assert!(sent.message.ends_with(&expected[body_start..]));
    }
}
