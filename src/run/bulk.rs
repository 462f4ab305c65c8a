//! Bulk sending (`--bulk`): several complete messages over one connection.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;

use crate::base::exit::{Kind, fail};
use crate::message::raw::RawMessage;
use crate::plan::{Bulk, Output};
use crate::report;
use crate::run::batch::{Carried, Jobs, Message, Route, failures};
use crate::run::journal::Attempt;
use crate::run::prepare::{Prepared, prepare_raw};
use crate::smtp::{Delivery, Policy};

/// One message file.
struct Item {
    path: PathBuf,
    message: Prepared,
}

/// What became of a message: sent or the error, and the connection that carried it.
type Sent = (anyhow::Result<()>, Option<usize>);

/// Reads every message first (a bad file stops the run before anything is sent), then sends
/// them over `--parallel` connections (in order on each), reconnecting only when a
/// connection is lost.
pub fn run(plan: Bulk) -> anyhow::Result<()> {
    let paths = message_files(&plan.files)?;
    let settings = &plan.settings;
    let mut items = Vec::with_capacity(paths.len());
    for path in paths {
        let bytes = read_message(&path)?;
        let message = RawMessage::parse(&bytes);
        let sender = plan.sender.given.clone();
        let prepared = prepare_raw(
            &plan.sender,
            settings,
            sender,
            message,
            true,
            &plan.recipients,
        )
        .with_context(|| path.display().to_string())?;
        items.push(Item {
            path,
            message: prepared,
        });
    }
    if plan.dry_run {
        for item in &items {
            crate::report::dry_run::dry_run(
                plan.output.json,
                &item.message.envelope,
                &item.message.content,
            )?;
        }
        return Ok(());
    }
    let options = settings.session_options()?;
    let jobs = BulkJobs {
        items: &items,
        settings,
        policy: &plan.policy,
        next: AtomicUsize::new(0),
        sent: Mutex::new((0..items.len()).map(|_| None).collect()),
    };
    let route = Route {
        target: &settings.target,
        options: &options,
        debug: plan.output.debug,
        spread: settings.spread,
    };
    crate::run::batch::run(&route, &jobs);
    let sent = jobs.sent.into_inner().unwrap_or_else(|p| p.into_inner());
    summarise(plan.output, &items, sent)
}

/// The messages of a bulk run, handed out in order; each is logged, and a refusal that
/// concerns a sender made from the login and host name says so.
struct BulkJobs<'a> {
    items: &'a [Item],
    settings: &'a crate::plan::Settings,
    policy: &'a Policy,
    next: AtomicUsize,
    sent: Mutex<Vec<Option<Sent>>>,
}

impl Jobs for BulkJobs<'_> {
    type Job = usize;

    fn next(&self) -> Option<usize> {
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        (index < self.items.len()).then_some(index)
    }

    fn message<'a>(&'a self, index: &'a usize) -> Message<'a> {
        let message = &self.items[*index].message;
        Message {
            envelope: &message.envelope,
            content: &message.content,
            policy: self.policy,
        }
    }

    fn done(&self, index: usize, sent: anyhow::Result<Delivery>, carried: Carried) {
        let item = &self.items[index].message;
        let (delivery, verdict) = match sent {
            Ok(delivery) => {
                let verdict = report::judge(&delivery, self.policy.partial);
                (Some(delivery), verdict)
            }
            Err(err) => (None, Err(err)),
        };
        let verdict = report::noting_made_up_sender(
            verdict,
            item.made_up_sender.as_deref(),
            delivery.as_ref(),
        );
        Attempt {
            settings: self.settings,
            envelope: &item.envelope,
            content: &item.content,
            delivery: delivery.as_ref(),
            tls: carried.tls,
            verdict: &verdict,
            outbox: None,
            queued: false,
            retrying: false,
        }
        .log();
        let mut all = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        all[index] = Some((verdict, carried.connection));
    }
}

fn summarise(output: Output, items: &[Item], sent: Vec<Option<Sent>>) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let mut documents = Vec::new();
    for (item, sent) in items.iter().zip(sent) {
        let (result, connection) = sent.unwrap_or_else(|| {
            let never = fail(
                Kind::Software,
                "the message was never handed to a connection",
            );
            (Err(never), None)
        });
        let error = result.as_ref().err();
        if let Some(err) = error {
            crate::say!(
                "smtpsend: {}: {}",
                item.path.display(),
                crate::report::errors::error_line(err)
            );
            failed.push(crate::base::exit::code_for(err));
        }
        documents.push(serde_json::json!({
            "file": item.path.display().to_string(),
            "status": if error.is_some() { "failed" } else { "sent" },
            "exit_code": error.map_or(0, crate::base::exit::code_for),
            "envelope": &item.message.envelope,
            "message_id": item.message.content.message_id(),
            "connection": connection,
            "error": error.map(crate::base::exit::one_line),
        }));
    }
    if output.json {
        crate::base::output::print_json(&documents);
    }
    let Some(err) = failures(&failed, items.len(), "messages", "each named above") else {
        return Ok(());
    };
    if output.json {
        // The array above is the report; no second JSON document for this error.
        return Err(anyhow::Error::new(crate::report::JsonPrinted(err)));
    }
    Err(err)
}

/// One message file, opened without blocking: a FIFO, a socket or a device is refused at
/// once instead of being waited on.
fn read_message(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut opened = crate::base::input::open_regular(path, "message")?;
    let mut bytes = Vec::with_capacity(opened.metadata.len() as usize);
    opened
        .file
        .read_to_end(&mut bytes)
        .map_err(|err| crate::base::input::unreadable("message", path, &err))?;
    Ok(bytes)
}

/// The message files: each path itself, or a directory's `*.eml` files in name order.
fn message_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|err| unreadable(path, &err))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.is_file() && file.extension().is_some_and(|e| e == "eml"))
                .collect();
            if found.is_empty() {
                return Err(fail(
                    Kind::NoInput,
                    format!("{} holds no .eml files", path.display()),
                ));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn unreadable(path: &Path, err: &std::io::Error) -> anyhow::Error {
    fail(
        Kind::NoInput,
        format!(
            "cannot read {}: {}",
            path.display(),
            crate::base::input::plain_io(err)
        ),
    )
}
