//! Messages over a session kept open. `--bulk` and `-q` hand theirs out one at a time to
//! `--parallel` connections ([`run`]; one thread each, the main thread when there is one),
//! each message exactly once; a single send and the outbox entries due on its route go in
//! turn over one session ([`Batch`]). Each connection keeps its session in a [`link`]:
//! opened when needed, opened again when lost.
//!
//! On each connection ([`lane`]), messages go as fast as the protocol lets them:
//!
//! - with PIPELINING and CHUNKING, a window of up to `--window` messages is written ahead of
//!   their replies (whole transactions: MAIL, RCPT, `BDAT n LAST` and the data; see
//!   [`crate::smtp::window`]), several messages per round trip, the replies read back in
//!   order; a message the window does not take (several recipients under all-or-nothing, a
//!   large or file-backed one) waits until the window is empty and goes by itself;
//! - otherwise, with PIPELINING, the next message's MAIL, RCPT and DATA ride behind the
//!   current one's end mark (RFC 2920 §3.1): one message per round trip;
//! - QUIT rides behind the last message.
//!
//! A lost session is opened again for the next message. A connection that cannot be opened
//! (or whose login is refused) gives its messages back to the others and stops, unless it is
//! the last one running: then every message left fails the same way at once, without trying.
//! The exit code of a batch is its first failure's ([`failures`]).

mod lane;
mod link;
mod single;
pub use single::Batch;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::base::exit::{Kind, fail};
use crate::message::{Content, Envelope};
use crate::plan::settings::Spread;
use crate::report;
use crate::smtp::stream::Target;
use crate::smtp::{Delivery, Options, Policy};

/// One message of a batch.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    pub envelope: &'a Envelope,
    pub content: &'a Content,
    pub policy: &'a Policy,
}

/// What a batch sends: its messages, handed out one at a time to whichever connection asks,
/// and what became of each. Shared by the connections' threads.
pub trait Jobs: Sync {
    type Job: Send;
    /// The next message to send; `None` once every one was handed out.
    fn next(&self) -> Option<Self::Job>;
    /// The message a job sends.
    fn message<'a>(&'a self, job: &'a Self::Job) -> Message<'a>;
    /// What became of a job: the server's answer or the error, and the connection that
    /// carried it.
    fn done(&self, job: Self::Job, sent: anyhow::Result<Delivery>, carried: Carried);
}

/// The connection that carried a message: its number (from 1, in the order connections
/// were opened) and its TLS version; empty when no connection did.
#[derive(Debug, Clone, Default)]
pub struct Carried {
    pub connection: Option<usize>,
    pub tls: Option<String>,
}

/// Where a batch goes and how.
pub struct Route<'a> {
    pub target: &'a Target,
    pub options: &'a Options,
    /// The `-d` level of each session's transcript.
    pub debug: u8,
    pub spread: Spread,
}

/// Sends every job of `jobs` (see the module's documentation); returns once each is done.
pub fn run<J: Jobs>(route: &Route, jobs: &J) {
    let parallel = route.spread.parallel.max(1);
    let pool = Pool {
        jobs,
        state: Mutex::new(PoolState {
            returned: Vec::new(),
            running: parallel,
        }),
        opened: AtomicUsize::new(0),
    };
    let mut options = route.options.clone();
    if parallel > 1 {
        // Several bars at once would only garble the terminal.
        options.progress = None;
    }
    let route = Route {
        options: &options,
        ..*route
    };
    if parallel == 1 {
        lane::Lane::new(&pool, &route).run();
        return;
    }
    std::thread::scope(|scope| {
        for index in 0..parallel {
            let (pool, route) = (&pool, &route);
            scope.spawn(move || {
                crate::base::interrupt::set_lane(index);
                lane::Lane::new(pool, route).run();
            });
        }
    });
}

/// The jobs not handed out yet, shared by the connections.
struct Pool<'j, J: Jobs> {
    jobs: &'j J,
    state: Mutex<PoolState<J::Job>>,
    /// Connections opened (or tried) so far: the next one's number is this plus one.
    opened: AtomicUsize,
}

struct PoolState<Job> {
    /// Jobs a connection gave back when it could not be opened.
    returned: Vec<Job>,
    /// Connections still taking jobs.
    running: usize,
}

impl<J: Jobs> Pool<'_, J> {
    /// The next job: one given back first, else a new one.
    fn take(&self) -> Option<J::Job> {
        let mut state = lock(&self.state);
        state.returned.pop().or_else(|| self.jobs.next())
    }

    /// Gives jobs back when another connection is still running, which will send them,
    /// and stops this one; `Err` with the jobs when this is the last one running.
    fn give_back(&self, jobs: Vec<J::Job>) -> Result<(), Vec<J::Job>> {
        let mut state = lock(&self.state);
        if state.running <= 1 {
            return Err(jobs);
        }
        state.returned.extend(jobs);
        state.running -= 1;
        Ok(())
    }

    /// Stops a connection that found no job, unless jobs were given back meanwhile (then it
    /// goes on with them): true when it stopped.
    fn stop_if_idle(&self) -> bool {
        let mut state = lock(&self.state);
        if !state.returned.is_empty() {
            return false;
        }
        state.running -= 1;
        true
    }

    /// The number of the next connection, from 1.
    fn next_number(&self) -> usize {
        self.opened.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// Locks a mutex, also one a panicking thread left poisoned (its data is still whole: every
/// change under these locks is a single push, pop or assignment).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// The error of a batch whose messages did not all go: `N of M <what> not sent (<where>)`,
/// with the exit code of the first failure.
pub fn failures(failed: &[u8], total: usize, what: &str, named: &str) -> Option<anyhow::Error> {
    let first = *failed.first()?;
    Some(fail(
        Kind::from_code(first),
        format!("{} of {total} {what} not sent ({named})", failed.len()),
    ))
}
