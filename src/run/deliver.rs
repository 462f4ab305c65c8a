//! Sending one message: tries again after temporary failures (`--retries`), keeps the
//! message in the outbox when it cannot go now (`--queue`), sends the outbox's entries due
//! on the same route once the server is reached, and logs every try.

use std::time::Duration;

use crate::base::exit::{Kind, fail, one_line};
use crate::message::{Content, Envelope};
use crate::plan::Send;
use crate::plan::settings::{QueueMode, Settings};
use crate::report;
use crate::report::errors::error_line;
use crate::run::batch::{Batch, Message, left_for_later, still_to_send};
use crate::run::entries::{claim_due, policy_of, send_claimed};
use crate::run::journal::Attempt;
use crate::run::outbox::{self, Claim, Meta, Outbox};
use crate::run::prepare::Prepared;
use crate::smtp::{Delivery, Options, Policy, maybe_accepted};

mod follow;
use follow::*;
mod keep;
use keep::*;

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
/// last try failed temporarily. The first try that reaches the server also sends the
/// outbox's entries due on the same route, over the same session. Each try is logged.
pub fn send(plan: &Send, settings: &Settings, prepared: &Prepared) -> Outcome {
    let (envelope, content) = (&prepared.envelope, &prepared.content);
    // The password is read once, before anything is queued or sent.
    let options = match settings.session_options() {
        Ok(options) => options,
        // An OAuth2 token endpoint out of reach: with the outbox on, the message waits.
        Err(err) if crate::base::exit::is_temporary(&err) && settings.queue != QueueMode::Never => {
            return queue_unsent(plan, settings, prepared, err);
        }
        Err(err) => return failed_before_trying(settings, prepared, err),
    };
    if settings.queue != QueueMode::Never {
        // From here on Ctrl-C or SIGTERM stops the send and keeps the message (see
        // crate::base::interrupt); before, while the message was read, it abandons it.
        crate::base::interrupt::catch();
    }
    let queued = match queue_first(plan, settings, envelope, content) {
        Ok(queued) => queued,
        Err(err) => return failed_before_trying(settings, prepared, err),
    };
    let route = Route {
        options: route_of(&plan.kept_options, settings),
        own: queued.as_ref().map(|(_, claim)| claim.id().to_string()),
    };
    let tried = send_with_retries(plan, settings, &options, prepared, &route);
    let mut outcome = Outcome {
        delivery: tried.delivery,
        verdict: Ok(()),
        queued_as: None,
        queued_because: None,
    };
    let followers = tried.followers;
    let verdict = tried.verdict.map_err(stopped_by_signal);
    let logged = verdict.as_ref().map(|_| ()).map_err(|err| {
        fail(
            Kind::from_code(crate::base::exit::code_for(err)),
            error_line(err),
        )
    });
    match verdict {
        Ok(()) => {
            if let Some((_, claim)) = queued {
                remove_sent(claim);
            }
        }
        Err(err) if crate::base::exit::is_temporary(&err) && settings.queue != QueueMode::Never => {
            let later = Later {
                envelope: tried.remaining,
                attempts: tried.tries - 1,
                content,
            };
            keep(plan, settings, queued, later, err, &mut outcome);
        }
        Err(err) => {
            // A permanent failure is never queued: the caller has the error.
            if let Some((_, claim)) = queued {
                remove_unsent(claim);
            }
            outcome.verdict = Err(err);
        }
    }
    Attempt {
        settings,
        envelope,
        content,
        delivery: outcome.delivery.as_ref(),
        tls: tried.tls,
        verdict: &logged,
        outbox: outcome.queued_as.as_deref(),
        queued: outcome.queued_as.is_some(),
        retrying: false,
    }
    .log();
    if let Some(followers) = followers {
        followers.send(settings);
    }
    outcome
}

/// Removes the outbox entry `--queue always` wrote for a message that failed for good.
fn remove_unsent(claim: Claim) {
    let id = claim.id().to_string();
    if let Err(err) = claim.remove() {
        crate::say!(
            "smtpsend: warning: {}; drop it with --drop-queue {id}",
            one_line(&err)
        );
    }
}

/// A send that failed before any try (the password, the outbox): logged, and its outcome.
fn failed_before_trying(settings: &Settings, prepared: &Prepared, err: anyhow::Error) -> Outcome {
    let verdict = Err(err);
    Attempt {
        settings,
        envelope: &prepared.envelope,
        content: &prepared.content,
        delivery: None,
        tls: None,
        verdict: &verdict,
        outbox: None,
        queued: false,
        retrying: false,
    }
    .log();
    Outcome {
        delivery: None,
        verdict,
        queued_as: None,
        queued_because: None,
    }
}

/// Keeps a message in the outbox after a temporary failure before any try (the login
/// could not be prepared: an OAuth2 token endpoint out of reach); logged, and the outcome
/// says it was queued, or why it could not be.
fn queue_unsent(
    plan: &Send,
    settings: &Settings,
    prepared: &Prepared,
    err: anyhow::Error,
) -> Outcome {
    let mut outcome = Outcome {
        delivery: None,
        verdict: Ok(()),
        queued_as: None,
        queued_because: None,
    };
    let logged = Err(fail(
        Kind::from_code(crate::base::exit::code_for(&err)),
        error_line(&err),
    ));
    let later = Later {
        envelope: prepared.envelope.clone(),
        attempts: 0,
        content: &prepared.content,
    };
    keep(plan, settings, None, later, err, &mut outcome);
    Attempt {
        settings,
        envelope: &prepared.envelope,
        content: &prepared.content,
        delivery: None,
        tls: None,
        verdict: &logged,
        outbox: outcome.queued_as.as_deref(),
        queued: outcome.queued_as.is_some(),
        retrying: false,
    }
    .log();
    outcome
}

/// What the tries came to.
struct Tried {
    delivery: Option<Delivery>,
    verdict: anyhow::Result<()>,
    tries: u32,
    /// The envelope still to send (recipients an LMTP server delivered to are left out).
    remaining: Envelope,
    /// The TLS version of the last try's session.
    tls: Option<String>,
    /// Outbox entries waiting on the try's session, sent once the try is logged.
    followers: Option<Followers>,
}

/// Tries up to `1 + settings.retries` times; returns the last result, the number of tries
/// and the envelope still to send (recipients an LMTP server already delivered to are left
/// out of later tries). A refusal that concerns a sender made from the login and host name
/// says so (see [`report::with_made_up_sender`]). A try that is followed by another is
/// logged here; the last one by the caller, who knows what became of the message.
fn send_with_retries(
    plan: &Send,
    settings: &Settings,
    options: &Options,
    prepared: &Prepared,
    route: &Route,
) -> Tried {
    let (content, policy) = (&prepared.content, &plan.policy);
    let mut tries = 1;
    let mut envelope = prepared.envelope.clone();
    // Under --partial, recipients refused for now are tried again or queued when the user
    // asked for either; without, the message is sent to the others and that is that.
    let keep_trying =
        policy.partial && (settings.retries > 0 || settings.queue != QueueMode::Never);
    let mut delivered_any = false;
    let mut follow = Some(route);
    loop {
        let message = Message {
            envelope: &envelope,
            content,
            policy,
        };
        let Try {
            delivery,
            verdict,
            tls,
            followers,
        } = send_once(plan.output.debug, settings, options, message, &mut follow);
        let verdict = report::noting_made_up_sender(
            verdict,
            prepared.made_up_sender.as_deref(),
            delivery.as_ref(),
        );
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
        let tried = Tried {
            delivery,
            verdict,
            tries,
            remaining: envelope.clone(),
            tls,
            followers,
        };
        match next_step(settings, policy, delivered_any, tried) {
            Step::Done(tried) => return tried,
            Step::Retry(retried, wait) => {
                Attempt {
                    settings,
                    envelope: &retried.remaining,
                    content,
                    delivery: retried.delivery.as_ref(),
                    tls: retried.tls,
                    verdict: &retried.verdict,
                    outbox: route.own.as_deref(),
                    queued: false,
                    retrying: true,
                }
                .log();
                if let Some(followers) = retried.followers {
                    followers.send(settings);
                }
                crate::base::interrupt::sleep(wait);
                tries += 1;
            }
        }
    }
}

/// What follows a try.
enum Step {
    /// Try again after this wait.
    Retry(Tried, Duration),
    /// That was the last try.
    Done(Tried),
}

/// After a try: try again (after a wait), or stop there.
fn next_step(settings: &Settings, policy: &Policy, delivered_any: bool, tried: Tried) -> Step {
    let tries = tried.tries;
    match &tried.verdict {
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
            Step::Retry(tried, wait)
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
            Step::Done(Tried {
                verdict: Ok(()),
                ..tried
            })
        }
        _ => Step::Done(tried),
    }
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
