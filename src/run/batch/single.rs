//! One session kept open across a send and the outbox entries that follow it (see
//! [`crate::run::deliver`]): each message handed over in turn, the next one's commands
//! behind the current one's end mark. `--bulk` and `-q` go through [`super::run`] instead,
//! which adds windows and several connections.

use crate::base::exit::{Kind, code_for, fail, one_line};
use crate::smtp::stream::Target;
use crate::smtp::transcript::Transcript;
use crate::smtp::{Delivery, Options, Session};

use super::Message;

/// A session kept open across the messages of a batch.
pub struct Batch {
    target: Target,
    options: Options,
    /// The `-d` level of each session's transcript.
    debug: u8,
    session: Option<Session>,
    /// Why the server could not be reached, once it could not.
    unreachable: Option<(u8, String)>,
    /// The TLS version of the last session opened, for the log.
    tls_version: Option<String>,
    /// A session was opened (the server could be reached) at least once.
    connected: bool,
}

impl Batch {
    pub fn new(target: Target, options: Options, debug: u8) -> Batch {
        Batch {
            target,
            options,
            debug,
            session: None,
            unreachable: None,
            tls_version: None,
            connected: false,
        }
    }

    /// The TLS version of the last session opened, when it had TLS.
    pub fn tls_version(&self) -> Option<String> {
        self.tls_version.clone()
    }

    /// True once a session was opened: the server could be reached.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Sends `message` over the session, opening it first when there is none (or it was
    /// abandoned). `next`, the message that follows, is announced so that its commands go
    /// behind this one's end mark; with `last`, QUIT does. A failure ends the session (with
    /// QUIT when every command got its reply); when the session cannot be opened at all,
    /// every later send fails the same way without trying.
    pub fn send(
        &mut self,
        message: Message,
        next: Option<Message>,
        last: bool,
    ) -> anyhow::Result<Delivery> {
        if let Some((code, text)) = &self.unreachable {
            return Err(fail(Kind::from_code(*code), text.clone()));
        }
        if self.session.as_ref().is_some_and(|open| !open.is_usable()) {
            self.session = None;
        }
        let session = match self.session.as_mut() {
            Some(open) => open,
            None => {
                let transcript = Transcript::new(self.debug, crate::report::transcript_line);
                match Session::open(&self.target, self.options.clone(), transcript) {
                    Ok(opened) => {
                        self.tls_version = opened.tls().map(|tls| tls.version.clone());
                        self.connected = true;
                        self.session.insert(opened)
                    }
                    Err(err) => {
                        self.unreachable = Some((code_for(&err), one_line(&err)));
                        return Err(err);
                    }
                }
            }
        };
        if let Some(next) = next {
            session.pipeline_next(next.envelope, next.content, next.policy);
        }
        let sent = session.send(message.envelope, message.content, message.policy, last);
        session
            .take_notices()
            .into_iter()
            .for_each(crate::report::errors::say_notice);
        if sent.is_err()
            && let Some(failed) = self.session.take()
        {
            failed.leave();
        }
        sent
    }

    /// Ends the session politely, when one is open.
    pub fn finish(self) {
        if let Some(open) = self.session {
            open.quit();
        }
    }
}
