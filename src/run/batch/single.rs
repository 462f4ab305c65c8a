//! One session kept open across a send and the outbox entries that follow it (see
//! [`crate::run::deliver`]): each message handed over in turn by the caller, the next one's
//! commands behind the current one's end mark. `--bulk` and `-q` go through [`super::run`]
//! instead, which adds windows and several connections; both keep their session in a
//! [`Link`].

use crate::base::exit::{Kind, code_for, fail, one_line};
use crate::smtp::stream::Target;
use crate::smtp::{Delivery, Options};

use super::Message;
use super::link::Link;

/// A session kept open across the messages of a batch.
pub struct Batch {
    link: Link,
    /// Why the server could not be reached, once it could not.
    unreachable: Option<(u8, String)>,
    /// A session was opened (the server could be reached) at least once.
    connected: bool,
}

impl Batch {
    pub fn new(target: Target, options: Options, debug: u8) -> Batch {
        Batch {
            link: Link::new(target, options, debug, false),
            unreachable: None,
            connected: false,
        }
    }

    /// The TLS version of the last session opened, when it had TLS.
    pub fn tls_version(&self) -> Option<String> {
        self.link.carried().tls
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
        if !self.link.is_usable() {
            self.link.close();
        }
        let session = match self.link.usable() {
            Some(open) => open,
            None => match self.link.open(1) {
                Ok(opened) => {
                    self.connected = true;
                    opened
                }
                Err(err) => {
                    self.unreachable = Some((code_for(&err), one_line(&err)));
                    return Err(err);
                }
            },
        };
        if let Some(next) = next {
            session.pipeline_next(next.envelope, next.content, next.policy);
        }
        let sent = session.send(message.envelope, message.content, message.policy, last);
        self.link.say_notices();
        if sent.is_err() {
            self.link.close();
        }
        sent
    }

    /// Ends the session politely, when one is open.
    pub fn finish(mut self) {
        self.link.close();
    }
}
