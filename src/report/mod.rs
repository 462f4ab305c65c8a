//! What the user sees after a send: the exit decision, stderr notes and `--json`.

pub mod dry_run;
pub mod errors;
pub mod log;
pub mod progress;
pub mod server_info;
pub mod syslog;

use serde::Serialize;

use crate::base::exit::{Kind, fail};
use crate::message::Envelope;
pub use crate::smtp::reply::ReplySummary;
use crate::smtp::{Delivery, Outcome, RecipientResult};

/// Where the `-d` transcript goes: stderr, through the scrubber.
pub fn transcript_line(line: &str) {
    crate::base::output::print_transcript_line(line);
}

/// Wraps an error whose JSON report was already printed, so that no second document is.
#[derive(Debug)]
pub struct JsonPrinted(pub anyhow::Error);

impl std::fmt::Display for JsonPrinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for JsonPrinted {}

/// Ends a run: says what went wrong on stderr (and, with `json`, prints the JSON document
/// of a failure that printed none yet) and returns the exit code, 0 when all went well.
pub fn conclude(result: anyhow::Result<()>, json: bool) -> u8 {
    let Err(err) = result else { return 0 };
    let err = match err.downcast::<JsonPrinted>() {
        Ok(printed) => printed.0,
        Err(err) => {
            if json {
                crate::base::output::print_json(&serde_json::json!({
                    "status": "failed",
                    "exit_code": crate::base::exit::code_for(&err),
                    "error": errors::error_line(&err),
                }));
            }
            err
        }
    };
    crate::say!("smtpsend: {}", errors::error_line(&err));
    crate::base::exit::code_for(&err)
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    pub status: &'a str,
    pub exit_code: u8,
    pub envelope: &'a Envelope,
    /// The message's Message-ID (`<id@host>`), as its header gives it.
    pub message_id: Option<String>,
    pub size: u64,
    pub recipients: &'a [RecipientResult],
    pub reply: Option<ReplySummary>,
    pub error: Option<String>,
    /// The outbox id when the message was queued instead of sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_as: Option<String>,
}

impl JsonReport<'_> {
    pub fn print(&self) {
        crate::base::output::print_json(self);
    }
}

/// Turns a delivery into success or the error that decides the exit code. Under `partial`,
/// a note on stderr names each recipient the message did not reach, and reaching one is
/// success; otherwise every recipient must have it (LMTP answers for each one after the data).
pub fn judge(delivery: &Delivery, partial: bool) -> anyhow::Result<()> {
    match &delivery.outcome {
        Outcome::Sent(_) => {
            let undelivered: Vec<&RecipientResult> = delivery.undelivered().collect();
            if undelivered.is_empty() {
                return Ok(());
            }
            let delivered = delivery.delivered_count();
            if partial && delivered > 0 {
                for recipient in undelivered {
                    let what = if recipient.accepted {
                        "not delivered, delivered to the others"
                    } else {
                        "refused, sent to the others"
                    };
                    crate::say!(
                        "smtpsend: recipient <{}> {what}: {}",
                        recipient.address,
                        recipient.deciding_reply()
                    );
                }
                return Ok(());
            }
            let total = delivery.recipients.len();
            let named = names(&undelivered);
            let text = if delivered == 0 {
                format!("the message reached none of the {total} recipients: {named}")
            } else {
                let reached: Vec<String> = delivery
                    .recipients
                    .iter()
                    .filter(|r| r.delivered)
                    .map(|r| format!("<{}>", r.address))
                    .collect();
                format!(
                    "delivered to {delivered} of {total} recipients ({}); not to {named}",
                    reached.join(", ")
                )
            };
            Err(fail(kind_for(&undelivered), text))
        }
        Outcome::RecipientsRefused => {
            let refused = delivery.refused();
            let others = refused.len() < delivery.recipients.len();
            let what = match (delivery.delivered_count(), others && !partial) {
                (0, true) => "nothing sent (all or nothing: --partial sends to the others)",
                (0, false) => "nothing sent",
                _ => "stopped",
            };
            let err = fail(
                kind_for(&refused),
                format!(
                    "{what}: the server refused {} of {} recipients: {}",
                    refused.len(),
                    delivery.recipients.len(),
                    names(&refused)
                ),
            );
            Err(already_delivered(delivery, err))
        }
        Outcome::Refused { command, reply } => Err(already_delivered(
            delivery,
            crate::smtp::refusal(reply, command),
        )),
    }
}

/// After a split (several transactions), a stop part-way leaves some recipients with the
/// message: the error names them so that a retry leaves them out.
fn already_delivered(delivery: &Delivery, err: anyhow::Error) -> anyhow::Error {
    let reached: Vec<String> = delivery
        .recipients
        .iter()
        .filter(|r| r.delivered)
        .map(|r| format!("<{}>", r.address))
        .collect();
    if reached.is_empty() {
        return err;
    }
    fail(
        Kind::from_code(crate::base::exit::code_for(&err)),
        format!(
            "{}; earlier transactions already delivered the message to {} of {} recipients ({}): do not send it to them again",
            crate::base::exit::one_line(&err),
            reached.len(),
            delivery.recipients.len(),
            reached.join(", ")
        ),
    )
}

/// 67 when any of them was refused permanently, else 75 (all temporary: retry later).
fn kind_for(recipients: &[&RecipientResult]) -> Kind {
    if recipients.iter().any(|r| r.deciding_code() >= 500) {
        Kind::RecipientRefused
    } else {
        Kind::TempFail
    }
}

/// `<a@x> (550 5.1.1 no such user), <b@x> (…)`.
pub fn names(recipients: &[&RecipientResult]) -> String {
    recipients
        .iter()
        .map(|r| format!("<{}> ({})", r.address, r.deciding_reply()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when a refusal in the delivery is about the sender rather than a recipient: MAIL
/// FROM refused, or a refusal whose enhanced status is X.1.7 or X.1.8 (RFC 3463: a bad
/// sender address or sender's system), or whose text speaks of the sender (Postfix refuses
/// senders at RCPT: `Sender address rejected`) or names it.
pub fn refusal_concerns_sender(delivery: &Delivery, sender: &str) -> bool {
    let about_sender = |code: u16, enhanced: Option<&str>, text: &str| {
        let lower = text.to_ascii_lowercase();
        code >= 400
            && (enhanced.is_some_and(|e| e.ends_with(".1.7") || e.ends_with(".1.8"))
                || lower.contains("sender")
                || (!sender.is_empty() && lower.contains(&sender.to_ascii_lowercase())))
    };
    if let Outcome::Refused { command, reply } = &delivery.outcome {
        if *command == "MAIL FROM" {
            return true;
        }
        let summary = ReplySummary::from(reply);
        if about_sender(
            summary.code,
            summary.enhanced_code.as_deref(),
            &summary.text,
        ) {
            return true;
        }
    }
    delivery
        .undelivered()
        .any(|recipient| match &recipient.delivery {
            Some(reply) => about_sender(reply.code, reply.enhanced_code.as_deref(), &reply.text),
            None => about_sender(
                recipient.code,
                recipient.enhanced_code.as_deref(),
                &recipient.text,
            ),
        })
}

/// The verdict on a delivery, with [`with_made_up_sender`]'s note when it is a refusal that
/// concerns `made_up`, a sender made from the login and host name.
pub fn noting_made_up_sender(
    verdict: anyhow::Result<()>,
    made_up: Option<&str>,
    delivery: Option<&Delivery>,
) -> anyhow::Result<()> {
    match (verdict, made_up, delivery) {
        (Err(err), Some(sender), Some(delivery)) if refusal_concerns_sender(delivery, sender) => {
            Err(with_made_up_sender(err, sender))
        }
        (verdict, _, _) => verdict,
    }
}

/// The error of a refusal that concerns a sender made from the login and host name, saying
/// so: the user did not choose it and may not know where it came from.
pub fn with_made_up_sender(err: anyhow::Error, sender: &str) -> anyhow::Error {
    fail(
        Kind::from_code(crate::base::exit::code_for(&err)),
        format!(
            "{}; sender {sender} was made from the login and host name; set from = … in the \
             configuration (for every user: from = \"%U@your.domain\" in the system file) \
             or give --from",
            errors::error_line(&err)
        ),
    )
}

/// The status word for `--json`.
pub fn status(delivery: &Delivery) -> &'static str {
    match delivery.outcome {
        Outcome::Sent(_) if delivery.undelivered().next().is_none() => "sent",
        Outcome::Sent(_) if delivery.delivered_count() > 0 => "partial",
        _ => "failed",
    }
}

/// The final reply shown in `--json` (none under LMTP: each recipient has its own).
pub fn final_reply(delivery: &Delivery) -> Option<ReplySummary> {
    match &delivery.outcome {
        Outcome::Sent(reply) => reply.as_ref().map(Into::into),
        Outcome::Refused { reply, .. } => Some(reply.into()),
        Outcome::RecipientsRefused => None,
    }
}
