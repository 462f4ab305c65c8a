//! `-q`/`--flush-queue`: delivers what the outbox holds. A damaged entry (see
//! [`crate::run::outbox`]) is never sent: a flush names it (65) and leaves it as it is.

use serde::Serialize;

use crate::base::exit::{Kind, code_for, one_line};
use crate::message::{Content, Envelope};
use crate::plan::{Flush, Output};
use crate::report;
use crate::run::batch::{Batch, Message, failures};
use crate::run::deliver::{left_for_later, still_to_send};
use crate::run::outbox::{Claim, Claimed, Meta, Outbox, Queue};
use crate::smtp::Policy;
use crate::smtp::stream::Target;

/// What a flush did with one entry.
#[derive(Debug, Serialize)]
struct Flushed {
    id: String,
    /// `sent`, `queued` (kept after a temporary failure), `failed` (kept after a permanent
    /// one) or `damaged` (not sent: its meta or message is not what the outbox wrote).
    status: &'static str,
    exit_code: u8,
    /// The message's Message-ID, when its message could be read.
    message_id: Option<String>,
    error: Option<String>,
}

/// Delivers every queued message, one session per server and account, oldest first. An
/// entry is removed only after the server accepted it; a failure is recorded in it.
pub fn flush(plan: Flush) -> anyhow::Result<()> {
    let Some(queue) = Outbox::locate()?.open()? else {
        return finish(plan.output, Vec::new());
    };
    let _lock = queue.lock_flush()?;
    queue.remove_leftovers();
    let mut results = Vec::new();
    // Entries with the same stored options go to the same server as the same account.
    let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (id, meta) in queue.entries()? {
        match meta {
            Ok(meta) => match groups
                .iter_mut()
                .find(|(options, _)| *options == meta.options)
            {
                Some((_, ids)) => ids.push(id),
                None => groups.push((meta.options, vec![id])),
            },
            Err(err) => results.push(failed(&id, &err)),
        }
    }
    for (options, ids) in groups {
        flush_group(&plan, &queue, &options, &ids, &mut results);
    }
    finish(plan.output, results)
}

/// Sends the entries of one group over one session (reopened only when it was lost).
fn flush_group(
    plan: &Flush,
    queue: &Queue,
    options: &[String],
    ids: &[String],
    results: &mut Vec<Flushed>,
) {
    let claims = claim_all(queue, ids, results);
    let Some((_, first)) = claims.first() else {
        return;
    };
    let (target, session_options) = match session_for(plan, options, first) {
        Ok(settings) => settings,
        Err(err) => {
            for (claim, _) in &claims {
                results.push(record(claim, &err));
            }
            return;
        }
    };
    let count = claims.len();
    let mut batch = Batch::new(target, session_options, plan.output.debug);
    // The entry after the current one, loaded (and checked) early so that its MAIL, RCPT
    // and DATA can be pipelined behind the current one's end mark.
    let mut loaded_ahead: Option<anyhow::Result<Content>> = None;
    let mut claims = claims.into_iter().enumerate().peekable();
    while let Some((index, (claim, meta))) = claims.next() {
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
        let (verdict, remaining) = match sent {
            Ok(delivery) => match report::judge(&delivery, policy.partial) {
                // --partial: sent to some; the ones refused for now stay queued.
                Ok(()) => match left_for_later(&meta.envelope, &delivery) {
                    Some((later, err)) => (Err(err), later),
                    None => (Ok(()), meta.envelope.clone()),
                },
                Err(err) => (Err(err), still_to_send(&meta.envelope, Some(&delivery))),
            },
            Err(err) => (Err(err), meta.envelope.clone()),
        };
        let mut result = match verdict {
            Ok(()) => sent_entry(claim),
            Err(err) => record_for(&claim, &err, Some(remaining)),
        };
        result.message_id = content.message_id();
        results.push(result);
    }
    batch.finish();
}

/// Where a group's session goes and how: its stored options resolved now (the password
/// read once for the whole group).
fn session_for(
    plan: &Flush,
    options: &[String],
    first: &Meta,
) -> anyhow::Result<(Target, crate::smtp::Options)> {
    let settings = plan.stored.resolve(options, &first.envelope.from)?;
    let session_options = settings.session_options()?;
    Ok((settings.target, session_options))
}

/// Locks each entry and reads its meta again (and checks it) under the lock; an entry
/// another smtpsend is sending, or that was just removed, is not this flush's business.
fn claim_all(queue: &Queue, ids: &[String], results: &mut Vec<Flushed>) -> Vec<(Claim, Meta)> {
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

/// The transaction rules a queued message was queued with.
fn policy_of(meta: &Meta) -> Policy {
    Policy {
        partial: meta.partial,
        declare_8bitmime: meta.declare_8bitmime,
        dsn: meta.dsn.clone(),
    }
}

fn sent_entry(claim: Claim) -> Flushed {
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
    }
}

/// Records a failed attempt in the entry, which stays queued.
fn record(claim: &Claim, err: &anyhow::Error) -> Flushed {
    record_for(claim, err, None)
}

/// Records a failed attempt; `remaining`, when given, is the envelope still to send (the
/// recipients that did not get the message yet).
fn record_for(claim: &Claim, err: &anyhow::Error, remaining: Option<Envelope>) -> Flushed {
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

fn failed(id: &str, err: &anyhow::Error) -> Flushed {
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
    }
}

/// Names every entry not sent on stderr (or prints them all with `--json`); the exit code
/// is that of the first failure.
fn finish(output: Output, results: Vec<Flushed>) -> anyhow::Result<()> {
    if output.json {
        crate::base::output::print_json(&results);
    }
    let unsent: Vec<&Flushed> = results.iter().filter(|r| r.status != "sent").collect();
    if !output.json {
        for failure in &unsent {
            let what = match failure.status {
                "queued" => "still queued".to_string(),
                "damaged" => format!(
                    "not sent, kept in the outbox as it is (drop it with --drop-queue {})",
                    failure.id
                ),
                _ => "not sent, kept in the outbox (drop it with --drop-queue)".to_string(),
            };
            crate::say!(
                "smtpsend: {}: {what}: {}",
                failure.id,
                failure.error.as_deref().unwrap_or_default()
            );
        }
    }
    let codes: Vec<u8> = unsent.iter().map(|failure| failure.exit_code).collect();
    let named = match output.json {
        true => "see the JSON report",
        false => "each named above",
    };
    let Some(err) = failures(&codes, results.len(), "queued messages", named) else {
        return Ok(());
    };
    if output.json {
        return Err(anyhow::Error::new(crate::report::JsonPrinted(err)));
    }
    Err(err)
}
