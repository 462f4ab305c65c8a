//! The outbox commands: `-q`/`--flush-queue` delivers what is queued, `--list-queue`/`-bp`
//! lists it, `--drop-queue ID` removes an entry. A damaged entry (see [`crate::run::outbox`]) is
//! never sent: a flush names it (65) and leaves it as it is, a listing shows what is wrong
//! with it, and `--drop-queue` removes it.

use serde::Serialize;

use crate::base::exit::{Kind, code_for, fail, one_line};
use crate::cli::Cli;
use crate::message::{Content, Envelope};
use crate::plan::settings::Settings;
use crate::report;
use crate::run::outbox::{Claim, Claimed, Dropped, Meta, Outbox, Queue};
use crate::run::send::{left_for_later, still_to_send};
use crate::smtp::transcript::Transcript;
use crate::smtp::{Policy, Session};

/// What a flush did with one entry.
#[derive(Debug, Serialize)]
struct Flushed {
    id: String,
    /// `sent`, `queued` (kept after a temporary failure), `failed` (kept after a permanent
    /// one) or `damaged` (not sent: its meta or message is not what the outbox wrote).
    status: &'static str,
    exit_code: u8,
    error: Option<String>,
}

/// Delivers every queued message, one session per server and account, oldest first. An
/// entry is removed only after the server accepted it; a failure is recorded in it.
pub fn flush(cli: &Cli) -> anyhow::Result<()> {
    let Some(queue) = Outbox::locate()?.open()? else {
        return finish(cli, Vec::new());
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
        flush_group(cli, &queue, &options, &ids, &mut results);
    }
    finish(cli, results)
}

/// Sends the entries of one group over one session (reopened only when it was lost).
fn flush_group(
    cli: &Cli,
    queue: &Queue,
    options: &[String],
    ids: &[String],
    results: &mut Vec<Flushed>,
) {
    // Each entry locked, and its meta read again (and checked) under the lock.
    let mut claims: Vec<(Claim, Meta)> = Vec::new();
    for id in ids {
        match queue.claim(id) {
            Ok(Claimed::Mine(claim)) => match claim.meta() {
                Ok(meta) => claims.push((claim, meta)),
                Err(err) => results.push(failed(id, &err)),
            },
            // Being sent by another smtpsend, or just removed: not this flush's business.
            Ok(Claimed::Busy | Claimed::Gone) => {}
            Err(err) => results.push(failed(id, &err)),
        }
    }
    let Some((_, first)) = claims.first() else {
        return;
    };
    let settings = settings_for(cli, options, first).and_then(|settings| {
        let session_options = settings.session_options()?;
        Ok((settings.target, session_options))
    });
    let (target, session_options) = match settings {
        Ok(settings) => settings,
        Err(err) => {
            for (claim, _) in &claims {
                results.push(record(claim, &err));
            }
            return;
        }
    };
    let count = claims.len();
    let mut session: Option<Session> = None;
    let mut unreachable: Option<anyhow::Error> = None;
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
        if let Some(err) = &unreachable {
            // The server could not be reached: the same for every entry left.
            results.push(record(&claim, &same_failure(err)));
            continue;
        }
        if session.as_ref().is_some_and(|open| !open.is_usable()) {
            session = None;
        }
        let open = match session.as_mut() {
            Some(open) => open,
            None => {
                let transcript = Transcript::new(cli.debug);
                match Session::open(&target, session_options.clone(), transcript) {
                    Ok(opened) => session.insert(opened),
                    Err(err) => {
                        results.push(record(&claim, &err));
                        unreachable = Some(err);
                        continue;
                    }
                }
            }
        };
        if let Some((_, (next, next_meta))) = claims.peek() {
            let next_loaded = next.content(next_meta);
            if let Ok(next_content) = &next_loaded {
                open.pipeline_next(&next_meta.envelope, next_content, &policy_of(next_meta));
            }
            loaded_ahead = Some(next_loaded);
        }
        let policy = policy_of(&meta);
        let (verdict, remaining) =
            match open.send(&meta.envelope, &content, &policy, index + 1 == count) {
                Ok(delivery) => match report::judge(&delivery, policy.partial) {
                    // --partial: sent to some; the ones refused for now stay queued.
                    Ok(()) => match left_for_later(&meta.envelope, &delivery) {
                        Some((later, err)) => (Err(err), later),
                        None => (Ok(()), meta.envelope.clone()),
                    },
                    Err(err) => (Err(err), still_to_send(&meta.envelope, Some(&delivery))),
                },
                Err(err) => {
                    session = None;
                    (Err(err), meta.envelope.clone())
                }
            };
        results.push(match verdict {
            Ok(()) => sent(claim),
            Err(err) => record_for(&claim, &err, Some(remaining)),
        });
    }
    if let Some(open) = session {
        open.quit();
    }
}

/// The transaction rules a queued message was queued with.
fn policy_of(meta: &Meta) -> Policy {
    Policy {
        partial: meta.partial,
        declare_8bitmime: meta.declare_8bitmime,
        dsn: meta.dsn.clone(),
    }
}

/// The settings a queued message is sent with: its stored options (server, account, …),
/// the configuration file as it is now, and this run's `--debug`.
fn settings_for(cli: &Cli, options: &[String], meta: &Meta) -> anyhow::Result<Settings> {
    let mut stored = crate::cli::parse_stored(options).map_err(|err| {
        fail(
            Kind::Config,
            format!(
                "the options it was queued with are no longer valid ({}): {}",
                options.join(" "),
                crate::cli::one_line(&err)
            ),
        )
    })?;
    stored.debug = cli.debug;
    stored.json = cli.json;
    stored.max_time = cli.max_time;
    Settings::resolve(&stored, Some(&meta.envelope.from))
}

/// A copy of an error, with its exit code and text.
fn same_failure(err: &anyhow::Error) -> anyhow::Error {
    fail(Kind::from_code(code_for(err)), one_line(err))
}

fn sent(claim: Claim) -> Flushed {
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
        error: Some(one_line(err)),
    }
}

/// Names every entry not sent on stderr (or prints them all with `--json`); the exit code
/// is that of the first failure.
fn finish(cli: &Cli, results: Vec<Flushed>) -> anyhow::Result<()> {
    if cli.json {
        crate::base::output::print_json(&results);
    }
    let failures: Vec<&Flushed> = results.iter().filter(|r| r.status != "sent").collect();
    if !cli.json {
        for failure in &failures {
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
    let Some(first) = failures.first() else {
        return Ok(());
    };
    let err = fail(
        Kind::from_code(first.exit_code),
        format!(
            "{} of {} queued messages not sent ({})",
            failures.len(),
            results.len(),
            if cli.json {
                "see the JSON report"
            } else {
                "each named above"
            }
        ),
    );
    if cli.json {
        return Err(anyhow::Error::new(crate::run::JsonPrinted(err)));
    }
    Err(err)
}

/// One entry of `--list-queue --json`.
#[derive(Debug, Serialize)]
struct ListedJson<'a> {
    id: &'a str,
    /// `queued`; `damaged` when its message is not what was queued, `unreadable` when it
    /// cannot be read.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<u8>,
    age_seconds: u64,
    #[serde(flatten)]
    meta: &'a Meta,
}

/// An entry as listed: its meta (or why it cannot be used), and what is wrong with its
/// message when the meta is sound.
struct Shown {
    id: String,
    meta: anyhow::Result<Meta>,
    message_problem: Option<anyhow::Error>,
}

/// Prints the outbox: id, age, size, attempts and sender; recipients; server; last error;
/// what is wrong with a damaged entry; files in the directory that are not the outbox's.
pub fn list(cli: &Cli) -> anyhow::Result<()> {
    let outbox = Outbox::locate()?;
    let (entries, foreign) = match outbox.open()? {
        Some(queue) => (shown(&queue)?, queue.foreign_names()?),
        None => (Vec::new(), Vec::new()),
    };
    let now = crate::run::outbox::now();
    if cli.json {
        let documents: Vec<serde_json::Value> = entries
            .iter()
            .map(|entry| match &entry.meta {
                Ok(meta) => serde_json::to_value(ListedJson {
                    id: &entry.id,
                    status: match &entry.message_problem {
                        None => "queued",
                        Some(err) if crate::run::outbox::is_damaged(err) => "damaged",
                        Some(_) => "unreadable",
                    },
                    error: entry.message_problem.as_ref().map(one_line),
                    exit_code: entry.message_problem.as_ref().map(code_for),
                    age_seconds: now.saturating_sub(meta.created),
                    meta,
                })
                .unwrap_or_default(),
                Err(err) => serde_json::json!({
                    "id": entry.id,
                    "status": if crate::run::outbox::is_damaged(err) { "damaged" } else { "unreadable" },
                    "error": one_line(err),
                    "exit_code": code_for(err),
                }),
            })
            .collect();
        crate::base::output::print_json(&documents);
        return Ok(());
    }
    crate::base::output::print_stdout(&listing(&entries, &foreign, now, &outbox.dir()));
    Ok(())
}

/// Every entry, its message checked against its meta.
fn shown(queue: &Queue) -> anyhow::Result<Vec<Shown>> {
    let mut shown = Vec::new();
    for (id, meta) in queue.entries()? {
        let message_problem = match &meta {
            Ok(meta) => match queue.verify(&id, meta) {
                Ok(true) => None,
                // Removed (sent) while the listing was made.
                Ok(false) => continue,
                Err(err) => Some(err),
            },
            Err(_) => None,
        };
        shown.push(Shown {
            id,
            meta,
            message_problem,
        });
    }
    Ok(shown)
}

fn listing(entries: &[Shown], foreign: &[String], now: u64, dir: &std::path::Path) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        out.push_str(&format!("the outbox is empty ({})\n", dir.display()));
    }
    let mut damaged = 0;
    for entry in entries {
        let id = &entry.id;
        let meta = match &entry.meta {
            Ok(meta) => meta,
            Err(err) if crate::run::outbox::is_damaged(err) => {
                damaged += 1;
                out.push_str(&format!("{id}  {}\n", one_line(err)));
                out.push_str(&format!(
                    "    not sent; inspect it, or drop it with --drop-queue {id}\n"
                ));
                continue;
            }
            Err(err) => {
                out.push_str(&format!("{id}  unreadable: {}\n", one_line(err)));
                continue;
            }
        };
        let attempts = match meta.attempts {
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts"),
        };
        out.push_str(&format!(
            "{id}  {}  {} bytes  {attempts}  from <{}>\n",
            age(now.saturating_sub(meta.created)),
            meta.size,
            meta.envelope.from,
        ));
        let recipients: Vec<String> = meta
            .envelope
            .recipients
            .iter()
            .map(|r| format!("<{r}>"))
            .collect();
        out.push_str(&format!("    to {}\n", recipients.join(", ")));
        match &meta.account {
            Some(account) => {
                out.push_str(&format!("    via {} (account {account})\n", meta.server))
            }
            None => out.push_str(&format!("    via {}\n", meta.server)),
        }
        if let Some(error) = &meta.last_error {
            let kind = match meta.last_exit_code {
                Some(75) | None => "temporary".to_string(),
                Some(code) if Kind::from_code(code).is_temporary() => {
                    format!("temporary, exit {code}")
                }
                Some(code) => format!("permanent, exit {code}"),
            };
            let when = meta
                .last_attempt
                .map(|t| format!(" {} ago", age(now.saturating_sub(t))))
                .unwrap_or_default();
            out.push_str(&format!("    last error{when} ({kind}): {error}\n"));
        }
        if let Some(problem) = &entry.message_problem {
            if crate::run::outbox::is_damaged(problem) {
                damaged += 1;
            }
            out.push_str(&format!(
                "    {}; not sent: inspect it, or drop it with --drop-queue {id}\n",
                one_line(problem)
            ));
        }
    }
    if !entries.is_empty() {
        let count = entries.len();
        let noun = if count == 1 { "message" } else { "messages" };
        let damaged = match damaged {
            0 => String::new(),
            n => format!(" ({n} damaged)"),
        };
        out.push_str(&format!("{count} {noun} in {}{damaged}\n", dir.display()));
    }
    if !foreign.is_empty() {
        out.push_str(&format!(
            "{} also holds files that are not the outbox's, left alone: {}\n",
            dir.display(),
            foreign.join(", ")
        ));
    }
    out
}

/// A short age: 42s, 5m, 3h, 2d.
fn age(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86_400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// Removes the named entries without sending them, whatever state they are in; not one
/// that another process is sending (75), nor a name that is no outbox id (64).
pub fn drop_entries(cli: &Cli) -> anyhow::Result<()> {
    let outbox = Outbox::locate()?;
    if let Some(id) = cli
        .drop_queue
        .iter()
        .find(|id| !crate::run::outbox::valid_id(id))
    {
        return Err(fail(
            Kind::Usage,
            format!(
                "{id:?} is not an outbox id (ids look like 0640a1b2c3d4e-0badf0; see --list-queue)"
            ),
        ));
    }
    let queue = outbox.open()?;
    for id in &cli.drop_queue {
        let dropped = match &queue {
            Some(queue) => queue.drop_entry(id)?,
            None => Dropped::Gone,
        };
        let (meta, files) = match dropped {
            Dropped::Removed { meta, files } => (*meta, files),
            Dropped::Busy => {
                return Err(fail(
                    Kind::TempFail,
                    format!("{id} is being sent right now; try again when that is over"),
                ));
            }
            Dropped::Gone => {
                return Err(fail(
                    Kind::Usage,
                    format!(
                        "{id}: no such message in the outbox {} (see --list-queue)",
                        outbox.dir().display()
                    ),
                ));
            }
        };
        match meta {
            Ok(meta) => {
                let recipients: Vec<String> = meta
                    .envelope
                    .recipients
                    .iter()
                    .map(|r| format!("<{r}>"))
                    .collect();
                crate::say!(
                    "smtpsend: dropped {id} (from <{}> to {})",
                    meta.envelope.from,
                    recipients.join(", ")
                );
            }
            Err(err) => {
                let what = if code_for(&err) == Kind::NoInput.code() {
                    "what an interrupted write left".to_string()
                } else if crate::run::outbox::is_damaged(&err) {
                    one_line(&err)
                } else {
                    format!("unreadable: {}", one_line(&err))
                };
                crate::say!(
                    "smtpsend: dropped {id} ({what}; removed {})",
                    files.join(", ")
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(300), "5m");
        assert_eq!(age(7200), "2h");
        assert_eq!(age(200_000), "2d");
    }
}
