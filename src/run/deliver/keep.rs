//! The outbox steps of a send: with `--queue always` the entry written first, with
//! `--queue on-failure` the message kept after a temporary failure, the entry removed once
//! the server took the message.

use super::*;

/// With `--queue always`, the message's outbox entry, written before anything is sent.
/// An outbox directory that is not safe to use (a symbolic link, another user's, writable
/// by others) is a configuration error to fix, not a reason to send without the copy the
/// user asked for; any other failure to write is a warning, and the message goes without.
pub(super) fn queue_first(
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
        Outbox::locate(settings.spool.as_deref()).and_then(|outbox| outbox.add(&meta, content))
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
pub(super) struct Later<'a> {
    pub envelope: Envelope,
    /// Tries made before the last one.
    pub attempts: u32,
    pub content: &'a Content,
}

/// Keeps the message in the outbox after the temporary failure `err` (its entry updated, or
/// a new one), or says why it could not.
pub(super) fn keep(
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
            Outbox::locate(settings.spool.as_deref())
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

/// The route a message goes by, as its outbox entry keeps it: the options that chose and
/// reached the server, and the account.
pub(super) fn route_of(kept: &[String], settings: &Settings) -> Vec<String> {
    let mut options = kept.to_vec();
    if let Some(account) = &settings.account {
        options.push(format!("--account={account}"));
    }
    options
}

/// The outbox entry for a message about to be tried.
fn new_meta(kept: &[String], settings: &Settings, envelope: &Envelope, policy: &Policy) -> Meta {
    let options = route_of(kept, settings);
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
pub(super) fn remove_sent(claim: Claim) {
    let id = claim.id().to_string();
    if let Err(err) = claim.remove() {
        crate::say!(
            "smtpsend: warning: the message was sent, but {}; drop it with --drop-queue {id} \
             or a flush sends it again",
            one_line(&err)
        );
    }
}
