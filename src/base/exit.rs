//! Error kinds and their sysexits.h exit codes, mapped in one place: the one source of each
//! code's number, name and meaning, from which `--help`, the man page and the README's table
//! are made (a test checks the README).

use std::fmt;
use std::io;

/// What went wrong, as far as the caller's retry decision is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 64: bad flag, bad address syntax, conflicting options.
    Usage,
    /// 65: the input message is unusable.
    Data,
    /// 66: an input file cannot be read.
    NoInput,
    /// 67: recipient(s) refused permanently.
    RecipientRefused,
    /// 68: host name does not resolve.
    NoHost,
    /// 69: server refused permanently or lacks a required extension.
    Unavailable,
    /// 70: internal error.
    Software,
    /// 74: local I/O error.
    LocalIo,
    /// 75: temporary failure, safe to retry.
    TempFail,
    /// 76: the server broke the protocol.
    Protocol,
    /// 77: authentication refused.
    AuthRefused,
    /// 78: configuration error.
    Config,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Usage,
        Kind::Data,
        Kind::NoInput,
        Kind::RecipientRefused,
        Kind::NoHost,
        Kind::Unavailable,
        Kind::Software,
        Kind::LocalIo,
        Kind::TempFail,
        Kind::Protocol,
        Kind::AuthRefused,
        Kind::Config,
    ];

    /// The kind whose exit code this is (70 for an unknown code).
    pub fn from_code(code: u8) -> Kind {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
            .unwrap_or(Kind::Software)
    }

    /// True for the failures that may go away by themselves, so that trying again later
    /// makes sense and the outbox keeps the message: 75, and 76 (a server that broke the
    /// protocol once may well behave on the next try, or another server behind the name may
    /// answer).
    pub fn is_temporary(self) -> bool {
        matches!(self, Kind::TempFail | Kind::Protocol)
    }

    /// The sysexits.h name: `EX_TEMPFAIL`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Usage => "EX_USAGE",
            Kind::Data => "EX_DATAERR",
            Kind::NoInput => "EX_NOINPUT",
            Kind::RecipientRefused => "EX_NOUSER",
            Kind::NoHost => "EX_NOHOST",
            Kind::Unavailable => "EX_UNAVAILABLE",
            Kind::Software => "EX_SOFTWARE",
            Kind::LocalIo => "EX_IOERR",
            Kind::TempFail => "EX_TEMPFAIL",
            Kind::Protocol => "EX_PROTOCOL",
            Kind::AuthRefused => "EX_NOPERM",
            Kind::Config => "EX_CONFIG",
        }
    }

    /// What the code means to the caller, one line.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::Usage => {
                "usage: a bad flag, a bad address, conflicting options, an unsupported \
                 sendmail mode"
            }
            Kind::Data => {
                "the message is unusable (a header value with CR or LF, no recipients with -t, \
                 8-bit data with -B 7BIT, input over --max-input-size, a damaged outbox entry)"
            }
            Kind::NoInput => {
                "an input file cannot be read (attachment, body file, password file or pipe, \
                 TLS file), or is a FIFO, device or socket where a file is needed"
            }
            Kind::RecipientRefused => "recipient(s) refused permanently",
            Kind::NoHost => "the server's host name does not resolve",
            Kind::Unavailable => "the server refused permanently, or lacks a required extension",
            Kind::Software => "internal error",
            Kind::LocalIo => "local I/O error",
            Kind::TempFail => {
                "temporary failure (4xx reply, connection refused or lost, timeout, \
                 --max-time): safe to retry"
            }
            Kind::Protocol => {
                "the server broke the protocol (temporary: retried, and queued with --queue)"
            }
            Kind::AuthRefused => "authentication refused",
            Kind::Config => {
                "configuration error: an unknown key or a bad value, a missing --config file, a \
                 password others can read, a password that is not UTF-8"
            }
        }
    }

    /// The sysexits.h code for this kind.
    pub fn code(self) -> u8 {
        match self {
            Kind::Usage => 64,
            Kind::Data => 65,
            Kind::NoInput => 66,
            Kind::RecipientRefused => 67,
            Kind::NoHost => 68,
            Kind::Unavailable => 69,
            Kind::Software => 70,
            Kind::LocalIo => 74,
            Kind::TempFail => 75,
            Kind::Protocol => 76,
            Kind::AuthRefused => 77,
            Kind::Config => 78,
        }
    }
}

/// What exit 0 means.
pub const SUCCESS: &str = "sent: every recipient accepted (or some, with --partial); or queued \
                           in the outbox (--queue), to be sent by smtpsend -q";

/// Every exit code with what it means, 0 first: the table `--help`, the man page and the
/// README show.
pub fn table() -> Vec<(u8, &'static str)> {
    std::iter::once((0, SUCCESS))
        .chain(
            Kind::ALL
                .into_iter()
                .map(|kind| (kind.code(), kind.meaning())),
        )
        .collect()
}

/// An error whose exit code matters; it can sit anywhere in an anyhow chain.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds an anyhow error of the given kind.
pub fn fail(kind: Kind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind,
        message: message.into(),
    })
}

/// The exit code for an error: the first typed [`Failure`] in the chain wins,
/// then I/O errors by their kind, else 70.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return failure.kind.code();
        }
    }
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return io_kind(io).code();
        }
    }
    Kind::Software.code()
}

/// True when the error's exit code is a temporary one (see [`Kind::is_temporary`]).
pub fn is_temporary(err: &anyhow::Error) -> bool {
    Kind::from_code(code_for(err)).is_temporary()
}

/// How an I/O error on the connection is classified: network trouble is temporary.
pub fn io_kind(err: &io::Error) -> Kind {
    use io::ErrorKind::*;
    match err.kind() {
        ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected | BrokenPipe
        | TimedOut | WouldBlock | UnexpectedEof | HostUnreachable | NetworkUnreachable
        | NetworkDown | AddrNotAvailable | Interrupted => Kind::TempFail,
        NotFound | PermissionDenied | IsADirectory => Kind::NoInput,
        _ => Kind::LocalIo,
    }
}

/// The one-line text printed after `smtpsend: `.
/// Causes whose text is empty (advice the report layer renders, see `report::error_line`)
/// are left out.
pub fn one_line(err: &anyhow::Error) -> String {
    let text = err
        .chain()
        .map(|cause| cause.to_string())
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    text.split(['\r', '\n'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's exit-code table is this module's, row for row.
    #[test]
    fn the_readme_table_is_the_one_source() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        let expected: String = table()
            .into_iter()
            .map(|(code, meaning)| format!("| {code} | {meaning} |\n"))
            .collect();
        assert!(
            readme.contains(&expected),
            "README.md's exit-code table must be exactly:\n{expected}"
        );
    }
}
