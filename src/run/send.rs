//! `Plan::Send`: one message, composed or complete on stdin; shown (`--dry-run`) or
//! delivered (with retries and the outbox, see [`super::deliver`]), and reported.

use crate::base::exit::{Kind, fail};
use crate::message::compose;
use crate::message::local::LocalNames;
use crate::plan::{Input, Send, Settings};
use crate::report::{self, JsonPrinted, JsonReport};
use crate::run::prepare::Prepared;

/// Reads or composes the message, then shows or sends it.
pub fn run(plan: Send) -> anyhow::Result<()> {
    let reads_stdin = match &plan.input {
        Input::Compose(input) => input.reads_stdin(),
        Input::Raw { .. } => true,
    };
    if reads_stdin {
        check_stdin_is_not_a_directory()?;
    }
    let (settings, prepared) = prepare(&plan)?;
    let (envelope, content) = (&prepared.envelope, &prepared.content);
    if envelope.recipients.is_empty() {
        return Err(fail(
            Kind::Usage,
            "no recipients: give --to, --cc, --bcc or recipient arguments",
        ));
    }
    if plan.seven_bit && content.has_8bit() {
        return Err(fail(
            Kind::Data,
            "-B 7BIT was given but the message has 8-bit bytes: send it with -B 8BITMIME \
             or encode it",
        ));
    }
    if plan.dry_run {
        return report::dry_run::dry_run(plan.output.json, envelope, content);
    }
    deliver(&plan, &settings, &prepared)
}

/// The settings and the message: a complete message from stdin (whose From may pick the
/// account), or one composed from the flags.
fn prepare(plan: &Send) -> anyhow::Result<(Settings, Prepared)> {
    let mut stdin = std::io::stdin().lock();
    match &plan.input {
        Input::Raw {
            read_recipients,
            recipients,
        } => {
            let message = super::prepare::read_message(&mut stdin, plan.max_input)?;
            let hint = plan
                .sender
                .given
                .as_ref()
                .map(|s| s.mailbox.clone())
                .or_else(|| super::prepare::header_from(&message))
                .map(|mailbox| mailbox.address);
            let settings = plan.settings.resolve(hint.as_deref())?;
            let sender = plan.sender.given_with_defaults(&settings);
            let prepared = super::prepare::prepare_raw(
                &plan.sender,
                &settings,
                sender,
                message,
                *read_recipients,
                recipients,
            )?;
            Ok((settings, prepared))
        }
        Input::Compose(input) => {
            let settings = plan.settings.resolve(plan.sender.hint())?;
            if !plan.dry_run {
                settings.check_ahead()?;
            }
            let sender = plan.sender.for_compose(&settings);
            let aliases = settings.load_aliases()?;
            let surroundings = compose::Surroundings {
                local: LocalNames {
                    aliases: aliases.as_ref(),
                    qualify_domain: settings.qualify_domain.as_deref(),
                },
                rewrite_local_headers: settings.mail.rewrite_local_headers,
                pipe_timeout: settings.session.timeouts.command,
            };
            let (envelope, content) = compose::compose(input, surroundings, &sender, &mut stdin)?;
            let made_up = plan.sender.given.is_none() && settings.sender_is_made_up();
            let prepared = Prepared {
                made_up_sender: made_up.then(|| envelope.from.clone()),
                envelope,
                content,
            };
            Ok((settings, prepared))
        }
    }
}

/// Sends the message and reports the outcome (the JSON document with `--json`).
fn deliver(plan: &Send, settings: &Settings, prepared: &Prepared) -> anyhow::Result<()> {
    let (envelope, content) = (&prepared.envelope, &prepared.content);
    let outcome = super::deliver::send(plan, settings, prepared);
    let delivery = outcome.delivery.as_ref();
    let verdict = outcome.verdict;
    if !plan.output.json {
        return verdict;
    }
    let exit_code = match &verdict {
        Ok(()) => 0,
        Err(err) => crate::base::exit::code_for(err),
    };
    let status = match (&outcome.queued_as, delivery) {
        (Some(_), _) => "queued",
        (None, Some(delivery)) => report::status(delivery),
        (None, None) => "failed",
    };
    JsonReport {
        status,
        exit_code,
        envelope,
        message_id: content.message_id(),
        size: content.len(),
        recipients: delivery.map_or(&[], |d| d.recipients.as_slice()),
        reply: delivery.and_then(report::final_reply),
        error: match &verdict {
            Err(err) => Some(report::errors::error_line(err)),
            Ok(()) => outcome.queued_because.clone(),
        },
        queued_as: outcome.queued_as.clone(),
    }
    .print();
    verdict.map_err(|err| anyhow::Error::new(JsonPrinted(err)))
}

/// `smtpsend … < somedir` would fail with "Is a directory (os error 21)"; say what it means.
fn check_stdin_is_not_a_directory() -> anyhow::Result<()> {
    use std::os::fd::AsFd;
    let is_directory = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::fs::File::from)
        .and_then(|file| file.metadata().ok())
        .is_some_and(|metadata| metadata.is_dir());
    if is_directory {
        return Err(fail(
            Kind::NoInput,
            "stdin is a directory: redirect a file (< message.eml) or pipe the text in",
        ));
    }
    Ok(())
}
