//! The only way out to the user: every line on stdout and stderr, every `--json` document and
//! every transcript line is written here, after the secret scrubber ([`crate::base::secret`]) and
//! with control characters escaped, so that neither a password nor a terminal escape from a
//! hostile server can get through another path. Clippy's `disallowed-methods` and
//! `disallowed-macros` (clippy.toml) forbid `std::io::stdout`, `std::io::stderr`, `println!`
//! and friends everywhere else. The one unscrubbed path is [`write_message`], which writes the
//! message itself for `--dry-run`, byte for byte.
//!
//! A closed pipe is ignored (`| head`, `2>&1 | head -c1`): the exit code must tell what
//! happened to the mail, not to the output.
#![allow(clippy::disallowed_methods)]

use std::io::{self, Write};

use crate::base::escape::escape_controls;
use crate::base::secret::scrub;

/// Prints text on stdout: secrets redacted, control characters other than line feed and tab
/// escaped (server text from `--server-info`, `--verify`, `--expn`, `--list-queue`).
pub fn print_stdout(text: &str) {
    let scrubbed = scrub(text);
    let mut out = String::with_capacity(scrubbed.len());
    for (index, line) in scrubbed.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&escape_controls(line));
    }
    write_stdout(out.as_bytes());
}

/// Prints a JSON document and a line feed on stdout: secrets redacted, and the control
/// characters JSON leaves as they are (DEL and the C1 controls) escaped as `\u00XX`.
pub fn print_json(document: &impl serde::Serialize) {
    if let Some(mut out) = json_text(document) {
        out.push('\n');
        write_stdout(out.as_bytes());
    }
}

/// A document as pretty JSON, scrubbed, with DEL and the C1 controls escaped.
fn json_text(document: &impl serde::Serialize) -> Option<String> {
    let text = serde_json::to_string_pretty(document).ok()?;
    let scrubbed = scrub(&text);
    let mut out = String::with_capacity(scrubbed.len() + 1);
    for c in scrubbed.chars() {
        match c as u32 {
            0x7f..=0x9f => out.push_str(&format!("\\u{:04x}", c as u32)),
            _ => out.push(c),
        }
    }
    Some(out)
}

/// Prints a JSON object as [`print_json`] does, with one more member last: `key`, a string
/// holding in base64 what `write` writes (the message of `--dry-run --json`: the user's own
/// bytes, streamed, never held whole in memory, and not scrubbed, as in [`write_message`]).
pub fn print_json_with_base64(
    document: &impl serde::Serialize,
    key: &str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let Some(text) = json_text(document) else {
        return Ok(());
    };
    let Some(members) = text.strip_suffix("\n}") else {
        return Ok(());
    };
    let mut stdout = io::stdout().lock();
    let written = (|| {
        write!(stdout, "{members},\n  {}: \"", serde_json::Value::from(key))?;
        let mut encoder = base64::write::EncoderWriter::new(
            &mut stdout,
            &base64::engine::general_purpose::STANDARD,
        );
        write(&mut encoder)?;
        let stdout = encoder.finish()?;
        stdout.write_all(b"\"\n}\n")?;
        stdout.flush()
    })();
    match written {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes the message for `--dry-run`: exactly its bytes, which are the user's own and are
/// what would be sent. `Ok(None)` when the reader has gone, else whether stdout is a
/// terminal.
pub fn write_message(
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<Option<bool>> {
    let mut stdout = io::stdout().lock();
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(None),
        Err(err) => Err(err),
        Ok(()) => Ok(Some(io::IsTerminal::is_terminal(&stdout))),
    }
}

fn write_stdout(bytes: &[u8]) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}

/// True when stderr is a terminal (someone is watching: a progress bar is worth drawing).
pub fn stderr_is_terminal() -> bool {
    io::IsTerminal::is_terminal(&io::stderr())
}

/// Writes one line to stderr: secrets redacted, control characters escaped (error lines
/// quote server replies and file names). Use through [`say!`](crate::say).
pub fn print_stderr_line(line: std::fmt::Arguments) {
    let line = line.to_string();
    let scrubbed = scrub(&line);
    let _ = writeln!(io::stderr().lock(), "{}", escape_controls(&scrubbed));
}

/// Writes a question to stderr without a line end, for the answer to follow on the same
/// line (`--setup`); scrubbed and escaped like every line.
pub fn prompt(text: &str) {
    let scrubbed = scrub(text);
    let mut stderr = io::stderr().lock();
    let _ = write!(stderr, "{}", escape_controls(&scrubbed)).and_then(|()| stderr.flush());
}

/// Writes one transcript line (`send: '…'`, `reply: '…'`, already quoted) to stderr, secrets
/// redacted.
pub fn print_transcript_line(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", scrub(line));
}

/// Makes a panic report go through the scrubber too (the default hook writes to stderr
/// directly, and a panic message may quote anything), then end the process with 70.
pub fn route_panics() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        let location = info
            .location()
            .map(|at| format!(" at {}:{}", at.file(), at.line()))
            .unwrap_or_default();
        print_stderr_line(format_args!(
            "smtpsend: internal error: {what}{location} (please report it)"
        ));
        std::process::exit(70);
    }));
}

/// `eprintln!` that scrubs secrets, escapes control characters and does not panic when
/// stderr is a pipe whose reader has gone.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::base::output::print_stderr_line(format_args!($($arg)*))
    };
}
