//! The one batch loop: messages in order over one session, used by a single send, `--bulk`
//! and `-q`. With PIPELINING the next message's MAIL, RCPT and DATA ride behind the current
//! one's end mark (RFC 2920 §3.1) and QUIT behind the last one's; a lost session is opened
//! again for the next message; a server that cannot be reached fails every message left the
//! same way at once; and the exit code of a batch is its first failure's. What is left to
//! send after a delivery (recipients not reached yet) is worked out here too.

use crate::base::exit::{Kind, code_for, fail, one_line};
use crate::message::{Content, Envelope};
use crate::report;
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

/// After a send that reached some recipients (under --partial), the recipients refused for
/// now (4xx, or never tried) as an envelope of their own, with the failure to report for
/// them; `None` when nobody is left or only permanent refusals are.
pub fn left_for_later(
    envelope: &Envelope,
    delivery: &Delivery,
) -> Option<(Envelope, anyhow::Error)> {
    let later: Vec<_> = delivery
        .undelivered()
        .filter(|r| r.deciding_code() < 500)
        .collect();
    if later.is_empty() {
        return None;
    }
    let err = fail(
        Kind::TempFail,
        format!("not delivered yet to {}", report::names(&later)),
    );
    let envelope = Envelope {
        from: envelope.from.clone(),
        recipients: later.iter().map(|r| r.address.clone()).collect(),
    };
    Some((envelope, err))
}

/// The envelope still to send after a failed try: when the server delivered the message to
/// some recipients (LMTP gives one reply per recipient), only the others, so that trying
/// again never delivers it twice to anyone.
pub fn still_to_send(envelope: &Envelope, delivery: Option<&Delivery>) -> Envelope {
    match delivery {
        Some(delivery) if delivery.delivered_count() > 0 => Envelope {
            from: envelope.from.clone(),
            recipients: delivery
                .undelivered()
                .map(|recipient| recipient.address.clone())
                .collect(),
        },
        _ => envelope.clone(),
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
