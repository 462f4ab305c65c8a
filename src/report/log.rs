//! The log of what was sent: one line per message and attempt, for the admin who wants to
//! know afterwards what went where (`log-file`, `--log-file`, `syslog`):
//!
//! ```text
//! 2026-03-02T06:25:01+01:00 result=sent exit=0 account=relay server=relay.example:25
//! tls=TLSv1.3 user=mailer from=<www-data@example.com> to=<admin@example.com>:250 size=512
//! message-id=<…@example.com> queue-id=4ABCD1234 (one line)
//! ```
//!
//! Every line goes through the scrubber and has its control characters escaped, like
//! everything smtpsend writes: no password, and no terminal escape from a server's text.
//! A line is appended with one `write(2)` on a descriptor opened with `O_APPEND`, so lines
//! of many smtpsend processes at once never mix. The file is opened without following a
//! symbolic link and must be a regular file; one that cannot be written costs a warning on
//! stderr, never the mail.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::base::escape::escape_controls;
use crate::base::secret::scrub;
use crate::message::Envelope;
use crate::report::syslog::{self, Facility, Severity};
use crate::smtp::RecipientResult;

/// Where the lines go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logs {
    pub file: Option<PathBuf>,
    pub syslog: Option<Facility>,
}

/// One attempt at one message, as the log line tells it.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    /// `sent`, `partial`, `queued` or `failed`.
    pub result: &'a str,
    pub exit_code: u8,
    pub account: Option<&'a str>,
    pub server: String,
    /// The TLS version of the session, when it had TLS.
    pub tls: Option<String>,
    /// Who logged in, when anyone did.
    pub user: Option<&'a str>,
    pub envelope: Option<&'a Envelope>,
    /// Each recipient's deciding reply, when the transaction got that far.
    pub recipients: &'a [RecipientResult],
    pub size: u64,
    pub message_id: Option<String>,
    /// The id the server gave the message (`250 2.0.0 Ok: queued as 4ABCD`).
    pub queue_id: Option<String>,
    /// The outbox entry: the message queued, or the entry a flush sent.
    pub outbox: Option<&'a str>,
    /// Why it failed or was queued.
    pub error: Option<String>,
}

impl Logs {
    /// True when there is somewhere to write.
    pub fn enabled(&self) -> bool {
        self.file.is_some() || self.syslog.is_some()
    }

    /// Writes the entry's line to the file and the system log; a failure is a warning.
    pub fn write(&self, entry: &Entry) {
        if !self.enabled() {
            return;
        }
        let line = escape_controls(&scrub(&line(entry))).into_owned();
        if let Some(path) = &self.file {
            let stamped = format!("{} {line}\n", iso_time());
            if let Err(err) = append(path, stamped.as_bytes()) {
                warn_once(&format!("the log file {}: {err}", path.display()));
            }
        }
        if let Some(facility) = self.syslog {
            let severity = match entry.result {
                "sent" | "queued" => Severity::Info,
                "partial" => Severity::Warning,
                _ => Severity::Error,
            };
            if let Err(err) = syslog::send(facility, severity, &line) {
                warn_once(&format!(
                    "the system log: {}",
                    crate::base::input::plain_io(&err)
                ));
            }
        }
    }
}

/// The line without its time: `result=… exit=… account=… server=… …`.
pub fn line(entry: &Entry) -> String {
    let mut fields = vec![
        format!("result={}", entry.result),
        format!("exit={}", entry.exit_code),
    ];
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            fields.push(format!("{name}={}", quoted(&value)));
        }
    };
    add("account", entry.account.map(str::to_string));
    add("server", Some(entry.server.clone()));
    add("tls", entry.tls.clone());
    add("user", entry.user.map(str::to_string));
    add("from", entry.envelope.map(|e| format!("<{}>", e.from)));
    add("to", recipients(entry));
    add("size", Some(entry.size.to_string()));
    add("message-id", entry.message_id.clone());
    add("queue-id", entry.queue_id.clone());
    add("outbox", entry.outbox.map(str::to_string));
    add("error", entry.error.clone());
    fields.join(" ")
}

/// `<a@x>:250,<b@y>:550`: each recipient with the code that decided it (none for a
/// recipient the transaction never reached).
fn recipients(entry: &Entry) -> Option<String> {
    let listed: Vec<String> = if entry.recipients.is_empty() {
        let envelope = entry.envelope?;
        envelope
            .recipients
            .iter()
            .map(|r| format!("<{r}>"))
            .collect()
    } else {
        entry
            .recipients
            .iter()
            .map(|r| match r.deciding_code() {
                0 => format!("<{}>", r.address),
                code => format!("<{}>:{code}", r.address),
            })
            .collect()
    };
    Some(listed.join(","))
}

/// A value as it is when it has no space, quote or backslash; else in double quotes.
fn quoted(value: &str) -> String {
    if !value.contains([' ', '"', '\\']) {
        return value.to_string();
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Appends `bytes` to the file in one write, creating it (mode 600) when missing.
fn append(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) => "it is a symbolic link, which smtpsend does not follow".into(),
            _ => crate::base::input::plain_io(&err),
        })?;
    let kind = file
        .metadata()
        .map(|metadata| crate::base::input::FileKind::of(&metadata))
        .map_err(|err| crate::base::input::plain_io(&err))?;
    if kind != crate::base::input::FileKind::Regular {
        return Err(format!("it is {}, not a regular file", kind.described()));
    }
    match (&file).write(bytes) {
        Ok(written) if written == bytes.len() => Ok(()),
        Ok(written) => Err(format!("only {written} of {} bytes written", bytes.len())),
        Err(err) => Err(crate::base::input::plain_io(&err)),
    }
}

/// Warns about a log that cannot be written, once per run for each.
fn warn_once(what: &str) {
    static WARNED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut warned = WARNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if warned.iter().any(|known| known == what) {
        return;
    }
    warned.push(what.to_string());
    crate::say!("smtpsend: warning: cannot write to {what}; the mail is not affected");
}

/// The time now in RFC 3339, local with its offset: `2026-03-02T06:25:01+01:00`.
pub fn iso_time() -> String {
    let tm = syslog::local_now();
    let offset = tm.tm_gmtoff / 60;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        if offset < 0 { '-' } else { '+' },
        offset.abs() / 60,
        offset.abs() % 60
    )
}

/// The id a server gave the message in its reply after the data, in the forms servers
/// use: Postfix `queued as 4ABCD`, Exim `id=1tXy-000A-12`, sendmail `5A1B2C Message
/// accepted for delivery`.
pub fn queue_id(reply_text: &str) -> Option<String> {
    let words: Vec<&str> = reply_text.split_whitespace().collect();
    let clean = |word: &str| {
        let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        (!word.is_empty() && word.len() <= 64).then(|| word.to_string())
    };
    if let Some(at) = words
        .windows(2)
        .position(|pair| pair[0].eq_ignore_ascii_case("queued") && pair[1] == "as")
    {
        return words.get(at + 2).and_then(|word| clean(word));
    }
    if let Some(id) = words.iter().find_map(|word| word.strip_prefix("id=")) {
        return clean(id);
    }
    let accepted = words
        .windows(2)
        .position(|pair| pair[0] == "Message" && pair[1] == "accepted")?;
    let before = words.get(accepted.checked_sub(1)?)?;
    let is_status = |word: &str| word.split('.').all(|part| part.parse::<u16>().is_ok());
    (!is_status(before)).then(|| clean(before)).flatten()
}

/// The Message-ID field of a header block, angle brackets included.
pub fn message_id(header: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    let mut lines = text.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut value = value.trim().to_string();
        while let Some(next) = lines.peek().filter(|next| next.starts_with([' ', '\t'])) {
            value.push_str(next.trim());
            lines.next();
        }
        return (!value.is_empty()).then_some(value);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids_in_the_forms_servers_give_them() {
        assert_eq!(
            queue_id("2.0.0 Ok: queued as 4ABCD12EF").as_deref(),
            Some("4ABCD12EF")
        );
        assert_eq!(
            queue_id("OK id=1tXyZa-000AbC-12").as_deref(),
            Some("1tXyZa-000AbC-12")
        );
        assert_eq!(
            queue_id("2.0.0 5A1B2C3D4E Message accepted for delivery").as_deref(),
            Some("5A1B2C3D4E")
        );
        assert_eq!(queue_id("2.0.0 Message accepted for delivery"), None);
        assert_eq!(queue_id("OK"), None);
    }

    #[test]
    fn the_message_id_of_a_header() {
        let header = b"From: a@x\r\nMessage-ID:\r\n <1.2@x.org>\r\nTo: b@y\r\n\r\n";
        assert_eq!(message_id(header).as_deref(), Some("<1.2@x.org>"));
        assert_eq!(message_id(b"From: a@x\r\n\r\n"), None);
    }

    #[test]
    fn a_line_names_each_part_and_quotes_spaces() {
        let envelope = Envelope {
            from: "a@example.com".into(),
            recipients: vec!["b@example.com".into()],
        };
        let entry = Entry {
            result: "failed",
            exit_code: 75,
            server: "relay.example:25".into(),
            envelope: Some(&envelope),
            size: 42,
            error: Some("server refused \"MAIL\"".into()),
            ..Entry::default()
        };
        assert_eq!(
            line(&entry),
            "result=failed exit=75 server=relay.example:25 from=<a@example.com> \
             to=<b@example.com> size=42 error=\"server refused \\\"MAIL\\\"\""
        );
    }
}
