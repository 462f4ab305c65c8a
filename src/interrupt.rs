//! Ctrl-C (SIGINT) and SIGTERM while a message is being sent with the outbox on: the
//! session stops at once, the message is kept in the outbox, and the process then dies of
//! the signal, as the shell that sent it expects.
//!
//! Without the outbox (`--queue never`) nothing is caught: the signal ends the process as
//! usual and nothing is written anywhere. Nor is anything caught while the message is still
//! being read or composed: Ctrl-C while typing a message abandons it.
//!
//! How the session is stopped: the handler records the signal and shuts the current
//! connection down (`shutdown(2)` is async-signal-safe), so a read or write blocked on the
//! server returns at once; [`check`] stops the ones that start later. A connect in progress
//! is not cut short: it ends within its own deadline and the next read stops the session.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// The signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The socket of the session under way (-1: none).
static CONNECTION: AtomicI32 = AtomicI32::new(-1);
/// Set when a send was stopped by the signal and the message kept: die of it at exit.
static STOPPED_A_SEND: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(signal: libc::c_int) {
    RECEIVED.store(signal, SeqCst);
    let fd = CONNECTION.load(SeqCst);
    if fd >= 0 {
        // SAFETY: shutdown(2) is async-signal-safe. On an fd that is no socket (closed and
        // reused since) it fails with ENOTSOCK and does nothing.
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
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

/// The connection a signal should shut down (the newest one).
pub fn watch(fd: i32) {
    CONNECTION.store(fd, SeqCst);
}

/// Fails once a signal was received: called before every read and write on the
/// connection, so that one starting after the signal does not wait for the server.
pub fn check() -> io::Result<()> {
    match received() {
        None => Ok(()),
        Some(signal) => Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!("stopped by {}", name(signal)),
        )),
    }
}

/// Sleeps for `duration`, or less when a signal comes.
pub fn sleep(duration: Duration) {
    let end = Instant::now() + duration;
    while received().is_none() {
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
