//! What the user sees after a send: the exit decision, stderr notes and `--json`.

use serde::Serialize;

use crate::exit::{Kind, fail};
use crate::message::Envelope;
use crate::smtp::reply::Reply;
use crate::smtp::{Delivery, Outcome, RecipientResult};

/// A server reply as shown in `--json`.
#[derive(Debug, Serialize)]
pub struct ReplySummary {
    pub code: u16,
    pub enhanced_code: Option<String>,
    pub text: String,
}

impl From<&Reply> for ReplySummary {
    fn from(reply: &Reply) -> Self {
        ReplySummary {
            code: reply.code,
            enhanced_code: reply.enhanced_code(),
            text: reply.text(),
        }
    }
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    pub status: &'a str,
    pub exit_code: u8,
    pub envelope: &'a Envelope,
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
        if let Ok(text) = serde_json::to_string_pretty(self) {
            crate::output::print_stdout(format!("{text}\n").as_bytes());
        }
    }
}

/// Turns a delivery into success or the error that decides the exit code, printing a
/// note on stderr for every recipient refused under `--partial`.
pub fn judge(delivery: &Delivery) -> anyhow::Result<()> {
    match &delivery.outcome {
        Outcome::Sent(_) => {
            for refused in delivery.refused() {
                eprintln!(
                    "smtpsend: recipient <{}> refused, sent to the others: {} {}",
                    refused.address, refused.code, refused.text
                );
            }
            Ok(())
        }
        Outcome::RecipientsRefused => {
            let refused: Vec<&RecipientResult> = delivery.refused().collect();
            let kind = if refused.iter().any(|r| r.code >= 500) {
                Kind::RecipientRefused
            } else {
                Kind::TempFail
            };
            let names: Vec<String> = refused
                .iter()
                .map(|r| format!("<{}> ({} {})", r.address, r.code, r.text))
                .collect();
            Err(fail(
                kind,
                format!(
                    "nothing sent: the server refused {} of {} recipients: {}",
                    refused.len(),
                    delivery.recipients.len(),
                    names.join(", ")
                ),
            ))
        }
        Outcome::Refused { command, reply } => Err(crate::smtp::refusal(reply, command)),
    }
}

/// The status word for `--json`.
pub fn status(delivery: &Delivery) -> &'static str {
    match delivery.outcome {
        Outcome::Sent(_) if delivery.refused().next().is_some() => "partial",
        Outcome::Sent(_) => "sent",
        _ => "failed",
    }
}

/// The final reply shown in `--json`.
pub fn final_reply(delivery: &Delivery) -> Option<ReplySummary> {
    match &delivery.outcome {
        Outcome::Sent(reply) | Outcome::Refused { reply, .. } => Some(reply.into()),
        Outcome::RecipientsRefused => None,
    }
}
