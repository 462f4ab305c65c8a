//! What the server said about a message: the rules it was sent under, each recipient's replies, how the transaction ended.

use super::*;

/// How to run a transaction: the recipient rule and what to declare about the body.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Send when at least one recipient is accepted (smtplib's rule).
    pub partial: bool,
    /// Declare BODY=8BITMIME when the server offers it even if the data is 7-bit
    /// (sendmail's -B 8BITMIME); 8-bit data always declares it.
    pub declare_8bitmime: bool,
    /// Delivery status notifications asked for (-N, -R, -V); sent when the server offers DSN.
    pub dsn: Dsn,
}

/// The server's answer for one recipient.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientResult {
    pub address: String,
    /// The reply to RCPT TO.
    pub code: u16,
    pub enhanced_code: Option<String>,
    /// What the enhanced code means (RFC 3463), e.g. "bad destination mailbox address".
    pub enhanced_meaning: Option<&'static str>,
    pub text: String,
    pub accepted: bool,
    /// The reply after the data that settled this recipient: LMTP gives one per recipient,
    /// SMTP one per transaction. `None` when the data never went to this recipient.
    pub delivery: Option<ReplySummary>,
    /// The server took the message for this recipient.
    pub delivered: bool,
    /// The RCPT reply said "too many recipients": try again in another transaction.
    #[serde(skip)]
    pub too_many: bool,
}

impl RecipientResult {
    pub(in crate::smtp) fn new(address: &str, reply: &Reply) -> RecipientResult {
        RecipientResult {
            address: address.to_string(),
            code: reply.code,
            enhanced_code: reply.enhanced_code(),
            enhanced_meaning: reply.enhanced_meaning(),
            text: reply.text(),
            accepted: reply.is_positive(),
            delivery: None,
            delivered: false,
            too_many: too_many_recipients(reply),
        }
    }

    /// A recipient the send never reached: an earlier refusal stopped it.
    pub(in crate::smtp) fn not_tried(address: &str) -> RecipientResult {
        RecipientResult {
            address: address.to_string(),
            code: 0,
            enhanced_code: None,
            enhanced_meaning: None,
            text: "not tried: the send stopped before this recipient".to_string(),
            accepted: false,
            delivery: None,
            delivered: false,
            too_many: false,
        }
    }

    /// Records the reply after the data for this (accepted) recipient.
    pub(in crate::smtp) fn settle(&mut self, reply: &Reply) {
        self.delivery = Some(reply.into());
        self.delivered = reply.is_positive();
    }

    /// The reply that decided this recipient's fate: after the data when there was one,
    /// else the one to RCPT.
    pub fn deciding_code(&self) -> u16 {
        self.delivery.as_ref().map_or(self.code, |reply| reply.code)
    }

    /// `code text` of the deciding reply, for messages.
    pub fn deciding_reply(&self) -> String {
        match &self.delivery {
            Some(reply) => format!("{} {}", reply.code, reply.text),
            None if self.code == 0 => self.text.clone(),
            None => format!("{} {}", self.code, self.text),
        }
    }
}

/// How the transaction ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The data went out and the server answered it. SMTP: its reply after the data;
    /// LMTP: `None`, each recipient's [`RecipientResult::delivery`] holds its own.
    Sent(Option<Reply>),
    /// Some recipients were refused and the rule said not to send; nothing was sent.
    RecipientsRefused,
    /// The server refused a command (MAIL, DATA, or the data itself).
    Refused { command: &'static str, reply: Reply },
}

/// Everything the server said about one message.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub recipients: Vec<RecipientResult>,
    pub outcome: Outcome,
}

impl Delivery {
    /// Recipients refused at RCPT. When some were refused outright, those only; the ones
    /// put off as "too many recipients" or never tried are named only when nobody else is.
    pub fn refused(&self) -> Vec<&RecipientResult> {
        let not_accepted = self.recipients.iter().filter(|r| !r.accepted);
        let outright: Vec<&RecipientResult> = not_accepted
            .clone()
            .filter(|r| !r.too_many && r.code != 0)
            .collect();
        if outright.is_empty() {
            not_accepted.collect()
        } else {
            outright
        }
    }

    /// Recipients the message did not reach (refused at RCPT or after the data).
    pub fn undelivered(&self) -> impl Iterator<Item = &RecipientResult> {
        self.recipients.iter().filter(|r| !r.delivered)
    }

    pub fn delivered_count(&self) -> usize {
        self.recipients.iter().filter(|r| r.delivered).count()
    }
}
