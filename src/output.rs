//! Writing to stdout and stderr without panicking when the reader has gone (`| head`,
//! `2>&1 | head -c1`): the exit code must tell what happened to the mail, not to the output.

use std::io::Write;

/// Writes bytes to stdout; a closed pipe is ignored (the reader chose to stop).
pub fn print_stdout(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}

/// Writes one line to stderr; a closed pipe is ignored. Use through [`say!`](crate::say).
/// Control characters are escaped (see [`escape_controls`]): error lines quote server
/// replies and file names, and an ESC from a hostile server must not reach the terminal.
pub fn print_stderr_line(line: std::fmt::Arguments) {
    let line = line.to_string();
    let _ = writeln!(std::io::stderr().lock(), "{}", escape_controls(&line));
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

/// `eprintln!` that does not panic when stderr is a pipe whose reader has gone.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::print_stderr_line(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

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
