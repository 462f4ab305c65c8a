//! Test support: an in-process scripted SMTP/LMTP server, certificates, a runner for the
//! smtpsend binary ([`Run`]) with its [`Home`], and golden files ([`assert_golden`]).
//!
//! The server listens on 127.0.0.1:0, records every command line and transaction, injects
//! faults per verb ([`Action`]), and counts client round trips (how often the client waited
//! for replies), which is how pipelining is tested without a clock.
#![allow(dead_code, unused_imports)]

mod checks;
mod golden;
mod home;
mod oauth;
mod proxy;
mod pty;
mod record;
mod run;
mod sasl;
mod script;
mod server;
mod session;
mod tls;
mod unix;
mod wire;

use std::net::TcpListener;
use std::path::Path;

pub use checks::{b64, delivered, end_marks, lf_to_crlf, many};
pub use golden::{assert_golden, mask};
pub use home::{Home, queued_id};
pub use oauth::{
    AUTH_CODE, CLIENT_ID, DEVICE_CODE, DeviceOutcome, OAuthProvider, ProviderState, USER_CODE,
};
pub use proxy::{ProxyProtocol, ProxyRequest, TestProxy};
pub use pty::Pty;
pub use record::{ConnectionRecord, Record, Transaction, unstuff};
pub use run::{Output, RUN_CAP, Run, Running, Target, reader_gone};
pub use script::{Action, Builder, Reply, Script, Verb};
pub use server::Server;
pub use session::CRAM_MD5_CHALLENGE;
pub use tls::TestCerts;
pub use unix::UnixRelay;

/// `"127.0.0.1:PORT"` where nothing listens (the port was just free), for refused connects.
pub fn refused_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("listener address");
    drop(listener);
    addr.to_string()
}

/// Makes a FIFO at `path` (in the test's own temporary directory).
pub fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("FIFO path");
    // SAFETY: mkfifo(3) with a NUL-terminated path; it touches no memory of ours.
    let made = unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
    assert_eq!(
        made,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// Whether the tests run as root (some need to, some cannot).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}
