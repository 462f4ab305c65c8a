//! A window of messages on one connection. With PIPELINING and CHUNKING a message needs no
//! reply before its data (no 354, RFC 3030), so the whole transaction of the next messages —
//! MAIL, RCPT, `BDAT n LAST` and the data — can be written while the replies for the
//! earlier ones are still on their way (RFC 2920 §3.1, RFC 3030 §4.2): several messages per
//! round trip instead of one. The caller bounds the window (how many messages are written
//! and not yet answered) and reads the replies back in the order the messages went.
//!
//! Which messages may go in a window: those whose refusal cannot break the recipient rule
//! once their data is out — one recipient (the server refuses BDAT when it refused the
//! recipient), or `--partial` with at most 100 (the least RFC 5321 §4.5.3.1.8 lets a server
//! take, so none is put off to another transaction) — and whose content is in memory and at
//! most [`WINDOW_MESSAGE_LIMIT`] bytes, so that it cannot change or fail half-way and a
//! window stays small. Every message after the first goes behind an RSET, so that a
//! transaction the server left open after a refusal never takes in the next message.
//!
//! What a failure costs: a refusal costs its own message only. A connection lost in the
//! middle of a window leaves every message written and not answered in doubt: its data went
//! whole, so the server may have it (RFC 1047), and it is never sent again at once.

use crate::base::exit::{Kind, fail};
use crate::message::{Content, Envelope};
use crate::smtp::transaction::{
    Delivery, Outcome, Plan, Policy, RecipientResult, Step, Written, hold_message, read_ahead,
};
use crate::smtp::{MaybeAccepted, Session};

/// The largest message that goes in a window; a larger one goes by itself.
pub const WINDOW_MESSAGE_LIMIT: u64 = 1024 * 1024;

/// RFC 5321 §4.5.3.1.8: the fewest recipients a server must take in one transaction.
const MIN_RECIPIENT_LIMIT: usize = 100;

/// A message written whole whose replies are still to be read.
pub struct InFlight {
    /// The recipients as they were sent (A-labels for a server without SMTPUTF8).
    addresses: Vec<String>,
    written: Written,
}

impl Session {
    /// True when this message can be written ahead of the replies to the earlier ones (see
    /// the module's documentation): PIPELINING and CHUNKING offered, the login done, and a
    /// message the window takes.
    pub fn can_window(&self, envelope: &Envelope, content: &Content, policy: &Policy) -> bool {
        let recipients = envelope.recipients.len();
        self.is_usable()
            && self.pending_login.is_none()
            && self.sent_ahead.is_none()
            && self.offers(smtp_proto::EXT_PIPELINING)
            && self.chunking()
            && content.as_bytes().is_some()
            && content.len() <= WINDOW_MESSAGE_LIMIT
            && (recipients == 1 || (policy.partial && recipients <= MIN_RECIPIENT_LIMIT))
    }

    /// Writes the message's whole transaction ahead of its replies; with `last`, QUIT goes
    /// behind it. What is written leaves with the next message or when a reply is waited
    /// for. A message this server cannot take as it is (see [`Session::send`]) fails here,
    /// with nothing written.
    pub fn write_ahead(
        &mut self,
        envelope: &Envelope,
        content: &Content,
        policy: &Policy,
        last: bool,
    ) -> anyhow::Result<InFlight> {
        if !self.is_usable() {
            return Err(fail(Kind::Software, "the session was abandoned"));
        }
        let (envelope, content) = self.for_this_server(envelope, content)?;
        let plan = Plan::new(self, &envelope, &content, policy)?;
        let everyone: Vec<usize> = (0..envelope.recipients.len()).collect();
        if self.in_flight == 0 {
            self.conn.check_nothing_unasked()?;
        }
        let reset_first = self.in_flight > 0 || self.dirty;
        let written = hold_message(self, &plan, &everyone, reset_first, last)?;
        self.in_flight += 1;
        self.dirty = false;
        self.quit_sent |= last;
        Ok(InFlight {
            addresses: envelope.recipients.clone(),
            written,
        })
    }

    /// Reads the replies to the oldest message written ahead (messages must be read back in
    /// the order they were written). Recipients a server put off as "too many" (against RFC
    /// 5321's minimum of 100) are not delivered, with their 452.
    pub fn read_back(&mut self, message: InFlight) -> anyhow::Result<Delivery> {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.broken {
            return Err(fail(
                Kind::TempFail,
                "the connection failed before the server answered this message",
            )
            .context(MaybeAccepted));
        }
        let mut results: Vec<RecipientResult> = message
            .addresses
            .iter()
            .map(|address| RecipientResult::not_tried(address))
            .collect();
        let everyone: Vec<usize> = (0..results.len()).collect();
        let step = read_ahead(
            self,
            &everyone,
            &message.addresses,
            &mut results,
            &message.written,
        )
        .inspect_err(|_| self.broken = true)?;
        let outcome = match step {
            Step::Sent { reply, .. } => Outcome::Sent(reply),
            Step::Stopped(outcome) => {
                self.dirty = true;
                outcome
            }
            Step::Deferred { .. } => Outcome::RecipientsRefused,
        };
        Ok(Delivery {
            recipients: results,
            outcome,
        })
    }

    /// Messages written ahead whose replies are not read yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// True when reply bytes have already arrived: reading the next message's replies will
    /// not wait for the server.
    pub fn replies_arrived(&self) -> bool {
        self.conn.has_buffered_input()
    }
}
