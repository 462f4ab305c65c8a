//! The error line as the user reads it: what went wrong, then what to do about it, in terms
//! of the options (the engine only says what the situation is, see `smtp::Advice`); and the
//! session's notices (`smtp::Notice`), said the same way.

use crate::base::exit::one_line;
use crate::smtp::{Advice, Notice};

/// The one-line error with its advice: `… timed out waiting for the greeting (if it is an
/// implicit-TLS port such as 465, try --tls implicit)`.
pub fn error_line(err: &anyhow::Error) -> String {
    let line = one_line(err);
    match err.downcast_ref::<Advice>() {
        Some(advice) => format!("{line} ({})", advice_text(*advice)),
        None => line,
    }
}

/// What to do, in the options' words.
pub fn advice_text(advice: Advice) -> &'static str {
    match advice {
        Advice::TlsOffForLogin => "--tls none; only loopback addresses and unix sockets are exempt",
        Advice::NoStartTlsForLogin => {
            "the server does not offer STARTTLS; try --tls implicit or port 465"
        }
        Advice::ImplicitTlsPort => "if it is an implicit-TLS port such as 465, try --tls implicit",
        Advice::StartTlsRequired => "--tls starttls requires it",
        Advice::PrivateCa => {
            "use --tls-ca-file to trust a private CA, or pin the certificate with --tls-fingerprint"
        }
        Advice::PinMismatch => {
            "if the server's certificate was renewed, check the new one with --server-info and pin it with --tls-fingerprint"
        }
        Advice::NameMismatch => {
            "connect by one of the certificate's names (--server NAME), or give the name to check with --tls-server-name"
        }
        Advice::PinNeedsTls => {
            "--tls-fingerprint needs TLS; if the port speaks implicit TLS, try --tls implicit"
        }
        Advice::TlsVersion => "the server does not speak the version --tls-min-version asks for",
        Advice::NotTlsPort => "try --tls starttls, or port 587 or 25",
        Advice::LoginRequired => {
            "the server wants a login first: give --user, or user in the account"
        }
        Advice::MaybeLmtp => {
            "it knows neither EHLO nor HELO: if it speaks LMTP, as a delivery agent's socket \
             does, add --lmtp"
        }
    }
}

/// Says a notice of the session on stderr.
pub fn say_notice(notice: Notice) {
    match notice {
        Notice::DsnNotOffered => crate::say!(
            "smtpsend: warning: the server does not offer DSN, so no delivery status \
             notifications are requested (-N, -R, -V are left out); sending without them"
        ),
    }
}
