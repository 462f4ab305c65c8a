//! The one batch loop: messages in order over one session, used by a single send, `--bulk`
//! and `-q`. With PIPELINING the next message's MAIL, RCPT and DATA ride behind the current
//! one's end mark (RFC 2920 §3.1) and QUIT behind the last one's; a lost session is opened
//! again for the next message; a server that cannot be reached fails every message left the
//! same way at once; and the exit code of a batch is its first failure's.

use crate::base::exit::{Kind, code_for, fail, one_line};
use crate::message::{Content, Envelope};
use crate::smtp::stream::Target;
use crate::smtp::transcript::Transcript;
use crate::smtp::{Delivery, Options, Policy, Session};

/// One message of a batch.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    pub envelope: &'a Envelope,
    pub content: &'a Content,
    pub policy: &'a Policy,
}

/// A session kept open across the messages of a batch.
pub struct Batch {
    target: Target,
    options: Options,
    /// The `-d` level of each session's transcript.
    debug: u8,
    session: Option<Session>,
    /// Why the server could not be reached, once it could not.
    unreachable: Option<(u8, String)>,
}

impl Batch {
    pub fn new(target: Target, options: Options, debug: u8) -> Batch {
        Batch {
            target,
            options,
            debug,
            session: None,
            unreachable: None,
        }
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
                    Ok(opened) => self.session.insert(opened),
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
        if let Err(err) = &sent {
            // A login refused in front of the first message (RFC 4954 §4) is refused for
            // every later session too.
            if crate::smtp::auth::login_refused(err) {
                self.unreachable = Some((code_for(err), one_line(err)));
            }
            if let Some(failed) = self.session.take() {
                failed.leave();
            }
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

/// The error of a batch whose messages did not all go: `N of M <what> not sent (<where>)`,
/// with the exit code of the first failure.
pub fn failures(failed: &[u8], total: usize, what: &str, named: &str) -> Option<anyhow::Error> {
    let first = *failed.first()?;
    Some(fail(
        Kind::from_code(first),
        format!("{} of {total} {what} not sent ({named})", failed.len()),
    ))
}
