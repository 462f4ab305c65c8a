//! The one batch loop, used by a single send, `--bulk` and `-q`: messages handed out one at a
//! time to `--parallel` connections (one thread each; the main thread when there is one),
//! each message exactly once.
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

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::base::exit::{Kind, fail};
use crate::message::{Content, Envelope};
use crate::plan::settings::Spread;
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
    /// carried it (numbered from 1 in the order they were opened; `None` when none did).
    fn done(&self, job: Self::Job, sent: anyhow::Result<Delivery>, connection: Option<usize>);
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

/// Sends one message over one connection: a batch of one.
pub fn send_one(
    target: &Target,
    options: &Options,
    debug: u8,
    message: Message,
) -> anyhow::Result<Delivery> {
    let one = One {
        message,
        handed_out: Mutex::new(false),
        sent: Mutex::new(None),
    };
    let route = Route {
        target,
        options,
        debug,
        spread: Spread {
            parallel: 1,
            window: 1,
        },
    };
    run(&route, &one);
    let sent = one.sent.into_inner().unwrap_or_else(|p| p.into_inner());
    sent.unwrap_or_else(|| Err(fail(Kind::Software, "the message was not sent")))
}

/// The jobs of a batch of one.
struct One<'a> {
    message: Message<'a>,
    handed_out: Mutex<bool>,
    sent: Mutex<Option<anyhow::Result<Delivery>>>,
}

impl Jobs for One<'_> {
    type Job = ();

    fn next(&self) -> Option<()> {
        let mut handed_out = lock(&self.handed_out);
        (!std::mem::replace(&mut *handed_out, true)).then_some(())
    }

    fn message<'a>(&'a self, _: &'a ()) -> Message<'a> {
        self.message
    }

    fn done(&self, _: (), sent: anyhow::Result<Delivery>, _: Option<usize>) {
        *lock(&self.sent) = Some(sent);
    }
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

/// The error of a batch whose messages did not all go: `N of M <what> not sent (<where>)`,
/// with the exit code of the first failure.
pub fn failures(failed: &[u8], total: usize, what: &str, named: &str) -> Option<anyhow::Error> {
    let first = *failed.first()?;
    Some(fail(
        Kind::from_code(first),
        format!("{} of {total} {what} not sent ({named})", failed.len()),
    ))
}
