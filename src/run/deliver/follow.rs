//! The outbox entries that follow a send: the first time a try reaches the server, the
//! entries due on the same route are claimed and ride on its session, the first one's
//! commands behind the message's end mark; they are sent once the message itself is
//! logged, so that the log reads in the order things happened. What becomes of them never
//! changes the message's outcome; each is logged and recorded in its entry.

use super::*;

/// The route a message goes by, for the outbox entries that may follow it.
pub(super) struct Route {
    /// The stored options of an entry queued for the same route.
    pub options: Vec<String>,
    /// The message's own entry (`--queue always`), which is not a follower.
    pub own: Option<String>,
}

/// Outbox entries waiting on a try's open session.
pub(super) struct Followers {
    batch: Batch,
    claims: Vec<(Claim, Meta)>,
    /// The first entry's message, read to ride behind the try's message.
    first: Option<anyhow::Result<Content>>,
}

impl Followers {
    /// Sends them over the session, then ends it.
    pub(super) fn send(self, settings: &Settings) {
        let Followers {
            mut batch,
            claims,
            first,
        } = self;
        send_claimed(&mut batch, claims, first, settings, &mut Vec::new());
        batch.finish();
    }
}

/// What one try came to.
pub(super) struct Try {
    pub delivery: Option<Delivery>,
    pub verdict: anyhow::Result<()>,
    /// The TLS version of the session, when it had TLS.
    pub tls: Option<String>,
    /// The entries due on the route, when this try was the first to reach the server.
    pub followers: Option<Followers>,
}

/// One connection, one transaction, QUIT: a batch of one. The first time the server is
/// reached (`follow` is then taken), the outbox entries due on the route come along: the
/// session stays open for them instead of ending.
pub(super) fn send_once(
    debug: u8,
    settings: &Settings,
    options: &Options,
    message: Message,
    follow: &mut Option<&Route>,
) -> Try {
    let mut batch = Batch::new(settings.target.clone(), options.clone(), debug);
    let claims = match follow {
        Some(route) => due_entries(settings, route),
        None => Vec::new(),
    };
    let first = claims
        .first()
        .map(|(claim, meta)| (claim.content(meta), policy_of(meta)));
    let next = match (&first, claims.first()) {
        (Some((Ok(content), policy)), Some((_, meta))) => Some(Message {
            envelope: &meta.envelope,
            content,
            policy,
        }),
        _ => None,
    };
    let result = batch.send(message, next, claims.is_empty());
    let tls = batch.tls_version();
    if batch.connected() {
        *follow = None;
    }
    let followers = if batch.connected() && !claims.is_empty() {
        Some(Followers {
            batch,
            claims,
            first: first.map(|(content, _)| content),
        })
    } else {
        batch.finish();
        None
    };
    let (delivery, verdict) = match result {
        Ok(delivery) => {
            let verdict = report::judge(&delivery, message.policy.partial);
            (Some(delivery), verdict)
        }
        Err(err) => (None, Err(err)),
    };
    Try {
        delivery,
        verdict,
        tls,
        followers,
    }
}

/// The outbox entries due on the message's route, claimed; none when there is no outbox.
fn due_entries(settings: &Settings, route: &Route) -> Vec<(Claim, Meta)> {
    let Ok(outbox) = Outbox::locate(settings.spool.as_deref()) else {
        return Vec::new();
    };
    let Ok(Some(queue)) = outbox.open() else {
        return Vec::new();
    };
    claim_due(
        &queue,
        &route.options,
        settings.account.as_deref(),
        route.own.as_deref(),
    )
}
