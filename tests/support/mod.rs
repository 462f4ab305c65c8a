//! Test support: an in-process scripted SMTP/LMTP server, certificates, and a runner for the
//! smtpsend binary. Include it with `mod support;` from an integration test.
//!
//! The server listens on 127.0.0.1:0, records every command line and transaction, injects
//! faults per verb ([`Action`]), and counts client round trips (how often the client waited
//! for replies), which is how pipelining is tested without a clock.
#![allow(dead_code, unused_imports)]

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

pub use record::{ConnectionRecord, Record, Transaction, unstuff};
pub use run::{Output, smtpsend, smtpsend_env_os, smtpsend_os, smtpsend_with_env};
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
