//! The session engine: connect, greet, EHLO/HELO, transactions, QUIT.
//!
//! Follows RFC 5321 (SMTP), RFC 2920 (PIPELINING), RFC 1870 (SIZE), RFC 6152 (8BITMIME)
//! and RFC 3463 (enhanced status codes). Works over any [`stream::Stream`]; every line
//! at the plain-text layer goes through the [`transcript::Transcript`].

pub mod command;
pub mod connection;
pub mod data;
pub mod reply;
pub mod stream;
pub mod transaction;
pub mod transcript;

use std::time::Duration;

use crate::exit::{Kind, fail};
use connection::Connection;
use reply::{Capabilities, Reply};
use stream::{Stream, Target};
use transcript::Transcript;

pub use transaction::{Delivery, Outcome, Policy, RecipientResult};

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
    /// Draw a progress bar on stderr while sending large messages.
    pub progress: bool,
}

/// An open SMTP session, greeted and introduced.
pub struct Session {
    conn: Connection,
    options: Options,
    greeting: Reply,
    capabilities: Capabilities,
    /// The server refused EHLO and took HELO: no extensions at all.
    helo_only: bool,
    /// QUIT was already written (pipelined behind the last message).
    quit_sent: bool,
    /// The connection can no longer be used (a transaction was abandoned mid-data).
    broken: bool,
}

impl Session {
    /// Connects, reads the greeting and introduces the client.
    pub fn open(
        target: &Target,
        options: Options,
        mut transcript: Transcript,
    ) -> anyhow::Result<Session> {
        let stream = Stream::connect(target, options.timeouts.connect, &mut transcript)?;
        let mut conn = Connection::new(stream, transcript, options.timeouts.command);
        let greeting = conn.read_reply(options.timeouts.command, "the greeting")?;
        if !greeting.is_positive() {
            let kind = if greeting.is_permanent() {
                Kind::Unavailable
            } else {
                Kind::TempFail
            };
            let _ = conn.send(command::Quit.to_string().as_bytes());
            return Err(fail(
                kind,
                format!("server refused the connection: {greeting}"),
            ));
        }
        let mut session = Session {
            conn,
            options,
            greeting,
            capabilities: Capabilities::default(),
            helo_only: false,
            quit_sent: false,
            broken: false,
        };
        session.hello()?;
        Ok(session)
    }

    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// True when the server offers the extension (never after a HELO fallback).
    pub fn offers(&self, extension: u32) -> bool {
        !self.helo_only && self.capabilities.has(extension)
    }

    /// EHLO, falling back to HELO when the server does not know EHLO.
    fn hello(&mut self) -> anyhow::Result<()> {
        let name = self.ehlo_name();
        let timeout = self.options.timeouts.command;
        self.conn
            .send(command::Ehlo(&name).to_string().as_bytes())?;
        let reply = self.conn.read_reply(timeout, "the reply to EHLO")?;
        if reply.is_positive() {
            self.capabilities = Capabilities::from_ehlo(&reply);
            return Ok(());
        }
        if reply.is_transient() && reply.code == 421 {
            return Err(fail(Kind::TempFail, format!("server closing: {reply}")));
        }
        self.conn
            .send(command::Helo(&name).to_string().as_bytes())?;
        let reply = self.conn.read_reply(timeout, "the reply to HELO")?;
        if !reply.is_positive() {
            return Err(refusal(&reply, "HELO"));
        }
        self.helo_only = true;
        self.capabilities = Capabilities::default();
        Ok(())
    }

    fn ehlo_name(&self) -> String {
        if let Some(name) = &self.options.ehlo_name {
            return name.clone();
        }
        let host = crate::settings::hostname();
        if host.contains('.') {
            return host;
        }
        match self.conn.stream().local_ip() {
            Some(std::net::IpAddr::V4(ip)) => format!("[{ip}]"),
            Some(std::net::IpAddr::V6(ip)) => format!("[IPv6:{ip}]"),
            None if !host.is_empty() => host,
            None => "localhost".to_string(),
        }
    }

    /// False once a transaction was abandoned by closing the connection: open a new session.
    pub fn is_usable(&self) -> bool {
        !self.broken
    }

    /// Runs one mail transaction. With `last`, QUIT is pipelined behind the data when the
    /// server offers PIPELINING.
    pub fn send(
        &mut self,
        envelope: &crate::message::Envelope,
        content: &crate::message::Content,
        policy: &Policy,
        last: bool,
    ) -> anyhow::Result<Delivery> {
        if self.broken {
            return Err(fail(Kind::Software, "the session was abandoned"));
        }
        transaction::run(self, envelope, content, policy, last)
    }

    /// Ends the session politely; errors at this point do not matter to the outcome.
    pub fn quit(mut self) {
        if self.broken {
            return;
        }
        if !self.quit_sent {
            if self
                .conn
                .send(command::Quit.to_string().as_bytes())
                .is_err()
            {
                return;
            }
            let _ = self
                .conn
                .read_reply(self.options.timeouts.command, "the reply to QUIT");
        }
    }
}

/// The error for a refused command: 4xx is temporary (75), 5xx permanent (69).
pub fn refusal(reply: &Reply, command: &str) -> anyhow::Error {
    let kind = if reply.is_transient() {
        Kind::TempFail
    } else {
        Kind::Unavailable
    };
    fail(kind, format!("server refused {command}: {reply}"))
}
