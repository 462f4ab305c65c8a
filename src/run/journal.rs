//! The log line of an attempt (see [`crate::report::log`]), made from what the run knows:
//! the settings it was sent with, the session, the message, what the server said, and what
//! became of it.

use crate::message::{Content, Envelope};
use crate::plan::Settings;
use crate::report::log::{self, Entry};
use crate::smtp::{Delivery, Outcome};

/// One attempt at one message.
pub struct Attempt<'a> {
    pub settings: &'a Settings,
    pub envelope: &'a Envelope,
    pub content: &'a Content,
    pub delivery: Option<&'a Delivery>,
    /// The TLS version of the session, when it had TLS.
    pub tls: Option<String>,
    pub verdict: &'a anyhow::Result<()>,
    /// The outbox entry (the message was queued, or is being sent from the outbox).
    pub outbox: Option<&'a str>,
    /// Set when the message was queued after this attempt (or stays queued).
    pub queued: bool,
    /// Set when the message is tried again at once (`--retries`).
    pub retrying: bool,
}

impl Attempt<'_> {
    /// Writes the line to the settings' log file and system log, when there are any.
    pub fn log(&self) {
        let logs = &self.settings.mail.logs;
        if !logs.enabled() {
            return;
        }
        let (result, exit_code) = match self.verdict {
            Err(err) if self.retrying => ("deferred", crate::base::exit::code_for(err)),
            Err(err) if self.queued => ("queued", crate::base::exit::code_for(err)),
            Err(err) => ("failed", crate::base::exit::code_for(err)),
            Ok(()) if self.queued => ("queued", 0),
            Ok(()) => match self.delivery {
                Some(delivery) => (crate::report::status(delivery), 0),
                None => ("sent", 0),
            },
        };
        let queue_id = match self.delivery.map(|d| &d.outcome) {
            Some(Outcome::Sent(Some(reply))) => log::queue_id(&reply.text()),
            _ => None,
        };
        logs.write(&Entry {
            result,
            exit_code,
            account: self.settings.account.as_deref(),
            server: self.settings.target.to_string(),
            tls: self.tls.clone(),
            user: self
                .settings
                .login
                .as_ref()
                .map(|login| login.user.as_str()),
            envelope: Some(self.envelope),
            recipients: self.delivery.map_or(&[], |d| d.recipients.as_slice()),
            size: self.content.len(),
            message_id: log::message_id(self.content.header_block()),
            queue_id,
            outbox: self.outbox,
            error: self
                .verdict
                .as_ref()
                .err()
                .map(crate::report::errors::error_line),
        });
    }
}
