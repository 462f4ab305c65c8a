//! `-q`/`--flush-queue`: delivers what the outbox holds. A damaged entry (see
//! [`crate::run::outbox`]) is never sent: a flush names it (65) and leaves it as it is.

use crate::plan::{Flush, Output, Settings};
use crate::run::batch::{Batch, failures};
use crate::run::entries::{Flushed, claim_all, failed, record, send_claimed};
use crate::run::outbox::{Meta, Outbox, Queue};

/// Delivers every queued message, one session per server and account, oldest first. An
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

/// Sends the entries of one group over one session (reopened only when it was lost).
fn flush_group(plan: &Flush, queue: &Queue, ids: &[String], results: &mut Vec<Flushed>) {
    let claims = claim_all(queue, ids, results);
    let Some((_, first)) = claims.first() else {
        return;
    };
    let session = settings_for(plan, first).and_then(|settings| {
        settings
            .session_options()
            .map(|options| (settings, options))
    });
    let (settings, options) = match session {
        Ok(both) => both,
        Err(err) => {
            for (claim, _) in &claims {
                results.push(record(claim, &err));
            }
            return;
        }
    };
    let mut batch = Batch::new(settings.target.clone(), options, plan.output.debug);
    send_claimed(&mut batch, claims, None, &settings, results);
    batch.finish();
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
