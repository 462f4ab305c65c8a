//! Complete messages read from stdin: header parsing, the few edits raw mode makes.

/// The longest line RFC 5322 §2.1.1 allows, in octets, not counting the CRLF.
pub const MAX_LINE: usize = 998;

/// One header field as it was written, continuation lines included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name as written (compare case-insensitively).
    pub name: String,
    /// The whole field: `Name: value` with every continuation line, each ending in CRLF.
    pub raw: Vec<u8>,
}

impl Field {
    /// The value with folding undone and surrounding whitespace trimmed (lossy UTF-8).
    pub fn value(&self) -> String {
        let text = String::from_utf8_lossy(&self.raw);
        let value = text.split_once(':').map_or("", |(_, value)| value);
        value.replace("\r\n", "").trim().to_string()
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A message split into header fields and the body that follows the blank line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub fields: Vec<Field>,
    /// Everything after the header block, starting with the separating blank line when
    /// there was one.
    pub body: Vec<u8>,
    /// Why the body must go unchanged (BINARYMIME), when it must; it is then as given.
    pub binary: Option<String>,
}

impl RawMessage {
    /// Parses a message, turning bare LF (and bare CR) into CRLF; in a body that DATA could
    /// not carry unchanged anyway (see [`binary_reason`]), only in the header, so that the
    /// body can go exactly as given where the server takes BINARYMIME.
    pub fn parse(input: &[u8]) -> RawMessage {
        let input = without_mbox_separator(input);
        let mut fields: Vec<Field> = Vec::new();
        let mut position = 0;
        while position < input.len() {
            let (end, line) = header_line(input, position);
            let continues = matches!(line.first(), Some(b' ' | b'\t'));
            if continues && let Some(field) = fields.last_mut() {
                field.raw.extend_from_slice(&line);
            } else if let Some(name) = field_name(&line) {
                fields.push(Field { name, raw: line });
            } else {
                break;
            }
            position = end;
        }
        if position == input.len()
            && let Some(last) = fields.last_mut()
            && !last.raw.ends_with(b"\r\n")
        {
            last.raw.extend_from_slice(b"\r\n");
        }
        let rest = &input[position..];
        // The separating blank line is part of the header's syntax (made CRLF); what
        // follows it is the body proper.
        let (separator_end, separator) = header_line(rest, 0);
        let separated = !rest.is_empty() && separator == b"\r\n";
        let body_proper = if separated {
            &rest[separator_end..]
        } else {
            rest
        };
        let (body, binary) = match binary_reason(body_proper) {
            None => (to_crlf(rest), None),
            Some(why) => {
                let mut body = if separated { separator } else { Vec::new() };
                body.extend_from_slice(body_proper);
                (body, Some(why))
            }
        };
        RawMessage {
            fields,
            body,
            binary,
        }
    }

    /// Why the header cannot go out as it is, if it cannot: a line longer than
    /// [`MAX_LINE`] octets (servers may cut it or refuse the message; folding it is the
    /// sender's choice), or a NUL byte (RFC 5322 allows none in a header).
    pub fn header_problem(&self) -> Option<String> {
        let mut number = 0;
        for field in &self.fields {
            for line in field.raw.split_inclusive(|byte| *byte == b'\n') {
                number += 1;
                let text = line.strip_suffix(b"\r\n").unwrap_or(line);
                if text.len() > MAX_LINE {
                    return Some(format!(
                        "line {number} of the message header ({} field) is {} octets long; \
                         RFC 5322 allows at most {MAX_LINE}: fold it onto continuation lines",
                        field.name,
                        text.len()
                    ));
                }
                if text.contains(&0) {
                    return Some(format!(
                        "line {number} of the message header ({} field) contains a NUL byte",
                        field.name
                    ));
                }
            }
        }
        None
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|field| field.is(name))
    }

    /// The values of every field with this name, in order.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|field| field.is(name))
            .map(Field::value)
            .collect()
    }

    /// The fields that name recipients for `-t`: Resent-To, Resent-Cc and Resent-Bcc of the
    /// most recent Resent-* block (the topmost run of Resent-* fields, RFC 5322 §3.6.6) when
    /// the message has one; otherwise To, Cc and Bcc.
    pub fn recipient_fields(&self) -> RecipientFields<'_> {
        let is_resent = |field: &&Field| field.name.to_ascii_lowercase().starts_with("resent-");
        match self.fields.iter().position(|field| is_resent(&field)) {
            Some(start) => RecipientFields {
                resent: true,
                fields: self.fields[start..]
                    .iter()
                    .take_while(is_resent)
                    .filter(|field| {
                        field.is("resent-to") || field.is("resent-cc") || field.is("resent-bcc")
                    })
                    .collect(),
            },
            None => RecipientFields {
                resent: false,
                fields: self
                    .fields
                    .iter()
                    .filter(|field| field.is("to") || field.is("cc") || field.is("bcc"))
                    .collect(),
            },
        }
    }

    /// The Resent-From (or, without one, Resent-Sender) of the most recent Resent-* block:
    /// whoever resends the message.
    pub fn resent_from(&self) -> Option<String> {
        let is_resent = |field: &&Field| field.name.to_ascii_lowercase().starts_with("resent-");
        let start = self.fields.iter().position(|field| is_resent(&field))?;
        let block: Vec<&Field> = self.fields[start..].iter().take_while(is_resent).collect();
        ["resent-from", "resent-sender"]
            .iter()
            .find_map(|name| block.iter().find(|field| field.is(name)))
            .map(|field| field.value())
    }

    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|field| !field.is(name));
    }

    /// Appends a field at the end of the header block; `value` must be a single line.
    pub fn append(&mut self, name: &str, value: &str) {
        self.append_raw(name, format!("{name}: {value}\r\n").into_bytes());
    }

    /// Appends a field already serialised (ending in CRLF).
    pub fn append_raw(&mut self, name: &str, raw: Vec<u8>) {
        self.fields.push(Field {
            name: name.to_string(),
            raw,
        });
    }

    /// The message as bytes: fields, then the body (a blank line is supplied when the
    /// original had none and there is a body to separate).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 1024);
        for field in &self.fields {
            out.extend_from_slice(&field.raw);
        }
        if !self.body.is_empty() && !self.body.starts_with(b"\r\n") && !self.fields.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&self.body);
        out
    }
}

/// The header fields `-t` takes recipients from.
#[derive(Debug)]
pub struct RecipientFields<'a> {
    /// True when they come from a Resent-* block.
    pub resent: bool,
    pub fields: Vec<&'a Field>,
}

/// The message without a leading mbox `From ` line (`From alice@example.com Mon Nov 23 …`),
/// which a message saved from a mailbox starts with and which is no header field:
/// sendmail and Postfix drop it too.
fn without_mbox_separator(input: &[u8]) -> &[u8] {
    if !input.starts_with(b"From ") {
        return input;
    }
    match input.iter().position(|&b| b == b'\n') {
        Some(end) => &input[end + 1..],
        None => &[],
    }
}

/// Turns bare LF and bare CR into CRLF, leaving CRLF alone.
pub fn to_crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    let mut index = 0;
    while index < input.len() {
        match input[index] {
            b'\r' if input.get(index + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                index += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            byte => out.push(byte),
        }
        index += 1;
    }
    out
}

/// The line at `start`, ended by CRLF, LF or a bare CR, with CRLF as its end (none at the
/// end of input), and where the next line starts.
fn header_line(input: &[u8], start: usize) -> (usize, Vec<u8>) {
    let Some(at) = input[start..]
        .iter()
        .position(|b| matches!(b, b'\r' | b'\n'))
    else {
        return (input.len(), input[start..].to_vec());
    };
    let at = start + at;
    let end = if input[at..].starts_with(b"\r\n") {
        at + 2
    } else {
        at + 1
    };
    let mut line = input[start..at].to_vec();
    line.extend_from_slice(b"\r\n");
    (end, line)
}

/// Why a message body cannot go through DATA unchanged (RFC 3030 §3: BINARYMIME), if it
/// cannot: a NUL byte, a bare CR, or a line longer than [`MAX_LINE`] octets. Bare LF line
/// ends alone are ordinary text from a Unix file and are made CRLF.
pub fn binary_reason(body: &[u8]) -> Option<String> {
    if body.contains(&0) {
        return Some("the body has a NUL byte".to_string());
    }
    let bare_cr = body
        .iter()
        .enumerate()
        .any(|(at, b)| *b == b'\r' && body.get(at + 1) != Some(&b'\n'));
    if bare_cr {
        return Some("the body has a bare CR".to_string());
    }
    let longest = body
        .split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line).len())
        .max()
        .unwrap_or(0);
    (longest > MAX_LINE).then(|| {
        format!("the body has a line of {longest} octets (RFC 5322 allows at most {MAX_LINE})")
    })
}

/// The field name when the line is `name: …` with a valid RFC 5322 field name.
fn field_name(line: &[u8]) -> Option<String> {
    let colon = line.iter().position(|b| *b == b':')?;
    let name = &line[..colon];
    let name = name.strip_suffix(b" ").unwrap_or(name);
    let valid = !name.is_empty() && name.iter().all(|b| (33..=126).contains(b) && *b != b':');
    valid.then(|| String::from_utf8_lossy(name).into_owned())
}

/// When a complete message's From field is the sender's (`set-from-header`, msmtp's
/// `set_from_header`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FromHeader {
    /// Added when the message has none.
    #[default]
    Auto,
    /// Always the sender's: a From the message has is replaced.
    Always,
    /// Never added nor changed.
    Never,
}

impl FromHeader {
    /// `auto`, `always` or `never`.
    pub fn parse(name: &str) -> Option<FromHeader> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Some(FromHeader::Auto),
            "always" => Some(FromHeader::Always),
            "never" => Some(FromHeader::Never),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FromHeader::Auto => "auto",
            FromHeader::Always => "always",
            FromHeader::Never => "never",
        }
    }
}

/// Raw mode: the edits made to a complete message before it is sent. Adds From (as
/// `from_header` says), Date and Message-ID when missing and removes Bcc and Resent-Bcc;
/// changes nothing else.
pub fn prepare(
    message: &mut RawMessage,
    (from, from_header): (&[u8], FromHeader),
    date: &str,
    message_id: &str,
) {
    match from_header {
        FromHeader::Auto if !message.has("from") => message.append_raw("From", from.to_vec()),
        FromHeader::Always => match message.fields.iter().position(|field| field.is("from")) {
            Some(first) => {
                message.fields[first].raw = from.to_vec();
                let mut index = 0;
                message.fields.retain(|field| {
                    index += 1;
                    index - 1 == first || !field.is("from")
                });
            }
            None => message.append_raw("From", from.to_vec()),
        },
        _ => {}
    }
    if !message.has("date") {
        message.append("Date", date);
    }
    if !message.has("message-id") {
        message.append("Message-ID", &format!("<{message_id}>"));
    }
    message.remove("bcc");
    message.remove("resent-bcc");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fields_and_body() {
        let message = RawMessage::parse(b"Subject: a\n long\nBcc: x@y.z\nTo: t@y.z\n\nbody\n");
        assert_eq!(message.fields.len(), 3);
        assert_eq!(message.values("subject"), ["a long"]);
        assert_eq!(message.body, b"\r\nbody\r\n");
    }

    #[test]
    fn removing_bcc_keeps_everything_else() {
        let mut message = RawMessage::parse(b"To: t@y.z\r\nBcc: x@y.z,\r\n w@y.z\r\n\r\nhi\r\n");
        message.remove("bcc");
        assert_eq!(message.to_bytes(), b"To: t@y.z\r\n\r\nhi\r\n");
    }

    #[test]
    fn recipients_come_from_the_most_recent_resent_block() {
        let message = RawMessage::parse(
            b"Resent-From: r2@x.org\nResent-To: new@x.org\nResent-Bcc: hidden@x.org\n\
              Received: by relay\nResent-To: older@x.org\nTo: orig@x.org\nCc: cc@x.org\n\nbody\n",
        );
        let chosen = message.recipient_fields();
        assert!(chosen.resent);
        let values: Vec<String> = chosen.fields.iter().map(|f| f.value()).collect();
        assert_eq!(values, ["new@x.org", "hidden@x.org"]);

        let plain =
            RawMessage::parse(b"To: a@x.org\nSubject: s\nCc: b@x.org\nBcc: c@x.org\n\nhi\n");
        let chosen = plain.recipient_fields();
        assert!(!chosen.resent);
        let values: Vec<String> = chosen.fields.iter().map(|f| f.value()).collect();
        assert_eq!(values, ["a@x.org", "b@x.org", "c@x.org"]);
    }

    #[test]
    fn long_lines_and_nul_bytes_in_the_header_are_named() {
        let fine = format!(
            "Subject: {}\n {}\n\n{}\n",
            "a".repeat(989),
            "b".repeat(997),
            "c".repeat(5000)
        );
        assert_eq!(RawMessage::parse(fine.as_bytes()).header_problem(), None);
        let long = format!("To: t@y.z\nSubject: {}\n\nhi\n", "a".repeat(990));
        let problem = RawMessage::parse(long.as_bytes()).header_problem().unwrap();
        assert!(
            problem.starts_with("line 2 of the message header (Subject field) is 999 octets"),
            "{problem}"
        );
        let nul = RawMessage::parse(b"To: t@y.z\nX-A: 1\n  2\0\n\nhi\n");
        let problem = nul.header_problem().unwrap();
        assert!(
            problem.starts_with("line 3 of the message header (X-A field) contains a NUL"),
            "{problem}"
        );
    }

    #[test]
    fn a_leading_mbox_from_line_is_dropped() {
        let message = RawMessage::parse(
            b"From alice@example.com Mon Nov 23 10:00:00 2026\nFrom: alice@example.com\nTo: b@example.com\n\nbody\n",
        );
        let names: Vec<&str> = message.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["From", "To"]);
        assert_eq!(message.body, b"\r\nbody\r\n");
        // "From:" is a header field, not the separator.
        assert_eq!(
            RawMessage::parse(b"From: a@example.com\n\nx\n")
                .fields
                .len(),
            1
        );
    }

    #[test]
    fn text_without_headers_is_all_body() {
        let message = RawMessage::parse(b"just text\n");
        assert!(message.fields.is_empty());
        assert_eq!(message.to_bytes(), b"just text\r\n");
    }

    #[test]
    fn a_binary_body_is_kept_as_given_and_the_header_made_crlf() {
        let message = RawMessage::parse(b"To: t@y.z\nSubject: s\n\n\x00a\rb\nc\n");
        assert_eq!(message.binary.as_deref(), Some("the body has a NUL byte"));
        assert_eq!(
            message.to_bytes(),
            b"To: t@y.z\r\nSubject: s\r\n\r\n\x00a\rb\nc\n"
        );
        let mut long = b"To: t@y.z\n\n".to_vec();
        long.extend_from_slice(&[b'x'; 999]);
        let message = RawMessage::parse(&long);
        assert!(message.binary.unwrap().contains("a line of 999 octets"));
        let message = RawMessage::parse(b"To: t@y.z\n\nbare\rcr\n");
        assert_eq!(message.binary.as_deref(), Some("the body has a bare CR"));
    }

    #[test]
    fn a_text_body_with_lf_line_ends_is_not_binary() {
        let message = RawMessage::parse(b"To: t@y.z\n\nline\n");
        assert_eq!(message.binary, None);
        assert_eq!(message.to_bytes(), b"To: t@y.z\r\n\r\nline\r\n");
    }
}
