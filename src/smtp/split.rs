//! One message over as many transactions as the server needs. A 452 "too many recipients"
//! at RCPT (RFC 5321 §4.5.3.1.10) puts those recipients off to further transactions on the
//! same connection; the recipient rule still holds across them.
//!
//! Under `--partial` each transaction sends at once to whom it got, and the rest follow in
//! transactions no larger than the server took. Under all-or-nothing nobody may get the
//! message unless everybody will, so the first transaction is abandoned, every other batch
//! is checked with MAIL, RCPT… and RSET (pipelined in one write), and only then is each
//! batch sent. A pipelined DATA that the server already answered with 354 cannot be taken
//! back except by closing the connection, so in that case the session is opened again.
//! With CHUNKING nothing goes ahead of the RCPT replies under all-or-nothing, so that never
//! happens. Under `--partial` with CHUNKING, QUIT may already follow the data of a batch of
//! up to 100 recipients (the least RFC 5321 lets a server take); when a server takes fewer
//! after all, the rest go on a new connection too.

use crate::base::exit::{Kind, fail};
use crate::message::{Content, Envelope};
use crate::smtp::Session;
use crate::smtp::command::Rset;
use crate::smtp::reply::Expect;
use crate::smtp::transaction::{Delivery, Outcome, Plan, Policy, RecipientResult, Step, transact};
use smtp_proto::EXT_PIPELINING;

/// Sends one message to all its recipients, in one transaction or several.
pub(super) fn run(
    session: &mut Session,
    envelope: &Envelope,
    content: &Content,
    policy: &Policy,
    last: bool,
) -> anyhow::Result<Delivery> {
    // The message announced to follow this one; dropped unless this one's data goes out.
    let announced = session.next_group.take();
    let mut plan = Plan::new(session, envelope, content, policy)?;
    plan.announced = announced;
    let mut results: Vec<RecipientResult> = envelope
        .recipients
        .iter()
        .map(|address| RecipientResult::not_tried(address))
        .collect();
    let everyone: Vec<usize> = (0..results.len()).collect();
    match drive(session, &plan, everyone, &mut results, last) {
        Ok(outcome) => Ok(Delivery {
            recipients: results,
            outcome,
        }),
        Err(err) => Err(lost(err, &results)),
    }
}

/// Transactions until every recipient is settled; `--partial`'s way, and the first
/// transaction of all-or-nothing.
fn drive(
    session: &mut Session,
    plan: &Plan,
    mut pending: Vec<usize>,
    results: &mut [RecipientResult],
    last: bool,
) -> anyhow::Result<Outcome> {
    let mut limit = pending.len();
    let mut last_reply = None;
    loop {
        let rest = pending.split_off(limit.min(pending.len()));
        let batch = std::mem::replace(&mut pending, rest);
        match transact(session, plan, &batch, results, last, pending.is_empty())? {
            Step::Sent { reply, deferred } => {
                last_reply = reply.or(last_reply);
                if deferred.is_empty() && pending.is_empty() {
                    return Ok(Outcome::Sent(last_reply));
                }
                if !deferred.is_empty() {
                    let taken = batch.iter().filter(|&&i| results[i].accepted).count();
                    limit = taken.max(1);
                    session.conn.transcript.event(
                        "split",
                        &format!(
                            "the server took {taken} recipients in this transaction; {} more follow in further ones",
                            deferred.len() + pending.len()
                        ),
                    );
                }
                pending = deferred.into_iter().chain(pending).collect();
                if !session.is_usable() {
                    session.conn.transcript.event(
                        "split",
                        "connecting again: QUIT had already gone out behind the data",
                    );
                    session.reconnect()?;
                }
            }
            Step::Stopped(outcome) => return Ok(outcome),
            Step::Deferred { accepted, deferred } => {
                let rest = deferred.into_iter().chain(pending).collect();
                return check_then_send(session, plan, accepted, rest, results, last);
            }
        }
    }
}

/// All-or-nothing with more recipients than one transaction takes: check every other batch
/// first, then send each. `first` are the ones the server took in the abandoned transaction.
fn check_then_send(
    session: &mut Session,
    plan: &Plan,
    first: Vec<usize>,
    mut queue: Vec<usize>,
    results: &mut [RecipientResult],
    last: bool,
) -> anyhow::Result<Outcome> {
    let mut limit = first.len();
    session.conn.transcript.event(
        "split",
        &format!(
            "the server takes {limit} recipients per transaction; checking the other {} before sending to anyone",
            queue.len()
        ),
    );
    if !session.is_usable() {
        session.conn.transcript.event(
            "split",
            "connecting again: the abandoned transaction had reached DATA",
        );
        session.reconnect()?;
    }
    let mut batches = vec![first];
    while !queue.is_empty() {
        let round: Vec<Vec<usize>> = queue.chunks(limit).map(<[usize]>::to_vec).collect();
        queue.clear();
        for (batch, verdict) in round.iter().zip(check(session, plan, &round, results)?) {
            if let Some(outcome) = verdict {
                return Ok(outcome);
            }
            let (accepted, deferred): (Vec<usize>, Vec<usize>) =
                batch.iter().partition(|&&i| results[i].accepted);
            if accepted.is_empty() {
                return Ok(Outcome::RecipientsRefused);
            }
            if !deferred.is_empty() {
                limit = limit.min(accepted.len());
                queue.extend(deferred);
            }
            batches.push(accepted);
        }
    }
    let count = batches.len();
    let mut last_reply = None;
    for (index, batch) in batches.iter().enumerate() {
        match transact(session, plan, batch, results, last, index + 1 == count)? {
            Step::Sent { reply, .. } => last_reply = reply.or(last_reply),
            Step::Stopped(outcome) => return Ok(outcome),
            Step::Deferred { .. } => return Ok(Outcome::RecipientsRefused),
        }
    }
    Ok(Outcome::Sent(last_reply))
}

/// MAIL, the batch's RCPTs and RSET for each batch, all in one write when the server offers
/// PIPELINING: which recipients each transaction would take, sending nothing. `Some` for a
/// batch that stops the send (a refused MAIL or a refused recipient).
fn check(
    session: &mut Session,
    plan: &Plan,
    round: &[Vec<usize>],
    results: &mut [RecipientResult],
) -> anyhow::Result<Vec<Option<Outcome>>> {
    let timeout = session.options.timeouts.command;
    let rset = Rset.to_string();
    let pipelining = session.offers(EXT_PIPELINING);
    let conn = &mut session.conn;
    if pipelining {
        let mut group = Vec::new();
        for batch in round {
            group.extend_from_slice(plan.mail.as_bytes());
            for &index in batch {
                group.extend_from_slice(plan.rcpts[index].as_bytes());
            }
            group.extend_from_slice(rset.as_bytes());
        }
        conn.send(&group)?;
    }
    let mut verdicts = Vec::with_capacity(round.len());
    for batch in round {
        if !pipelining {
            conn.send(plan.mail.as_bytes())?;
        }
        let mail_reply = conn.read_reply(timeout, "the reply to MAIL FROM", Expect::Completion)?;
        let mut verdict = None;
        if !mail_reply.is_positive() {
            verdict = Some(Outcome::Refused {
                command: "MAIL FROM",
                reply: mail_reply.clone(),
            });
        }
        for &index in batch {
            if !pipelining && verdict.is_some() {
                break;
            }
            if !pipelining {
                conn.send(plan.rcpts[index].as_bytes())?;
            }
            let reply = conn.read_reply(timeout, "the reply to RCPT TO", Expect::Completion)?;
            if verdict.is_none() {
                results[index] = RecipientResult::new(&plan.addresses[index], &reply);
                if !reply.is_positive() && !results[index].too_many {
                    verdict = Some(Outcome::RecipientsRefused);
                }
            }
        }
        if !pipelining {
            conn.send(rset.as_bytes())?;
        }
        conn.read_reply(timeout, "the reply to RSET", Expect::Completion)?;
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

/// An error part-way: when some recipients already have the message, it says who (a retry
/// must leave them out) and counts as "the server may have the message" (never retried).
fn lost(err: anyhow::Error, results: &[RecipientResult]) -> anyhow::Error {
    let delivered: Vec<String> = results
        .iter()
        .filter(|r| r.delivered)
        .map(|r| format!("<{}>", r.address))
        .collect();
    if delivered.is_empty() {
        return err;
    }
    fail(
        Kind::from_code(crate::base::exit::code_for(&err)),
        format!(
            "{}; the message was already delivered to {} (do not send it to them again)",
            crate::base::exit::one_line(&err),
            delivered.join(", ")
        ),
    )
    .context(super::MaybeAccepted)
}
