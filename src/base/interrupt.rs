//! What stops a run from outside the session: Ctrl-C (SIGINT) and SIGTERM while a message
//! is being sent with the outbox on, and the bound on the whole run (`--max-time`). Either
//! way the session stops at once and the message is kept in the outbox (when it is on); after
//! a signal the process then dies of it, as the shell that sent it expects; after the time
//! bound it ends as a temporary failure (75, or 0 when the message was queued).
//!
//! The time bound counts from the start of the process ([`mark_start`]). When it passes, a
//! watchdog thread shuts the connection down as the signal handler does, so that a server
//! that reads one byte a second, or sends one line a minute, cannot hold the run; every
//! later read or write fails at once, a retry's wait ends, and no new session opens. Should
//! the run still not have ended a few seconds later (a host name lookup that hangs, a
//! password prompt nobody answers), the watchdog ends the process with 75 itself, unless the
//! outbox is being written, which it lets finish.
//!
//! Without the outbox (`--queue never`) nothing is caught: the signal ends the process as
//! usual and nothing is written anywhere. Nor is anything caught while the message is still
//! being read or composed: Ctrl-C while typing a message abandons it.
//!
//! How the session is stopped: the handler records the signal and shuts the current
//! connection of each lane down (one per connection of `--parallel`) (`shutdown(2)` is async-signal-safe), so a read or write blocked on the
//! server returns at once; [`check`] stops the ones that start later. A connect in progress
//! is not cut short: it ends within its own deadline and the next read stops the session.

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// The most sessions under way at once: one per connection of `--parallel`.
pub const LANES: usize = 32;

/// The signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The socket of the session under way in each lane (-1: none); lane 0 is the main thread's.
static CONNECTIONS: [AtomicI32; LANES] = [const { AtomicI32::new(-1) }; LANES];

thread_local! {
    /// The lane of the sessions this thread opens (see [`set_lane`]).
    static LANE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
/// Set when a send was stopped by the signal and the message kept: die of it at exit.
static STOPPED_A_SEND: AtomicBool = AtomicBool::new(false);
/// When the process started, for `--max-time`.
static STARTED: OnceLock<Instant> = OnceLock::new();
/// The bound on the run and when it passes, once set.
static LIMIT: OnceLock<(Duration, Instant)> = OnceLock::new();
/// Set when the bound on the run has passed.
static EXPIRED: AtomicBool = AtomicBool::new(false);
/// Sections (writing the outbox) the watchdog must not cut short.
static CRITICAL: AtomicUsize = AtomicUsize::new(0);
/// How long after the bound the watchdog waits for the run to end by itself.
const GRACE: Duration = Duration::from_secs(5);

extern "C" fn on_signal(signal: libc::c_int) {
    RECEIVED.store(signal, SeqCst);
    shut_down_all();
}

/// Shuts down the socket of every lane's session, so that a read or write blocked on a
/// server returns at once. Only atomics and shutdown(2): safe in a signal handler.
fn shut_down_all() {
    for slot in &CONNECTIONS {
        let fd = slot.load(SeqCst);
        if fd >= 0 {
            // SAFETY: shutdown(2) is async-signal-safe. On an fd that is no socket (closed
            // and reused since) it fails with ENOTSOCK and does nothing.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    }
}

/// From now on SIGINT and SIGTERM stop the session instead of killing the process.
pub fn catch() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only touches atomics and calls
        // shutdown(2), both async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The signal received since [`catch`], if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// `SIGINT` or `SIGTERM`.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The connection a signal should shut down: the newest one of this thread's lane.
pub fn watch(fd: i32) {
    CONNECTIONS[LANE.get()].store(fd, SeqCst);
}

/// Sessions opened by this thread from now on are watched in `lane` (below [`LANES`]): each
/// connection of `--parallel` has its own.
pub fn set_lane(lane: usize) {
    LANE.set(lane.min(LANES - 1));
}

/// Records the start of the process: `--max-time` counts from here. Call first in `main`.
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// Bounds the whole run (`--max-time`): from now on every wait is cut short when the bound
/// passes (see the module's documentation). Only the first call counts.
pub fn limit_run(max_time: Option<Duration>) {
    let Some(limit) = max_time else { return };
    let started = *STARTED.get_or_init(Instant::now);
    if LIMIT.set((limit, started + limit)).is_err() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("max-time".into())
        .spawn(move || watchdog(started + limit));
    if spawned.is_err() {
        // Without the watchdog the per-wait caps (see `remaining`) still apply.
        crate::say!("smtpsend: warning: cannot watch --max-time; each wait is bounded still");
    }
}

fn watchdog(deadline: Instant) {
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
    EXPIRED.store(true, SeqCst);
    shut_down_all();
    std::thread::sleep(GRACE);
    while CRITICAL.load(SeqCst) > 0 {
        std::thread::sleep(Duration::from_millis(50));
    }
    crate::say!("smtpsend: {}", expired_text());
    std::process::exit(75);
}

/// The time left before the bound on the run passes; `None` without a bound.
pub fn remaining() -> Option<Duration> {
    LIMIT
        .get()
        .map(|(_, deadline)| deadline.saturating_duration_since(Instant::now()))
}

/// `wait` cut to the time left in the run.
pub fn capped(wait: Duration) -> Duration {
    remaining().map_or(wait, |left| wait.min(left.max(Duration::from_millis(1))))
}

/// True once the bound on the run has passed.
pub fn expired() -> bool {
    EXPIRED.load(SeqCst) || remaining().is_some_and(|left| left.is_zero())
}

/// `the run took longer than --max-time 30 s`.
pub fn expired_text() -> String {
    let limit = LIMIT.get().map_or(0.0, |(limit, _)| limit.as_secs_f64());
    format!("the run took longer than --max-time {limit} s (a bound on the whole run)")
}

/// Runs `work` (writing the outbox) without the watchdog ending the process in the middle.
pub fn critical<T>(work: impl FnOnce() -> T) -> T {
    CRITICAL.fetch_add(1, SeqCst);
    let result = work();
    CRITICAL.fetch_sub(1, SeqCst);
    result
}

/// Fails once a signal was received or the bound on the run passed: called before every
/// read and write on the connection, so that one starting after it does not wait for the
/// server.
pub fn check() -> io::Result<()> {
    if expired() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, expired_text()));
    }
    match received() {
        None => Ok(()),
        Some(signal) => Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!("stopped by {}", name(signal)),
        )),
    }
}

/// Sleeps for `duration`, or less when a signal comes or the bound on the run passes.
pub fn sleep(duration: Duration) {
    let end = Instant::now() + duration;
    while received().is_none() && !expired() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// Records that a send was stopped by the signal (its message kept in the outbox).
pub fn stopped_a_send() {
    STOPPED_A_SEND.store(true, SeqCst);
}

/// When a send was stopped by a signal, ends the process by that signal, as a program
/// interrupted by Ctrl-C should (a shell loop then stops too). Call after all output.
pub fn die_if_stopped() {
    if !STOPPED_A_SEND.load(SeqCst) {
        return;
    }
    let Some(signal) = received() else { return };
    // SAFETY: restoring the default action and raising the signal ends the process.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    std::process::exit(128 + signal);
}
