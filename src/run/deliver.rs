//! Sending one message: tries again after temporary failures (`--retries`) and keeps the
//! message in the outbox when it cannot go now (`--queue`).

use std::time::Duration;

use crate::base::exit::{Kind, fail, one_line};
use crate::message::{Content, Envelope};
use crate::plan::Send;
use crate::plan::settings::{QueueMode, Settings};
use crate::report;
use crate::report::errors::error_line;
use crate::run::batch::{Message, send_one};
use crate::run::outbox::{self, Claim, Meta, Outbox};
use crate::smtp::stream::Target;
use crate::smtp::{Delivery, Options, Policy, maybe_accepted};

/// The longest wait between two tries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What became of a message.
pub struct Outcome {
    /// What the server said, when a transaction ran to its end.
    pub delivery: Option<Delivery>,
    /// Sent (or queued), or the failure that decides the exit code.
    pub verdict: anyhow::Result<()>,
    /// The outbox id when the message was queued instead of sent.
    pub queued_as: Option<String>,
    /// Why it was queued (the temporary failure).
    pub queued_because: Option<String>,
}

/// The wait before retry number `retry` (from 1): 1s, 2s, 4s, … at most [`MAX_BACKOFF`].
pub fn backoff(retry: u32) -> Duration {
    Duration::from_secs(1u64 << retry.saturating_sub(1).min(6)).min(MAX_BACKOFF)
}

/// True for a failure worth trying again at once: temporary (75 or 76), and not one where the
/// data was sent and the reply lost, since the server may have the message (RFC 1047).
pub fn retryable(err: &anyhow::Error) -> bool {
    crate::base::exit::is_temporary(err) && !maybe_accepted(err)
}

/// Sends the message as the settings say: with `--queue always` through the outbox, with
/// retries after temporary failures, and with `--queue on-failure` into the outbox when the
/// last try failed temporarily.
pub fn send(plan: &Send, settings: &Settings, envelope: &Envelope, content: &Content) -> Outcome {
    let failed = |err| Outcome {
        delivery: None,
        verdict: Err(err),
        queued_as: None,
        queued_because: None,
    };
    // The password is read once, before anything is queued or sent.
    let options = match settings.session_options() {
        Ok(options) => options,
        Err(err) => return failed(err),
    };
    if settings.queue != QueueMode::Never {
        // From here on Ctrl-C or SIGTERM stops the send and keeps the message (see
        // crate::base::interrupt); before, while the message was read, it abandons it.
        crate::base::interrupt::catch();
    }
    let queued = match queue_first(plan, settings, envelope, content) {
        Ok(queued) => queued,
        Err(err) => return failed(err),
    };
    let (delivery, verdict, tries, remaining) = send_with_retries(
        plan.output.debug,
        settings,
        &options,
        envelope,
        content,
        &plan.policy,
    );
    let mut outcome = Outcome {
        delivery,
        verdict: Ok(()),
        queued_as: None,
        queued_because: None,
    };
    match verdict.map_err(stopped_by_signal) {
        Ok(()) => {
            if let Some((_, claim)) = queued {
                remove_sent(claim);
            }
        }
        Err(err) if crate::base::exit::is_temporary(&err) && settings.queue != QueueMode::Never => {
            let later = Later {
                envelope: remaining,
                attempts: tries - 1,
                content,
            };
            keep(plan, settings, queued, later, err, &mut outcome);
        }
        Err(err) => {
            // A permanent failure is never queued: the caller has the error.
            if let Some((_, claim)) = queued {
                let id = claim.id().to_string();
                if let Err(remove_err) = claim.remove() {
                    crate::say!(
                        "smtpsend: warning: {}; drop it with --drop-queue {id}",
                        one_line(&remove_err)
                    );
                }
            }
            outcome.verdict = Err(err);
        }
    }
    outcome
}

/// With `--queue always`, the message's outbox entry, written before anything is sent.
/// An outbox directory that is not safe to use (a symbolic link, another user's, writable
/// by others) is a configuration error to fix, not a reason to send without the copy the
/// user asked for; any other failure to write is a warning, and the message goes without.
fn queue_first(
    plan: &Send,
    settings: &Settings,
    envelope: &Envelope,
    content: &Content,
) -> anyhow::Result<Option<(Meta, Claim)>> {
    if settings.queue != QueueMode::Always {
        return Ok(None);
    }
    let meta = new_meta(&plan.kept_options, settings, envelope, &plan.policy);
    let added = crate::base::interrupt::critical(|| {
        Outbox::locate().and_then(|outbox| outbox.add(&meta, content))
    });
    match added {
        // Read back: the stored meta knows the message's size and hash.
        Ok(claim) => Ok(Some((claim.meta().unwrap_or(meta), claim))),
        Err(err) if crate::base::exit::code_for(&err) == Kind::Config.code() => Err(fail(
            Kind::Config,
            format!(
                "{}; the message was not sent (--queue always sends only what the outbox \
                 holds)",
                one_line(&err)
            ),
        )),
        Err(err) => {
            crate::say!(
                "smtpsend: warning: {}; sending without the outbox",
                one_line(&err)
            );
            Ok(None)
        }
    }
}

/// What is left to send after a temporary failure, for the outbox.
struct Later<'a> {
    envelope: Envelope,
    /// Tries made before the last one.
    attempts: u32,
    content: &'a Content,
}

/// Keeps the message in the outbox after the temporary failure `err` (its entry updated, or
/// a new one), or says why it could not.
fn keep(
    plan: &Send,
    settings: &Settings,
    queued: Option<(Meta, Claim)>,
    later: Later,
    err: anyhow::Error,
    outcome: &mut Outcome,
) {
    let kept = crate::base::interrupt::critical(|| match queued {
        Some((mut meta, claim)) => {
            meta.envelope = later.envelope;
            meta.attempts = later.attempts;
            meta.record_failure(&err);
            claim.update(&meta).map(|()| claim.id().to_string())
        }
        None => {
            let mut meta = new_meta(&plan.kept_options, settings, &later.envelope, &plan.policy);
            meta.attempts = later.attempts;
            meta.record_failure(&err);
            Outbox::locate()
                .and_then(|outbox| outbox.add(&meta, later.content))
                .map(|claim| claim.id().to_string())
        }
    });
    match kept {
        Ok(id) => {
            if crate::base::interrupt::received().is_some() {
                crate::base::interrupt::stopped_a_send();
            }
            crate::say!("smtpsend: queued as {id} ({})", error_line(&err));
            outcome.queued_as = Some(id);
            outcome.queued_because = Some(error_line(&err));
        }
        Err(queue_err) => {
            // Still the temporary failure's exit code (75 or 76): the caller keeps the
            // message and tries again.
            outcome.verdict = Err(fail(
                Kind::from_code(crate::base::exit::code_for(&err)),
                format!(
                    "{}; and the outbox could not keep the message: {}",
                    one_line(&err),
                    one_line(&queue_err)
                ),
            ));
        }
    }
}

/// Tries up to `1 + settings.retries` times; returns the last result, the number of tries
/// and the envelope still to send (recipients an LMTP server already delivered to are left
/// out of later tries).
fn send_with_retries(
    debug: u8,
    settings: &Settings,
    options: &Options,
    envelope: &Envelope,
    content: &Content,
    policy: &Policy,
) -> (Option<Delivery>, anyhow::Result<()>, u32, Envelope) {
    let mut tries = 1;
    let mut envelope = envelope.clone();
    // Under --partial, recipients refused for now are tried again or queued when the user
    // asked for either; without, the message is sent to the others and that is that.
    let keep_trying =
        policy.partial && (settings.retries > 0 || settings.queue != QueueMode::Never);
    let mut delivered_any = false;
    loop {
        let (delivery, verdict) =
            send_once(debug, &settings.target, options, &envelope, content, policy);
        delivered_any |= delivery.as_ref().is_some_and(|d| d.delivered_count() > 0);
        let verdict = match (verdict, &delivery) {
            (Ok(()), Some(delivery)) if keep_trying => match left_for_later(&envelope, delivery) {
                Some((later, err)) => {
                    envelope = later;
                    Err(err)
                }
                None => Ok(()),
            },
            (Err(err), _) => {
                envelope = still_to_send(&envelope, delivery.as_ref());
                Err(err)
            }
            (verdict, _) => verdict,
        };
        match &verdict {
            Err(err)
                if tries <= settings.retries
                    && retryable(err)
                    && crate::base::interrupt::received().is_none()
                    && !crate::base::interrupt::expired() =>
            {
                let wait = backoff(tries);
                crate::say!(
                    "smtpsend: {}; trying again in {}s (retry {tries} of {})",
                    error_line(err),
                    wait.as_secs(),
                    settings.retries
                );
                crate::base::interrupt::sleep(wait);
                tries += 1;
            }
            Err(err)
                if delivered_any
                    && policy.partial
                    && settings.queue == QueueMode::Never
                    && crate::base::exit::is_temporary(err) =>
            {
                // Some recipients have it, which is success under --partial; the rest are
                // named, as on the first try.
                crate::say!("smtpsend: {}", error_line(err));
                return (delivery, Ok(()), tries, envelope);
            }
            _ => return (delivery, verdict, tries, envelope),
        }
    }
}

/// After a send that reached some recipients (under --partial), the recipients refused for
/// now (4xx, or never tried) as an envelope of their own, with the failure to report for
/// them; `None` when nobody is left or only permanent refusals are.
pub fn left_for_later(
    envelope: &Envelope,
    delivery: &Delivery,
) -> Option<(Envelope, anyhow::Error)> {
    let later: Vec<_> = delivery
        .undelivered()
        .filter(|r| r.deciding_code() < 500)
        .collect();
    if later.is_empty() {
        return None;
    }
    let err = fail(
        Kind::TempFail,
        format!("not delivered yet to {}", report::names(&later)),
    );
    let envelope = Envelope {
        from: envelope.from.clone(),
        recipients: later.iter().map(|r| r.address.clone()).collect(),
    };
    Some((envelope, err))
}

/// A failure after SIGINT or SIGTERM stopped the send, or after the bound on the run
/// (`--max-time`) passed, is that, whatever the session made of its cut connection (a lost
/// reply, a failed TLS handshake): temporary, so the message is kept. When the data had been
/// sent in full the server may still have accepted it.
pub(crate) fn stopped_by_signal(err: anyhow::Error) -> anyhow::Error {
    let why = match crate::base::interrupt::received() {
        Some(signal) => format!("interrupted by {}", crate::base::interrupt::name(signal)),
        None if crate::base::interrupt::expired() => crate::base::interrupt::expired_text(),
        None => return err,
    };
    let stopped = fail(Kind::TempFail, why);
    if maybe_accepted(&err) {
        stopped.context(crate::smtp::MaybeAccepted)
    } else {
        stopped
    }
}

/// The envelope still to send after a failed try: when the server delivered the message to
/// some recipients (LMTP gives one reply per recipient), only the others, so that trying
/// again never delivers it twice to anyone.
pub fn still_to_send(envelope: &Envelope, delivery: Option<&Delivery>) -> Envelope {
    match delivery {
        Some(delivery) if delivery.delivered_count() > 0 => Envelope {
            from: envelope.from.clone(),
            recipients: delivery
                .undelivered()
                .map(|recipient| recipient.address.clone())
                .collect(),
        },
        _ => envelope.clone(),
    }
}

/// One connection, one transaction, QUIT: a batch of one.
fn send_once(
    debug: u8,
    target: &Target,
    options: &Options,
    envelope: &Envelope,
    content: &Content,
    policy: &Policy,
) -> (Option<Delivery>, anyhow::Result<()>) {
    let message = Message {
        envelope,
        content,
        policy,
    };
    match send_one(target, options, debug, message) {
        Ok(delivery) => {
            let verdict = report::judge(&delivery, policy.partial);
            (Some(delivery), verdict)
        }
        Err(err) => (None, Err(err)),
    }
}

/// The outbox entry for a message about to be tried.
fn new_meta(kept: &[String], settings: &Settings, envelope: &Envelope, policy: &Policy) -> Meta {
    let mut options = kept.to_vec();
    if let Some(account) = &settings.account {
        options.push(format!("--account={account}"));
    }
    Meta {
        format: outbox::FORMAT,
        created: outbox::now(),
        envelope: envelope.clone(),
        size: 0,
        sha256: None,
        server: settings.target.to_string(),
        account: settings.account.clone(),
        options,
        partial: policy.partial,
        declare_8bitmime: policy.declare_8bitmime,
        dsn: policy.dsn.clone(),
        attempts: 0,
        last_attempt: None,
        last_error: None,
        last_exit_code: None,
    }
}

/// Removes a sent message from the outbox; if that fails, says so (a flush would send it
/// again).
fn remove_sent(claim: Claim) {
    let id = claim.id().to_string();
    if let Err(err) = claim.remove() {
        crate::say!(
            "smtpsend: warning: the message was sent, but {}; drop it with --drop-queue {id} \
             or a flush sends it again",
            one_line(&err)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_lost_reply_after_the_data_is_not_retried() {
        let lost = fail(Kind::TempFail, "timed out").context(crate::smtp::MaybeAccepted);
        assert_eq!(crate::base::exit::code_for(&lost), 75);
        assert!(!retryable(&lost));
        assert!(retryable(&fail(Kind::TempFail, "451 later")));
        assert!(!retryable(&fail(Kind::Unavailable, "554 no")));
    }
}
