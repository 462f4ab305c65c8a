//! Escaping for display: server text and file names may hold control characters, and none
//! may reach a terminal as such.

/// Quotes bytes the way Python's repr quotes a string: `'…'` with CR, LF, tab, quote,
/// backslash and other control characters escaped; invalid UTF-8 bytes as `\xNN`.
pub fn repr(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('\'');
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('\'');
    out
}

/// Text with its control characters (C0 but tab, DEL, C1) written as `\xNN` or `\u{NNNN}`,
/// so that it is one line and cannot drive a terminal.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let is_control = |c: char| c != '\t' && c.is_control();
    if !text.contains(is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_control(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_python() {
        assert_eq!(repr(b"250 OK\r\n"), r"'250 OK\r\n'");
        assert_eq!(repr(b"it's \\ \x01"), r"'it\'s \\ \x01'");
        assert_eq!(repr("Grüße\r\n".as_bytes()), r"'Grüße\r\n'");
        assert_eq!(repr(b"\xff\xfe"), r"'\xff\xfe'");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape_controls("550 \u{1b}[31mno\u{1b}[0m"),
            "550 \\x1b[31mno\\x1b[0m"
        );
        assert_eq!(
            escape_controls("a\u{9b}b\u{7f}\r\n"),
            "a\\u{009b}b\\x7f\\x0d\\x0a"
        );
        assert_eq!(escape_controls("tab\tand ü stay"), "tab\tand ü stay");
    }
}
