//! Outbox entries and what becomes of them: claiming (locked, the meta read again under the
//! lock), the loop a send runs after its own message for the entries due on the same route
//! (so that a machine that sends mail now and then needs no flush job), and the record of
//! each attempt, shared with `-q` ([`crate::run::flush`]). Each entry is verified before it
//! is sent, removed only after the server's 250, and has a failure recorded in it otherwise;
//! the next entry's MAIL, RCPT and DATA ride behind the current one's end mark.

use serde::Serialize;

use crate::base::exit::{Kind, code_for, one_line};
use crate::message::{Content, Envelope};
use crate::plan::Settings;
use crate::report;
use crate::run::batch::{Batch, Message, left_for_later, still_to_send};
use crate::run::journal::Attempt;
use crate::run::outbox::{Claim, Claimed, Meta, Queue};
use crate::smtp::Policy;

/// What a flush did with one entry.
#[derive(Debug, Serialize)]
pub struct Flushed {
    pub id: String,
    /// `sent`, `queued` (kept after a temporary failure), `failed` (kept after a permanent
    /// one) or `damaged` (not sent: its meta or message is not what the outbox wrote).
    pub status: &'static str,
    pub exit_code: u8,
    /// The message's Message-ID, when its message could be read.
    pub message_id: Option<String>,
    pub error: Option<String>,
    /// The connection that carried it (numbered from 1 in each group of entries that go to
    /// the same server as the same account), when one did.
    pub connection: Option<usize>,
}

/// Sends the claimed entries in order over `batch` (which the caller finishes); the last one
/// carries QUIT. `first` is the first entry's message when it was read already.
pub fn send_claimed(
    batch: &mut Batch,
    claims: Vec<(Claim, Meta)>,
    first: Option<anyhow::Result<Content>>,
    settings: &Settings,
    results: &mut Vec<Flushed>,
) {
    let count = claims.len();
    let mut loaded_ahead = first;
    let mut claims = claims.into_iter().enumerate().peekable();
    while let Some((index, (claim, meta))) = claims.next() {
        // A signal or the bound on the run stops here; what was not tried stays as it is.
        if crate::base::interrupt::received().is_some() || crate::base::interrupt::expired() {
            break;
        }
        // A message that is not what was queued is never sent, nor its entry changed.
        let content = match loaded_ahead.take().unwrap_or_else(|| claim.content(&meta)) {
            Ok(content) => content,
            Err(err) => {
                results.push(failed(claim.id(), &err));
                continue;
            }
        };
        let policy = policy_of(&meta);
        // The next entry, loaded now so that its commands can ride behind this message.
        let ahead = claims
            .peek()
            .map(|(_, (next, next_meta))| (next.content(next_meta), policy_of(next_meta)));
        let next_envelope = claims.peek().map(|(_, (_, next_meta))| &next_meta.envelope);
        let next = match (&ahead, next_envelope) {
            (Some((Ok(content), policy)), Some(envelope)) => Some(Message {
                envelope,
                content,
                policy,
            }),
            _ => None,
        };
        let message = Message {
            envelope: &meta.envelope,
            content: &content,
            policy: &policy,
        };
        let sent = batch.send(message, next, index + 1 == count);
        loaded_ahead = ahead.map(|(loaded, _)| loaded);
        let (delivery, verdict, remaining) = judged(sent, &meta.envelope, policy.partial);
        Attempt {
            settings,
            envelope: &meta.envelope,
            content: &content,
            delivery: delivery.as_ref(),
            tls: batch.tls_version(),
            verdict: &verdict,
            outbox: Some(claim.id()),
            queued: verdict.as_ref().is_err_and(crate::base::exit::is_temporary),
            retrying: false,
        }
        .log();
        let mut result = match verdict {
            Ok(()) => sent_entry(claim),
            Err(err) => record_for(&claim, &err, Some(remaining)),
        };
        result.message_id = content.message_id();
        results.push(result);
    }
}

/// What a send of an entry came to: the delivery, the verdict, and the envelope still to
/// send (under `--partial`, the recipients refused for now).
pub fn judged(
    sent: anyhow::Result<crate::smtp::Delivery>,
    envelope: &Envelope,
    partial: bool,
) -> (Option<crate::smtp::Delivery>, anyhow::Result<()>, Envelope) {
    match sent {
        Ok(delivery) => {
            let (verdict, remaining) = match report::judge(&delivery, partial) {
                // --partial: sent to some; the ones refused for now stay queued.
                Ok(()) => match left_for_later(envelope, &delivery) {
                    Some((later, err)) => (Err(err), later),
                    None => (Ok(()), envelope.clone()),
                },
                Err(err) => (Err(err), still_to_send(envelope, Some(&delivery))),
            };
            (Some(delivery), verdict, remaining)
        }
        Err(err) => (None, Err(err), envelope.clone()),
    }
}

/// Locks each entry and reads its meta again (and checks it) under the lock; an entry
/// another smtpsend is sending, or that was just removed, is not this run's business.
pub fn claim_all(queue: &Queue, ids: &[String], results: &mut Vec<Flushed>) -> Vec<(Claim, Meta)> {
    let mut claims = Vec::new();
    for id in ids {
        match queue.claim(id) {
            Ok(Claimed::Mine(claim)) => match claim.meta() {
                Ok(meta) => claims.push((claim, meta)),
                Err(err) => results.push(failed(id, &err)),
            },
            Ok(Claimed::Busy | Claimed::Gone) => {}
            Err(err) => results.push(failed(id, &err)),
        }
    }
    claims
}

/// The most entries one send takes along: the program that called sendmail (a web request,
/// a cron job) waits for it to end, so a long backlog is left to `-q` and later sends.
pub const MAX_FOLLOWERS: usize = 100;

/// The entries due on `route` (the stored options of a message being sent, and its
/// account), oldest first, at most [`MAX_FOLLOWERS`], claimed: never tried, or last refused
/// for now (a permanent failure waits for `-q`, or for the user to drop it). `except` is the
/// message's own entry. None when there is no outbox or it cannot be read: the send does
/// not depend on it.
pub fn claim_due(
    queue: &Queue,
    route: &[String],
    account: Option<&str>,
    except: Option<&str>,
) -> Vec<(Claim, Meta)> {
    let Ok(entries) = queue.entries() else {
        return Vec::new();
    };
    let due: Vec<String> = entries
        .into_iter()
        .filter_map(|(id, meta)| {
            let meta = meta.ok()?;
            let same_route = meta.options == route && meta.account.as_deref() == account;
            let due = meta
                .last_exit_code
                .is_none_or(|code| Kind::from_code(code).is_temporary());
            (same_route && due && Some(id.as_str()) != except).then_some(id)
        })
        .take(MAX_FOLLOWERS)
        .collect();
    claim_all(queue, &due, &mut Vec::new())
}

/// The transaction rules a queued message was queued with.
pub fn policy_of(meta: &Meta) -> Policy {
    Policy {
        partial: meta.partial,
        declare_8bitmime: meta.declare_8bitmime,
        dsn: meta.dsn.clone(),
    }
}

pub fn sent_entry(claim: Claim) -> Flushed {
    let id = claim.id().to_string();
    if let Err(err) = claim.remove() {
        crate::say!(
            "smtpsend: warning: {id} was sent, but {}; drop it with --drop-queue {id} or the \
             next flush sends it again",
            one_line(&err)
        );
    }
    Flushed {
        id,
        status: "sent",
        exit_code: 0,
        message_id: None,
        error: None,
        connection: None,
    }
}

/// Records a failed attempt in the entry, which stays queued.
pub fn record(claim: &Claim, err: &anyhow::Error) -> Flushed {
    record_for(claim, err, None)
}

/// Records a failed attempt; `remaining`, when given, is the envelope still to send (the
/// recipients that did not get the message yet).
pub fn record_for(claim: &Claim, err: &anyhow::Error, remaining: Option<Envelope>) -> Flushed {
    match claim.meta() {
        Ok(mut meta) => {
            if let Some(remaining) = remaining {
                meta.envelope = remaining;
            }
            meta.record_failure(err);
            if let Err(update_err) = claim.update(&meta) {
                crate::say!("smtpsend: warning: {}", one_line(&update_err));
            }
        }
        Err(meta_err) => crate::say!("smtpsend: warning: {}", one_line(&meta_err)),
    }
    failed(claim.id(), err)
}

/// The result of an entry that was not sent.
pub fn failed(id: &str, err: &anyhow::Error) -> Flushed {
    let exit_code = code_for(err);
    Flushed {
        id: id.to_string(),
        status: if crate::run::outbox::is_damaged(err) {
            "damaged"
        } else if Kind::from_code(exit_code).is_temporary() {
            "queued"
        } else {
            "failed"
        },
        exit_code,
        message_id: None,
        error: Some(crate::report::errors::error_line(err)),
        connection: None,
    }
}
