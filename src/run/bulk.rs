//! Bulk sending (`--bulk`): several complete messages over one connection.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::base::exit::{Kind, fail};
use crate::message::raw::RawMessage;
use crate::plan::{Bulk, Output};
use crate::report;
use crate::run::batch::{Batch, Message, failures};
use crate::run::journal::Attempt;
use crate::run::prepare::{Prepared, prepare_raw};
use crate::smtp::stream::Target;
use crate::smtp::{Options, Policy};

/// One message file and what became of it.
struct Item {
    path: PathBuf,
    message: Prepared,
    result: Option<anyhow::Result<()>>,
}

/// Reads every message first (a bad file stops the run before anything is sent), then sends
/// them in order over one session, reconnecting only when a connection is lost.
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
            result: None,
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
    send_all(&plan, &settings.target, &options, &mut items);
    summarise(plan.output, &items)
}

/// Sends every message over one batch; each is logged, and a refusal that concerns a sender
/// made from the login and host name says so.
fn send_all(plan: &Bulk, target: &Target, options: &Options, items: &mut [Item]) {
    let policy = &plan.policy;
    fn message<'a>(item: &'a Item, policy: &'a Policy) -> Message<'a> {
        Message {
            envelope: &item.message.envelope,
            content: &item.message.content,
            policy,
        }
    }
    let mut batch = Batch::new(target.clone(), options.clone(), plan.output.debug);
    let count = items.len();
    for index in 0..count {
        let next = items.get(index + 1).map(|item| message(item, policy));
        let sent = batch.send(message(&items[index], policy), next, index + 1 == count);
        let item = &items[index];
        let (delivery, verdict) = match sent {
            Ok(delivery) => {
                let verdict = report::judge(&delivery, policy.partial);
                (Some(delivery), verdict)
            }
            Err(err) => (None, Err(err)),
        };
        let verdict = report::noting_made_up_sender(
            verdict,
            item.message.made_up_sender.as_deref(),
            delivery.as_ref(),
        );
        Attempt {
            settings: &plan.settings,
            envelope: &item.message.envelope,
            content: &item.message.content,
            delivery: delivery.as_ref(),
            tls: batch.tls_version(),
            verdict: &verdict,
            outbox: None,
            queued: false,
            retrying: false,
        }
        .log();
        items[index].result = Some(verdict);
    }
    batch.finish();
}

fn summarise(output: Output, items: &[Item]) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let mut documents = Vec::new();
    for item in items {
        let result = item.result.as_ref();
        let error = result.and_then(|r| r.as_ref().err());
        if let Some(err) = error {
            crate::say!(
                "smtpsend: {}: {}",
                item.path.display(),
                crate::report::errors::error_line(err)
            );
            failed.push((item, crate::base::exit::code_for(err)));
        }
        documents.push(serde_json::json!({
            "file": item.path.display().to_string(),
            "status": if error.is_some() { "failed" } else { "sent" },
            "exit_code": error.map_or(0, crate::base::exit::code_for),
            "envelope": &item.message.envelope,
            "message_id": item.message.content.message_id(),
            "error": error.map(crate::base::exit::one_line),
        }));
    }
    if output.json {
        crate::base::output::print_json(&documents);
    }
    let codes: Vec<u8> = failed.iter().map(|(_, code)| *code).collect();
    let Some(err) = failures(&codes, items.len(), "messages", "each named above") else {
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
