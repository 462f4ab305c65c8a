//! `--list-queue` (`-bp`) shows the outbox; `--drop-queue ID` removes entries, however
//! broken. A damaged entry (see [`crate::run::outbox`]) is listed with what is wrong with it.

use serde::Serialize;

use crate::base::exit::{Kind, code_for, fail, one_line};
use crate::plan::{OutboxPlace, SettingsResolver};
use crate::run::outbox::{Dropped, Meta, Outbox, Queue};

/// Where an entry will go when `-q` is given another route: the server and the account.
#[derive(Debug, Clone, Serialize)]
struct Rerouted {
    server: String,
    account: Option<String>,
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
    /// Where `-q` with the same `--server` or `--account` would send it.
    #[serde(skip_serializing_if = "Option::is_none")]
    rerouted: Option<Rerouted>,
    #[serde(flatten)]
    meta: &'a Meta,
}

/// An entry as listed: its meta (or why it cannot be used), and what is wrong with its
/// message when the meta is sound.
struct Shown {
    id: String,
    meta: anyhow::Result<Meta>,
    message_problem: Option<anyhow::Error>,
    /// The route `-q` would take with the `--server` or `--account` given.
    rerouted: Option<Rerouted>,
}

/// Prints the outbox: id, age, size, attempts and sender; recipients; the route it takes
/// (the one `reroute` gives, when given); last error; what is wrong with a damaged entry;
/// files in the directory that are not the outbox's.
pub fn list(
    place: &OutboxPlace,
    reroute: Option<&SettingsResolver>,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(reroute) = reroute {
        reroute.resolve(None)?;
    }
    let outbox = Outbox::locate(place.spool.as_deref())?;
    let (mut entries, foreign) = match outbox.open()? {
        Some(queue) => (shown(&queue)?, queue.foreign_names()?),
        None => (Vec::new(), Vec::new()),
    };
    if let Some(reroute) = reroute {
        for entry in &mut entries {
            let Ok(meta) = &entry.meta else { continue };
            let settings = reroute.resolve(Some(&meta.envelope.from))?;
            entry.rerouted = Some(Rerouted {
                server: settings.target.to_string(),
                account: settings.account,
            });
        }
    }
    let now = crate::run::outbox::now();
    if json {
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
                    rerouted: entry.rerouted.clone(),
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
            rerouted: None,
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
        out.push_str(&entry_lines(id, meta, now, entry.rerouted.as_ref()));
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

/// An entry whose meta was read: id, age, size, attempts and sender; recipients; the route
/// (`-q`'s other one when given); last error.
fn entry_lines(id: &str, meta: &Meta, now: u64, rerouted: Option<&Rerouted>) -> String {
    let attempts = match meta.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    let mut out = format!(
        "{id}  {}  {} bytes  {attempts}  from <{}>\n",
        age(now.saturating_sub(meta.created)),
        meta.size,
        meta.envelope.from,
    );
    let recipients: Vec<String> = meta
        .envelope
        .recipients
        .iter()
        .map(|r| format!("<{r}>"))
        .collect();
    out.push_str(&format!("    to {}\n", recipients.join(", ")));
    let queued_for = match &meta.account {
        Some(account) => format!("{} (account {account})", meta.server),
        None => meta.server.clone(),
    };
    match rerouted {
        None => out.push_str(&format!("    via {queued_for}\n")),
        Some(route) => {
            let account = route
                .account
                .as_ref()
                .map(|account| format!(" (account {account})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "    via {}{account}, rerouted (queued for {queued_for})\n",
                route.server
            ));
        }
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

/// The outbox's ids, one a line, for completing `--drop-queue` (nothing when there is no
/// outbox or it cannot be read: a completion must not fail). Someone pressing Tab has a
/// home, so the spool is not looked in.
pub fn print_ids() -> anyhow::Result<()> {
    let ids = Outbox::locate(None)
        .and_then(|outbox| outbox.open())
        .ok()
        .flatten()
        .and_then(|queue| queue.entries().ok())
        .unwrap_or_default();
    let text: String = ids.iter().map(|(id, _)| format!("{id}\n")).collect();
    crate::base::output::print_stdout(&text);
    Ok(())
}

/// Removes the named entries without sending them, whatever state they are in; not one
/// that another process is sending (75), nor a name that is no outbox id (64).
pub fn drop_entries(place: &OutboxPlace, ids: &[String]) -> anyhow::Result<()> {
    let outbox = Outbox::locate(place.spool.as_deref())?;
    if let Some(id) = ids.iter().find(|id| !crate::run::outbox::valid_id(id)) {
        return Err(fail(
            Kind::Usage,
            format!(
                "{id:?} is not an outbox id (ids look like 0640a1b2c3d4e-0badf0; see --list-queue)"
            ),
        ));
    }
    let queue = outbox.open()?;
    for id in ids {
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
