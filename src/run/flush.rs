//! `-q`/`--flush-queue`: delivers what the outbox holds. A damaged entry (see
//! [`crate::run::outbox`]) is never sent: a flush names it (65) and leaves it as it is.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::base::exit::{Kind, code_for, one_line};
use crate::message::{Content, Envelope};
use crate::plan::{Flush, Output};
use crate::report;
use crate::run::batch::{Jobs, Message, Route, failures};
use crate::run::deliver::{left_for_later, still_to_send};
use crate::run::outbox::{Claim, Claimed, Meta, Outbox, Queue};
use crate::smtp::{Delivery, Policy};

/// What a flush did with one entry.
#[derive(Debug, Serialize)]
struct Flushed {
    id: String,
    /// `sent`, `queued` (kept after a temporary failure), `failed` (kept after a permanent
    /// one) or `damaged` (not sent: its meta or message is not what the outbox wrote).
    status: &'static str,
    exit_code: u8,
    error: Option<String>,
    /// The connection that carried it (numbered from 1 in each group of entries that go to
    /// the same server as the same account), when one did.
    connection: Option<usize>,
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

/// Sends the entries of one group over `--parallel` sessions (each reopened only when it
/// was lost). Each entry is claimed (locked, its meta read again and checked, its message
/// verified) only when a connection is ready to send it, so that at most the connections'
/// windows are held at once.
fn flush_group(
    plan: &Flush,
    queue: &Queue,
    options: &[String],
    ids: &[String],
    results: &mut Vec<Flushed>,
) {
    let jobs = FlushJobs {
        queue,
        ids,
        next: AtomicUsize::new(0),
        first: Mutex::new(None),
        results: Mutex::new(Vec::new()),
    };
    // The group's settings come with its first entry (the password read once for it).
    if let Some(first) = jobs.claim_next() {
        match session_for(plan, options, &first.meta) {
            Ok((settings, session_options)) => {
                *lock(&jobs.first) = Some(first);
                let route = Route {
                    target: &settings.target,
                    options: &session_options,
                    debug: plan.output.debug,
                    spread: settings.spread,
                };
                crate::run::batch::run(&route, &jobs);
            }
            Err(err) => {
                let mut left = vec![first];
                left.extend(std::iter::from_fn(|| jobs.claim_next()));
                for job in left {
                    lock(&jobs.results).push((job.order, record(&job.claim, &err)));
                }
            }
        }
    }
    let mut done = jobs.results.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(order, _)| *order);
    results.extend(done.into_iter().map(|(_, flushed)| flushed));
}

/// An entry claimed for sending: its lock, meta, verified message and rules.
struct Job {
    /// Its place among the group's entries, for the report.
    order: usize,
    claim: Claim,
    meta: Meta,
    content: Content,
    policy: Policy,
}

/// A group's entries, claimed one at a time as connections ask for them.
struct FlushJobs<'a> {
    queue: &'a Queue,
    ids: &'a [String],
    next: AtomicUsize,
    /// The entry claimed to resolve the group's settings, sent first.
    first: Mutex<Option<Job>>,
    results: Mutex<Vec<(usize, Flushed)>>,
}

impl FlushJobs<'_> {
    /// Claims the next entry this process may send: locked, its meta read again under the
    /// lock and checked, its message verified. An entry another smtpsend is sending, or that
    /// was just removed, is not this flush's business; a damaged one is reported, never sent.
    fn claim_next(&self) -> Option<Job> {
        loop {
            let order = self.next.fetch_add(1, Ordering::SeqCst);
            let id = self.ids.get(order)?;
            let claimed = self.queue.claim(id).and_then(|claimed| match claimed {
                Claimed::Mine(claim) => {
                    let meta = claim.meta()?;
                    let content = claim.content(&meta)?;
                    Ok(Some((claim, meta, content)))
                }
                Claimed::Busy | Claimed::Gone => Ok(None),
            });
            match claimed {
                Ok(Some((claim, meta, content))) => {
                    let policy = policy_of(&meta);
                    return Some(Job {
                        order,
                        claim,
                        meta,
                        content,
                        policy,
                    });
                }
                Ok(None) => {}
                Err(err) => lock(&self.results).push((order, failed(id, &err))),
            }
        }
    }
}

impl Jobs for FlushJobs<'_> {
    type Job = Job;

    fn next(&self) -> Option<Job> {
        lock(&self.first).take().or_else(|| self.claim_next())
    }

    fn message<'a>(&'a self, job: &'a Job) -> Message<'a> {
        Message {
            envelope: &job.meta.envelope,
            content: &job.content,
            policy: &job.policy,
        }
    }

    /// Removes a sent entry; records a failed attempt in the entry, which stays queued,
    /// with the recipients still to send (under `--partial`, those refused for now).
    fn done(&self, job: Job, sent: anyhow::Result<Delivery>, connection: Option<usize>) {
        let (meta, policy) = (&job.meta, &job.policy);
        let (verdict, remaining) = match sent {
            Ok(delivery) => match report::judge(&delivery, policy.partial) {
                Ok(()) => match left_for_later(&meta.envelope, &delivery) {
                    Some((later, err)) => (Err(err), later),
                    None => (Ok(()), meta.envelope.clone()),
                },
                Err(err) => (Err(err), still_to_send(&meta.envelope, Some(&delivery))),
            },
            Err(err) => (Err(err), meta.envelope.clone()),
        };
        let mut flushed = match verdict {
            Ok(()) => sent_entry(job.claim),
            Err(err) => record_for(&job.claim, &err, Some(remaining)),
        };
        flushed.connection = connection;
        lock(&self.results).push((job.order, flushed));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where a group's sessions go and how: its stored options resolved now (the password
/// read once for the whole group).
fn session_for(
    plan: &Flush,
    options: &[String],
    first: &Meta,
) -> anyhow::Result<(crate::plan::Settings, crate::smtp::Options)> {
    let settings = plan.stored.resolve(options, &first.envelope.from)?;
    let session_options = settings.session_options()?;
    Ok((settings, session_options))
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
        error: None,
        connection: None,
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
        error: Some(crate::report::errors::error_line(err)),
        connection: None,
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
