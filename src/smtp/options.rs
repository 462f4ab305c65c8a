//! How a session is opened and paced: the deadlines, the TLS and login settings, the
//! progress bar.

use std::time::Duration;

use crate::smtp::auth::Login;
use crate::smtp::tls::{TlsConfig, TlsMode};

/// Someone watching the data go out: told how many bytes were written, then that it is over.
pub trait Progress {
    fn advance(&mut self, bytes: u64);
    fn finish(&mut self);
}

/// Makes the [`Progress`] for a message of this many bytes.
pub type ProgressBar = fn(total: u64) -> Box<dyn Progress>;

/// Deadlines for each wait (RFC 5321 §4.5.3.2 gives the server-side minimums).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// Each command reply, and each write.
    pub command: Duration,
    /// The reply after the end of the data, when the server may be scanning the message.
    pub data_end: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            command: Duration::from_secs(60),
            data_end: Duration::from_secs(180),
        }
    }
}

impl Timeouts {
    /// Every deadline set to the same value (`--timeout`).
    pub fn all(value: Duration) -> Timeouts {
        Timeouts {
            connect: value,
            command: value,
            data_end: value,
        }
    }
}

/// How to open a session.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The name for EHLO/HELO; `None` picks this host's name or address literal.
    pub ehlo_name: Option<String>,
    pub timeouts: Timeouts,
    /// Shows the progress of the data as it is written (the caller's bar), when set.
    pub progress: Option<ProgressBar>,
    /// When to use TLS; `Auto` here means STARTTLS when offered to a non-local server, or to
    /// a local one that offers AUTH only after it (implicit TLS is decided by the settings:
    /// port 465 or smtps://).
    pub tls: TlsMode,
    pub tls_config: TlsConfig,
    /// Log in after EHLO (and after TLS).
    pub login: Option<Login>,
    /// Log in before [`crate::smtp::Session::open`] returns, even where the login could ride
    /// in front of the first command group (probes report the login; sends pipeline it).
    pub login_at_open: bool,
    /// Speak LMTP (RFC 2033): LHLO instead of EHLO, one reply per recipient after the data.
    pub lmtp: bool,
    /// With `TlsMode::Auto`, use STARTTLS when offered even on a loopback address or a unix
    /// socket (`--server-info` and `--check` show what TLS the server has).
    pub starttls_on_local: bool,
    /// Send with DATA even when the server offers CHUNKING (`--no-chunking`).
    pub no_chunking: bool,
    /// Connect from this local address (`--source-address`).
    pub source_address: Option<std::net::IpAddr>,
    /// Reach the server through this proxy (`--proxy`).
    pub proxy: Option<crate::smtp::proxy::Proxy>,
}
