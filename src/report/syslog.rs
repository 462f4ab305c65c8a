//! The system log: the log line of [`crate::report::log`] as one RFC 3164 datagram
//! (`<PRI>Mmm dd hh:mm:ss smtpsend[PID]: line`, what libc's `syslog(3)` sends) to the local
//! log socket, `/dev/log`. `SMTPSEND_SYSLOG_SOCKET` names another socket; it is there for
//! tests, which read what smtpsend wrote from a socket of their own. The datagram is sent
//! without waiting: a log daemon that is gone or full costs a warning, never the mail.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// The log socket.
pub const SOCKET: &str = "/dev/log";

/// The variable naming another socket (for tests).
pub const SOCKET_VAR: &str = "SMTPSEND_SYSLOG_SOCKET";

/// A syslog facility an account may name (`syslog = "mail"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(u8);

impl Facility {
    /// The names accepted (case does not matter, and msmtp's `LOG_MAIL` spelling is taken
    /// too), with their numbers.
    const ALL: [(&'static str, u8); 11] = [
        ("user", 1),
        ("mail", 2),
        ("daemon", 3),
        ("local0", 16),
        ("local1", 17),
        ("local2", 18),
        ("local3", 19),
        ("local4", 20),
        ("local5", 21),
        ("local6", 22),
        ("local7", 23),
    ];

    /// The names, for messages.
    pub const NAMES: [&'static str; 11] = [
        "user", "mail", "daemon", "local0", "local1", "local2", "local3", "local4", "local5",
        "local6", "local7",
    ];

    /// `mail`, `MAIL` or `LOG_MAIL`; `None` for anything else.
    pub fn parse(name: &str) -> Option<Facility> {
        let lower = name.to_ascii_lowercase();
        let bare = lower.strip_prefix("log_").unwrap_or(&lower);
        Facility::ALL
            .iter()
            .find(|(known, _)| *known == bare)
            .map(|(_, number)| Facility(*number))
    }

    pub fn name(self) -> &'static str {
        Facility::ALL
            .iter()
            .find(|(_, number)| *number == self.0)
            .map_or("user", |(name, _)| name)
    }
}

/// How grave a line is: a message sent or queued is information, one that failed an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error = 3,
    Warning = 4,
    Info = 6,
}

/// Sends `line` (already scrubbed and escaped) to the system log.
pub fn send(facility: Facility, severity: Severity, line: &str) -> std::io::Result<()> {
    let socket_path = std::env::var_os(SOCKET_VAR)
        .filter(|path| !path.is_empty())
        .map_or_else(|| PathBuf::from(SOCKET), PathBuf::from);
    let datagram = format!(
        "<{}>{} smtpsend[{}]: {line}",
        u32::from(facility.0) * 8 + severity as u32,
        timestamp(),
        std::process::id()
    );
    let socket = UnixDatagram::unbound()?;
    socket.set_nonblocking(true)?;
    socket.send_to(datagram.as_bytes(), &socket_path)?;
    Ok(())
}

/// RFC 3164's timestamp, `Mmm dd hh:mm:ss` in local time (the day padded with a space).
fn timestamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let now = local_now();
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[now.tm_mon.rem_euclid(12) as usize],
        now.tm_mday,
        now.tm_hour,
        now.tm_min,
        now.tm_sec
    )
}

/// The local time now.
pub fn local_now() -> libc::tm {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: localtime_r only writes into the zeroed tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&now, &mut tm) };
    tm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_by_any_spelling() {
        assert_eq!(Facility::parse("mail"), Some(Facility(2)));
        assert_eq!(Facility::parse("LOG_MAIL"), Some(Facility(2)));
        assert_eq!(Facility::parse("Local7"), Some(Facility(23)));
        assert_eq!(Facility::parse("kern"), None);
        assert_eq!(Facility::parse("mail").map(Facility::name), Some("mail"));
        for name in Facility::NAMES {
            assert_eq!(Facility::parse(name).map(Facility::name), Some(name));
        }
    }
}
