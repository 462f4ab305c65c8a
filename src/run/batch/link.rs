//! One connection of a batch: its session, opened when first needed and again when it was
//! lost, numbered in the transcript when several run at once, its notices said, and ended
//! politely when every command got its reply. A lane of `--bulk` and `-q` ([`super::lane`])
//! and the session a send shares with the outbox entries after it ([`super::Batch`]) both
//! keep their session here.

use crate::smtp::stream::Target;
use crate::smtp::transcript::Transcript;
use crate::smtp::{Options, Session};

use super::Carried;

/// A session kept open across messages, and what the log needs to know of it.
pub(super) struct Link {
    target: Target,
    options: Options,
    /// The `-d` level of each session's transcript.
    debug: u8,
    /// Transcript lines start with the connection's number (several connections at once).
    numbered: bool,
    session: Option<Session>,
    /// The number of the last session opened, from 1.
    number: usize,
    /// The TLS version of the last session opened, for the log (kept after it ended).
    tls_version: Option<String>,
}

impl Link {
    pub(super) fn new(target: Target, options: Options, debug: u8, numbered: bool) -> Link {
        Link {
            target,
            options,
            debug,
            numbered,
            session: None,
            number: 0,
            tls_version: None,
        }
    }

    /// True when a session is open and can take another transaction.
    pub(super) fn is_usable(&self) -> bool {
        self.session.as_ref().is_some_and(Session::is_usable)
    }

    /// The open session, usable or not (replies may still be owed on it).
    pub(super) fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The open session, usable or not, to read what it owes.
    pub(super) fn session_mut(&mut self) -> Option<&mut Session> {
        self.session.as_mut()
    }

    /// The open session when it can take another transaction.
    pub(super) fn usable(&mut self) -> Option<&mut Session> {
        self.session.as_mut().filter(|session| session.is_usable())
    }

    /// Opens a new session as connection `number` (the caller ended the last one).
    pub(super) fn open(&mut self, number: usize) -> anyhow::Result<&mut Session> {
        self.number = number;
        let mut transcript = Transcript::new(self.debug, crate::report::transcript_line);
        if self.numbered {
            transcript = transcript.of_connection(number);
        }
        let opened = Session::open(&self.target, self.options.clone(), transcript)?;
        self.tls_version = opened.tls().map(|tls| tls.version.clone());
        Ok(self.session.insert(opened))
    }

    /// Ends the session: with QUIT when every command got its reply, by closing otherwise.
    pub(super) fn close(&mut self) {
        if let Some(session) = self.session.take() {
            session.leave();
        }
    }

    /// This connection, as the carrier of a message.
    pub(super) fn carried(&self) -> Carried {
        Carried {
            connection: (self.number > 0).then_some(self.number),
            tls: self.tls_version.clone(),
        }
    }

    /// Says what the session noticed (a DSN request the server cannot honour).
    pub(super) fn say_notices(&mut self) {
        if let Some(session) = self.session.as_mut() {
            session
                .take_notices()
                .into_iter()
                .for_each(crate::report::errors::say_notice);
        }
    }
}
