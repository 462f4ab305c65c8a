//! `-q`/`--flush-queue`: delivers what the outbox holds. A damaged entry (see
//! [`crate::run::outbox`]) is never sent: a flush names it (65) and leaves it as it is.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::message::Content;
use crate::plan::{Flush, Output, Settings};
use crate::run::batch::{Carried, Jobs, Message, Route, failures};
use crate::run::entries::{Flushed, failed, judged, policy_of, record, record_for, sent_entry};
use crate::run::journal::Attempt;
use crate::run::outbox::{Claim, Claimed, Meta, Outbox, Queue};
use crate::smtp::{Delivery, Policy};

/// Delivers every queued message, `--parallel` sessions per server and account, oldest
/// first. An
/// entry is removed only after the server accepted it; a failure is recorded in it. With
/// `-q --server`/`--account` every entry goes that way instead of the way it was queued for.
pub fn flush(plan: Flush) -> anyhow::Result<()> {
    if let Some(reroute) = &plan.reroute {
        // A route that cannot be resolved (an unknown account) fails before any entry.
        reroute.resolve(None)?;
    }
    let Some(queue) = Outbox::locate(plan.place.spool.as_deref())?.open()? else {
        return finish(plan.output, Vec::new());
    };
    let _lock = queue.lock_flush()?;
    queue.remove_leftovers();
    let mut results = Vec::new();
    // Entries with the same route go to the same server as the same account.
    let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (id, meta) in queue.entries()? {
        match meta {
            Ok(meta) => {
                let key = route_key(&plan, &meta);
                match groups.iter_mut().find(|(route, _)| *route == key) {
                    Some((_, ids)) => ids.push(id),
                    None => groups.push((key, vec![id])),
                }
            }
            Err(err) => results.push(failed(&id, &err)),
        }
    }
    for (_, ids) in groups {
        flush_group(&plan, &queue, &ids, &mut results);
    }
    finish(plan.output, results)
}

/// What puts entries in one session: the options they were queued with; when rerouted, the
/// account the new route gives each sender.
fn route_key(plan: &Flush, meta: &Meta) -> Vec<String> {
    match &plan.reroute {
        None => meta.options.clone(),
        Some(reroute) => match reroute.resolve(Some(&meta.envelope.from)) {
            Ok(settings) => vec![settings.account.unwrap_or_default()],
            Err(_) => Vec::new(),
        },
    }
}

/// Sends the entries of one group over `--parallel` sessions (each reopened only when it
/// was lost). Each entry is claimed (locked, its meta read again and checked, its message
/// verified) only when a connection is ready to send it, so that at most the connections'
/// windows are held at once. The group's settings come with its first entry (the password
/// read once for it).
fn flush_group(plan: &Flush, queue: &Queue, ids: &[String], results: &mut Vec<Flushed>) {
    let claimer = Claimer {
        queue,
        ids,
        next: AtomicUsize::new(0),
        results: Mutex::new(Vec::new()),
    };
    if let Some(first) = claimer.claim_next() {
        let session = settings_for(plan, &first.meta).and_then(|settings| {
            settings
                .session_options()
                .map(|options| (settings, options))
        });
        match session {
            Ok((settings, options)) => {
                let route = Route {
                    target: &settings.target,
                    options: &options,
                    debug: plan.output.debug,
                    spread: settings.spread,
                };
                let jobs = FlushJobs {
                    claimer: &claimer,
                    first: Mutex::new(Some(first)),
                    settings: &settings,
                };
                crate::run::batch::run(&route, &jobs);
            }
            Err(err) => {
                let left =
                    std::iter::once(first).chain(std::iter::from_fn(|| claimer.claim_next()));
                for job in left.collect::<Vec<_>>() {
                    claimer.push(job.order, record(&job.claim, &err));
                }
            }
        }
    }
    let mut done = claimer
        .results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
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

/// A group's entries, claimed one at a time as connections ask for them, and what became
/// of each.
struct Claimer<'a> {
    queue: &'a Queue,
    ids: &'a [String],
    next: AtomicUsize,
    results: Mutex<Vec<(usize, Flushed)>>,
}

impl Claimer<'_> {
    /// Claims the next entry this process may send: locked, its meta read again under the
    /// lock and checked, its message verified. An entry another smtpsend is sending, or that
    /// was just removed, is not this flush's business; a damaged one is reported, never
    /// sent. After a signal or past the bound on the run nothing more is claimed: what was
    /// not tried stays as it is.
    fn claim_next(&self) -> Option<Job> {
        loop {
            if crate::base::interrupt::received().is_some() || crate::base::interrupt::expired() {
                return None;
            }
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
                Err(err) => self.push(order, failed(id, &err)),
            }
        }
    }

    fn push(&self, order: usize, flushed: Flushed) {
        lock(&self.results).push((order, flushed));
    }
}

/// The jobs of a group once its settings are known.
struct FlushJobs<'a> {
    claimer: &'a Claimer<'a>,
    /// The entry claimed to resolve the group's settings, sent first.
    first: Mutex<Option<Job>>,
    settings: &'a Settings,
}

impl Jobs for FlushJobs<'_> {
    type Job = Job;

    fn next(&self) -> Option<Job> {
        lock(&self.first)
            .take()
            .or_else(|| self.claimer.claim_next())
    }

    fn message<'a>(&'a self, job: &'a Job) -> Message<'a> {
        Message {
            envelope: &job.meta.envelope,
            content: &job.content,
            policy: &job.policy,
        }
    }

    /// Logs the attempt, then removes a sent entry, or records the failure in the entry,
    /// which stays queued with the recipients still to send (under `--partial`, those
    /// refused for now).
    fn done(&self, job: Job, sent: anyhow::Result<Delivery>, carried: Carried) {
        let envelope = &job.meta.envelope;
        let (delivery, verdict, remaining) = judged(sent, envelope, job.policy.partial);
        Attempt {
            settings: self.settings,
            envelope,
            content: &job.content,
            delivery: delivery.as_ref(),
            tls: carried.tls,
            verdict: &verdict,
            outbox: Some(job.claim.id()),
            queued: verdict.as_ref().is_err_and(crate::base::exit::is_temporary),
            retrying: false,
        }
        .log();
        let mut flushed = match verdict {
            Ok(()) => sent_entry(job.claim),
            Err(err) => record_for(&job.claim, &err, Some(remaining)),
        };
        flushed.message_id = job.content.message_id();
        flushed.connection = carried.connection;
        self.claimer.push(job.order, flushed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A group's settings: its stored options resolved now, or the new route's (the password
/// read once for the whole group).
fn settings_for(plan: &Flush, first: &Meta) -> anyhow::Result<Settings> {
    match &plan.reroute {
        Some(reroute) => reroute.resolve(Some(&first.envelope.from)),
        None => plan.stored.resolve(&first.options, &first.envelope.from),
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
