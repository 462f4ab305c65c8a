//! Crash torture test of the outbox, after SQLite's crash testing: smtpsend is killed with
//! SIGKILL at random instants while it queues a message (`--queue always`, and
//! `--queue on-failure` against a server that refuses for now), while it flushes several
//! entries (`-q`, and `-q --parallel 3` over three connections at once, with a window of
//! messages in flight on each when the server offers CHUNKING), while a send delivers its
//! message and then the entries queued for the same route over the same connection, in the
//! middle of DATA or BDAT, while it waits for the final reply, and
//! between that reply and the update of the outbox. After each kill a flush against a
//! healthy server sends what is left, and the test checks:
//!
//! - nothing is lost: every message smtpsend had taken charge of (an entry committed, or
//!   `queued as` said, or exit 0) was delivered, whole;
//! - a message arrives twice only in the window RFC 1047 describes: the server sent its
//!   final 250 before the kill, and the kill came before smtpsend removed the entry;
//! - the outbox is left empty: no leftover, no damaged entry.
//!
//! The server is written here: it records, under the lock the harness takes to kill, the
//! instant it sent each final 250, and it never accepts a message once the client of that
//! run was killed. So "the 250 was sent before the kill" is exact, not a guess about
//! timing. Kill instants are drawn uniformly over a run, and around the server's steps
//! (connection, start and end of the data, final reply) to land in each window often.
//!
//! `SMTPSEND_CRASH_RUNS` sets the number of runs (default 24, a few seconds);
//! `SMTPSEND_CRASH_THREADS` the number of runs at once (default: the number of CPUs, at
//! most 4); `SMTPSEND_CRASH_SEED` the seed. CI runs 1,000 (see `.ci/run`). A summary line
//! is printed: runs, kills per phase, duplicates in and outside the window.
// The report of a test run goes to the test output; the program's own rule (all output
// through its scrubber) is for the program.
#![allow(clippy::disallowed_macros)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Home, Run, Running};

/// Lines of each message's body (about 44 KiB): long enough for the data to take a few
/// milliseconds against the slow server.
const BODY_LINES: usize = 640;
/// How much data the slow server reads between two pauses.
const DATA_PIECE: usize = 8 * 1024;
/// The longest any one run may take before the harness gives up on it.
const RUN_CAP: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// A small pseudo-random generator (xorshift64*): the harness needs no more.

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// A duration drawn uniformly from 0 to `max`.
    fn upto(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.below(max.as_micros() as u64 + 1))
    }

    fn chance(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

// ---------------------------------------------------------------------------------------
// The server.

/// How the server behaves towards the connections of one generation.
#[derive(Clone, Copy, Debug)]
struct Mode {
    /// 451 to every RCPT: a server that cannot take mail now.
    refuse: bool,
    /// Offer CHUNKING, so that smtpsend sends with BDAT.
    chunking: bool,
    /// A pause after each piece of data read, so that kills land in the middle of it.
    data_pause: Duration,
    /// The longest wait before the final reply, so that kills land while it is awaited.
    final_delay: Duration,
}

impl Mode {
    fn healthy() -> Mode {
        Mode {
            refuse: false,
            chunking: false,
            data_pause: Duration::ZERO,
            final_delay: Duration::ZERO,
        }
    }

    fn refusing() -> Mode {
        Mode {
            refuse: true,
            ..Mode::healthy()
        }
    }

    fn slow(chunking: bool) -> Mode {
        Mode {
            refuse: false,
            chunking,
            data_pause: Duration::from_micros(400),
            final_delay: Duration::from_millis(3),
        }
    }
}

/// A step of a session the harness can aim a kill at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Accepted,
    Refused,
    DataStarted,
    DataEnded,
    FinalReply,
}

#[derive(Clone, Debug)]
struct Event {
    generation: u32,
    step: Step,
    at: Instant,
}

/// A message the server accepted: the final 250 was sent (or written towards a client
/// that may be dying) at `at`.
#[derive(Clone, Debug)]
struct Delivery {
    marker: String,
    generation: u32,
    at: Instant,
    message: Vec<u8>,
}

struct State {
    /// Connections accepted from now on belong to this generation (one run of smtpsend).
    generation: u32,
    mode: Mode,
    /// Generations whose client was killed: no message is accepted from them any more.
    killed: Vec<u32>,
    events: Vec<Event>,
    deliveries: Vec<Delivery>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    listener: Mutex<TcpListener>,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, generation: u32, step: Step) {
        self.lock().events.push(Event {
            generation,
            step,
            at: Instant::now(),
        });
        self.changed.notify_all();
    }
}

/// An SMTP server on 127.0.0.1 that counts deliveries by marker, with the instant of each
/// final 250, and stops by itself when dropped.
struct CrashServer {
    addr: String,
    shared: Arc<Shared>,
    accept: Option<thread::JoinHandle<()>>,
}

impl CrashServer {
    fn start() -> CrashServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("address").to_string();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                generation: 0,
                mode: Mode::healthy(),
                killed: Vec::new(),
                events: Vec::new(),
                deliveries: Vec::new(),
            }),
            changed: Condvar::new(),
            listener: Mutex::new(listener),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::spawn(move || {
            let started = Instant::now();
            while !accept_shared.stop.load(Ordering::SeqCst)
                && started.elapsed() < Duration::from_secs(3600)
            {
                let accepted = {
                    let listener = accept_shared.listener.lock().unwrap();
                    accept_pending(&listener, &accept_shared)
                };
                if !accepted {
                    thread::sleep(Duration::from_micros(200));
                }
            }
        });
        CrashServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Starts a new generation with `mode`. Connections still waiting to be accepted (made
    /// by the previous run before it died) are accepted first, into the old generation.
    fn next_generation(&self, mode: Mode) -> u32 {
        let listener = self.shared.listener.lock().unwrap();
        accept_pending(&listener, &self.shared);
        let mut state = self.shared.lock();
        state.generation += 1;
        state.mode = mode;
        state.generation
    }

    /// Kills the process with SIGKILL, atomically with respect to the server's final
    /// replies: every 250 recorded before the returned instant was sent before the kill,
    /// and none is sent to this generation afterwards.
    fn kill(&self, running: &Running, generation: u32) -> Instant {
        let mut state = self.shared.lock();
        let at = Instant::now();
        // Not reaped before `Running::wait`, so its pid is still its own.
        running.signal(libc::SIGKILL);
        state.killed.push(generation);
        at
    }

    /// The instant of the `nth` (from 1) event `step` of `generation`, if it happened.
    fn event(&self, generation: u32, step: Step, nth: usize) -> Option<Instant> {
        self.shared
            .lock()
            .events
            .iter()
            .filter(|e| e.generation == generation && e.step == step)
            .nth(nth - 1)
            .map(|e| e.at)
    }

    fn events(&self, generation: u32) -> Vec<Event> {
        self.shared
            .lock()
            .events
            .iter()
            .filter(|e| e.generation == generation)
            .cloned()
            .collect()
    }

    /// Waits up to `wait` for any new event.
    fn wait_a_little(&self, wait: Duration) {
        let state = self.shared.lock();
        let _ = self.shared.changed.wait_timeout(state, wait);
    }

    /// Every delivery of a message whose marker starts with `prefix`.
    fn deliveries(&self, prefix: &str) -> Vec<Delivery> {
        self.shared
            .lock()
            .deliveries
            .iter()
            .filter(|d| d.marker.starts_with(prefix))
            .cloned()
            .collect()
    }
}

impl Drop for CrashServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Accepts every connection waiting, each into the current generation; true if any.
fn accept_pending(listener: &TcpListener, shared: &Arc<Shared>) -> bool {
    let mut any = false;
    while let Ok((stream, _)) = listener.accept() {
        any = true;
        let (generation, mode) = {
            let mut state = shared.lock();
            let generation = state.generation;
            state.events.push(Event {
                generation,
                step: Step::Accepted,
                at: Instant::now(),
            });
            (generation, state.mode)
        };
        shared.changed.notify_all();
        let shared = Arc::clone(shared);
        thread::spawn(move || {
            let _ = serve(stream, generation, mode, &shared);
        });
    }
    any
}

/// One SMTP session (PIPELINING, 8BITMIME, and CHUNKING when the mode says so).
fn serve(stream: TcpStream, generation: u32, mode: Mode, shared: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::with_capacity(DATA_PIECE, stream.try_clone()?);
    let mut writer = stream;
    let mut rng = Rng::new(
        u64::from(generation) ^ Instant::now().elapsed().as_nanos() as u64 ^ random_seed(),
    );
    writer.write_all(b"220 crash.test ESMTP\r\n")?;
    let (mut in_mail, mut recipients, mut data_started) = (false, 0, false);
    let mut message = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line)
            .trim_end()
            .to_ascii_uppercase();
        let reply: Vec<u8> = if text.starts_with("EHLO") {
            let chunking = if mode.chunking {
                "250-CHUNKING\r\n"
            } else {
                ""
            };
            format!("250-crash.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n{chunking}250 SIZE 100000000\r\n")
                .into_bytes()
        } else if text.starts_with("HELO") || text.starts_with("NOOP") {
            b"250 2.0.0 ok\r\n".to_vec()
        } else if text.starts_with("MAIL FROM:") {
            (in_mail, recipients, data_started) = (true, 0, false);
            message.clear();
            b"250 2.1.0 ok\r\n".to_vec()
        } else if text.starts_with("RCPT TO:") {
            if mode.refuse {
                shared.record(generation, Step::Refused);
                b"451 4.3.0 not now\r\n".to_vec()
            } else if in_mail {
                recipients += 1;
                b"250 2.1.5 ok\r\n".to_vec()
            } else {
                b"503 5.5.1 need MAIL first\r\n".to_vec()
            }
        } else if text == "DATA" {
            if recipients == 0 {
                b"554 5.5.1 no valid recipients\r\n".to_vec()
            } else {
                writer.write_all(b"354 go ahead\r\n")?;
                shared.record(generation, Step::DataStarted);
                if !read_dot_data(&mut reader, mode.data_pause, &mut message)? {
                    return Ok(());
                }
                shared.record(generation, Step::DataEnded);
                in_mail = false;
                let accepted = std::mem::take(&mut message);
                if !final_reply(&mut writer, shared, generation, mode, &mut rng, accepted)? {
                    return Ok(());
                }
                continue;
            }
        } else if let Some(arguments) = text.strip_prefix("BDAT ") {
            let mut words = arguments.split_whitespace();
            let size: usize = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            let last = words.next() == Some("LAST");
            if !data_started && recipients > 0 {
                data_started = true;
                shared.record(generation, Step::DataStarted);
            }
            let mut chunk = Vec::new();
            if !read_chunk(&mut reader, size, mode.data_pause, &mut chunk)? {
                return Ok(());
            }
            if recipients == 0 {
                b"554 5.5.1 no valid recipients\r\n".to_vec()
            } else if last {
                message.extend_from_slice(&chunk);
                shared.record(generation, Step::DataEnded);
                in_mail = false;
                let accepted = std::mem::take(&mut message);
                if !final_reply(&mut writer, shared, generation, mode, &mut rng, accepted)? {
                    return Ok(());
                }
                continue;
            } else {
                message.extend_from_slice(&chunk);
                format!("250 2.0.0 {size} octets received\r\n").into_bytes()
            }
        } else if text == "RSET" {
            (in_mail, recipients, data_started) = (false, 0, false);
            message.clear();
            b"250 2.0.0 ok\r\n".to_vec()
        } else if text == "QUIT" {
            let _ = writer.write_all(b"221 2.0.0 bye\r\n");
            return Ok(());
        } else {
            b"500 5.5.2 what?\r\n".to_vec()
        };
        writer.write_all(&reply)?;
    }
}

/// Reads dot-terminated data (unstuffing it), pausing after each piece; false at EOF.
fn read_dot_data(
    reader: &mut BufReader<TcpStream>,
    pause: Duration,
    message: &mut Vec<u8>,
) -> std::io::Result<bool> {
    let mut since_pause = 0;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(false);
        }
        if line == b".\r\n" {
            return Ok(true);
        }
        since_pause += line.len();
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        message.extend_from_slice(unstuffed);
        if since_pause >= DATA_PIECE && !pause.is_zero() {
            thread::sleep(pause);
            since_pause = 0;
        }
    }
}

/// Reads a BDAT chunk of `size` bytes, pausing after each piece; false at EOF.
fn read_chunk(
    reader: &mut BufReader<TcpStream>,
    size: usize,
    pause: Duration,
    chunk: &mut Vec<u8>,
) -> std::io::Result<bool> {
    while chunk.len() < size {
        let want = (size - chunk.len()).min(DATA_PIECE);
        let mut piece = vec![0; want];
        let got = reader.read(&mut piece)?;
        if got == 0 {
            return Ok(false);
        }
        chunk.extend_from_slice(&piece[..got]);
        if !pause.is_zero() {
            thread::sleep(pause);
        }
    }
    Ok(true)
}

/// Waits a little (as servers do while they store the message), then, unless this
/// generation's client was killed, accepts the message: records it with the instant and
/// sends 250, both under the lock the harness kills under. False when the client is gone.
fn final_reply(
    writer: &mut TcpStream,
    shared: &Shared,
    generation: u32,
    mode: Mode,
    rng: &mut Rng,
    message: Vec<u8>,
) -> std::io::Result<bool> {
    thread::sleep(rng.upto(mode.final_delay));
    let mut state = shared.lock();
    if state.killed.contains(&generation) {
        return Ok(false);
    }
    let at = Instant::now();
    state.deliveries.push(Delivery {
        marker: marker_of(&message).unwrap_or_default(),
        generation,
        at,
        message,
    });
    state.events.push(Event {
        generation,
        step: Step::FinalReply,
        at,
    });
    let written = writer.write_all(b"250 2.0.0 queued\r\n");
    drop(state);
    shared.changed.notify_all();
    written.map(|()| true)
}

/// The value of the message's `X-Crash-Id` field.
fn marker_of(message: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let start = text.find("\r\nX-Crash-Id: ")? + "\r\nX-Crash-Id: ".len();
    let end = text[start..].find("\r\n")? + start;
    Some(text[start..end].to_string())
}

// ---------------------------------------------------------------------------------------
// The runs.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    /// `--queue always` against a slow server.
    Always,
    /// `--queue on-failure` against a server that refuses for now.
    OnFailure,
    /// `-q` with several entries against a slow server.
    Flush,
    /// `-q --parallel 3` with more entries: three connections at once.
    ParallelFlush,
    /// A send (`--queue on-failure`) against a slow server, followed over its connection by
    /// the entries queued earlier for the same route.
    FollowUp,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Always => "--queue always",
            Scenario::OnFailure => "--queue on-failure",
            Scenario::Flush => "-q",
            Scenario::ParallelFlush => "-q --parallel 3",
            Scenario::FollowUp => "a send and the queued entries after it",
        }
    }
}

/// Where in the run the kill landed, by the server's last step before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Before any connection: starting, reading, writing the outbox (`always`), taking
    /// the flush lock and clearing leftovers (`-q`).
    BeforeConnecting,
    /// Connected, before the data: greeting, EHLO, MAIL, RCPT.
    Session,
    /// After the server refused for now (`on-failure`): QUIT, and writing the outbox.
    Queueing,
    /// In the middle of DATA or BDAT.
    Data,
    /// The whole data sent, the final reply not yet.
    AwaitingReply,
    /// After a final 250: before the entry was removed (the RFC 1047 window), or after.
    AfterReply,
    /// The process had ended by itself before the kill.
    Ended,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::BeforeConnecting => "before connecting",
            Phase::Session => "in the session",
            Phase::Queueing => "queueing after a refusal",
            Phase::Data => "in the data",
            Phase::AwaitingReply => "awaiting the final reply",
            Phase::AfterReply => "after a final 250",
            Phase::Ended => "after the process ended",
        }
    }

    fn of(events: &[Event], kill: Option<Instant>) -> Phase {
        let Some(kill) = kill else {
            return Phase::Ended;
        };
        match events.iter().filter(|e| e.at < kill).max_by_key(|e| e.at) {
            None => Phase::BeforeConnecting,
            Some(e) => match e.step {
                Step::Accepted => Phase::Session,
                Step::Refused => Phase::Queueing,
                Step::DataStarted => Phase::Data,
                Step::DataEnded => Phase::AwaitingReply,
                Step::FinalReply => Phase::AfterReply,
            },
        }
    }
}

/// When to kill: a time after the start, or a time after the `nth` occurrence of a step.
#[derive(Clone, Copy, Debug)]
enum Aim {
    Time(Duration),
    After(Step, usize, Duration),
}

/// What one run showed, for the checks and the summary.
#[derive(Debug)]
struct Facts {
    run: usize,
    scenario: Scenario,
    chunking: bool,
    markers: Vec<String>,
    /// The generation of the run that was killed, and the next one (the healthy flush).
    killed_generation: u32,
    flush_generation: u32,
    /// When the kill was sent; `None` when the process had ended by itself.
    kill: Option<Instant>,
    /// The exit code when the process ended by itself.
    exit_code: Option<i32>,
    stderr: String,
    /// The kill left a half-written file in the outbox (a temporary file, a message
    /// without its meta), for the next flush to clear.
    half_written: bool,
    /// The server's steps during the killed run.
    events: Vec<Event>,
    deliveries: Vec<Delivery>,
    flush_code: Option<i32>,
    flush_stderr: String,
    /// What was left in the outbox after the healthy flush (the flush lock aside).
    left: Vec<String>,
}

/// The verdict on one run.
#[derive(Debug, Default)]
struct Verdict {
    problems: Vec<String>,
    duplicates_in_window: usize,
    duplicates_outside: usize,
    lost: usize,
}

fn judge(facts: &Facts) -> Verdict {
    let mut verdict = Verdict::default();
    let mut problem = |text: String| verdict.problems.push(text);
    if facts.flush_code != Some(0) {
        problem(format!(
            "the healthy flush exited {:?}: {}",
            facts.flush_code, facts.flush_stderr
        ));
    }
    if !facts.left.is_empty() {
        problem(format!("left in the outbox: {:?}", facts.left));
    }
    // Every scenario ends with 0 when it is not killed: sent, or queued.
    if let Some(code) = facts.exit_code.filter(|code| *code != 0) {
        problem(format!("exited {code} by itself: {}", facts.stderr));
    }
    let connected = facts.events.iter().any(|e| e.step == Step::Accepted);
    let new_message = facts.markers.last();
    for marker in &facts.markers {
        let deliveries: Vec<&Delivery> = facts
            .deliveries
            .iter()
            .filter(|d| d.marker == *marker)
            .collect();
        for delivery in &deliveries {
            let body = body_for(marker).replace('\n', "\r\n");
            let text = String::from_utf8_lossy(&delivery.message);
            if !text.contains(&body) || !text.ends_with(&body) {
                problem(format!(
                    "{marker}: delivered in generation {} without its whole body ({} bytes)",
                    delivery.generation,
                    delivery.message.len()
                ));
            }
        }
        match deliveries.as_slice() {
            [] => {
                // Not delivered, and (the flush having left the outbox empty) not queued:
                // allowed only when smtpsend never took charge of it.
                let exited_0 = facts.exit_code == Some(0);
                let took_charge = match facts.scenario {
                    Scenario::Flush | Scenario::ParallelFlush => true,
                    // The entries were queued before; the new message as with on-failure.
                    Scenario::FollowUp if Some(marker) != new_message => true,
                    Scenario::FollowUp => exited_0 || facts.stderr.contains("queued as "),
                    // The entry is committed before the connection is made.
                    Scenario::Always => connected || exited_0,
                    Scenario::OnFailure => exited_0 || facts.stderr.contains("queued as "),
                };
                if took_charge {
                    verdict.lost += 1;
                    problem(format!("{marker}: lost (neither delivered nor queued)"));
                }
            }
            [_] => {}
            [first, second] => {
                let in_window = first.generation == facts.killed_generation
                    && second.generation == facts.flush_generation
                    && facts.kill.is_some_and(|kill| first.at < kill);
                if in_window {
                    verdict.duplicates_in_window += 1;
                } else {
                    verdict.duplicates_outside += 1;
                    problem(format!(
                        "{marker}: delivered twice outside the RFC 1047 window (generations \
                         {} and {}, kill {:?})",
                        first.generation,
                        second.generation,
                        facts
                            .kill
                            .map(|kill| kill.saturating_duration_since(first.at))
                    ));
                }
            }
            more => {
                verdict.duplicates_outside += 1;
                problem(format!("{marker}: delivered {} times", more.len()));
            }
        }
    }
    if facts.scenario == Scenario::OnFailure
        && facts
            .deliveries
            .iter()
            .any(|d| d.generation == facts.killed_generation)
    {
        problem("the refusing server accepted a message".to_string());
    }
    verdict
}

fn body_for(marker: &str) -> String {
    (0..BODY_LINES)
        .map(|line| format!("{marker} line {line:04} {}\n", "x".repeat(40)))
        .collect()
}

/// smtpsend in `home`, unpinned (each message its own Message-ID), stdin empty.
fn smtpsend(home: &Home, args: &[&str]) -> Run {
    home.run(args)
        .unpinned()
        .stdin_from(Stdio::null())
        .stdout(Stdio::null())
}

/// Runs smtpsend to its end; its exit code and stderr.
fn run_to_end(home: &Home, args: &[&str]) -> (Option<i32>, String) {
    let out = smtpsend(home, args).output();
    (out.signal.is_none().then_some(out.code), out.stderr)
}

fn message_args<'a>(server: &'a str, header: &'a str, body: &'a str) -> Vec<&'a str> {
    vec![
        "--server",
        server,
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        "crash",
        "-H",
        header,
        "--body-file",
        body,
    ]
}

/// One run: prepare, start smtpsend, kill it at the aimed instant, flush, collect.
fn run_once(run: usize, server: &CrashServer, rng: &mut Rng) -> Facts {
    let home = &Home::new();
    let scenario = match rng.below(6) {
        0 => Scenario::Always,
        1 => Scenario::OnFailure,
        2 => Scenario::FollowUp,
        3 => Scenario::Flush,
        _ => Scenario::ParallelFlush,
    };
    let chunking = rng.chance();
    let count = match scenario {
        Scenario::Flush => 2 + rng.below(3) as usize,
        Scenario::ParallelFlush => 3 + rng.below(5) as usize,
        // One to three queued, and the new message last.
        Scenario::FollowUp => 2 + rng.below(3) as usize,
        _ => 1,
    };
    let markers: Vec<String> = (0..count).map(|m| format!("r{run}-m{m}")).collect();
    let bodies: Vec<String> = markers
        .iter()
        .map(|marker| {
            let path = home.join(format!("{marker}.txt"));
            std::fs::write(&path, body_for(marker)).expect("body file");
            path.to_str().unwrap().to_string()
        })
        .collect();
    let headers: Vec<String> = markers.iter().map(|m| format!("X-Crash-Id: {m}")).collect();
    let addr = server.addr.as_str();

    // Entries for the flush (or the send) to send, queued against a server that refuses
    // for now.
    let queued = match scenario {
        Scenario::Flush | Scenario::ParallelFlush => count,
        Scenario::FollowUp => count - 1,
        _ => 0,
    };
    if queued > 0 {
        server.next_generation(Mode::refusing());
        for (header, body) in headers.iter().zip(&bodies).take(queued) {
            let mut args = message_args(addr, header, body);
            args.extend(["--queue", "on-failure"]);
            let (code, stderr) = run_to_end(home, &args);
            assert_eq!(code, Some(0), "run {run}: queueing: {stderr}");
        }
    }
    let mode = match scenario {
        Scenario::OnFailure => Mode::refusing(),
        _ => Mode::slow(chunking),
    };
    let killed_generation = server.next_generation(mode);
    let mut args = match scenario {
        Scenario::Flush => vec!["-q"],
        Scenario::ParallelFlush => vec!["-q", "--parallel", "3"],
        _ => message_args(addr, &headers[count - 1], &bodies[count - 1]),
    };
    match scenario {
        Scenario::Always => args.extend(["--queue", "always"]),
        Scenario::OnFailure | Scenario::FollowUp => args.extend(["--queue", "on-failure"]),
        Scenario::Flush | Scenario::ParallelFlush => {}
    }
    let aim = match (scenario, rng.below(6)) {
        (Scenario::OnFailure, 0 | 1) => Aim::Time(rng.upto(Duration::from_millis(20))),
        (Scenario::OnFailure, 2) => {
            Aim::After(Step::Accepted, 1, rng.upto(Duration::from_millis(2)))
        }
        (Scenario::OnFailure, _) => {
            Aim::After(Step::Refused, 1, rng.upto(Duration::from_millis(6)))
        }
        (_, 0) => Aim::Time(rng.upto(Duration::from_millis(25))),
        (_, 1) => Aim::After(Step::Accepted, 1, rng.upto(Duration::from_millis(2))),
        (_, step) => {
            let nth = 1 + rng.below(count as u64) as usize;
            match step {
                2 => Aim::After(Step::DataStarted, nth, rng.upto(Duration::from_millis(4))),
                3 => Aim::After(Step::DataEnded, nth, rng.upto(Duration::from_millis(3))),
                _ => Aim::After(Step::FinalReply, nth, rng.upto(Duration::from_micros(600))),
            }
        }
    };

    let started = Instant::now();
    let running = smtpsend(home, &args).spawn();
    let kill = loop {
        if running.has_exited() {
            break None;
        }
        let due = match aim {
            Aim::Time(after) => Some(started + after),
            Aim::After(step, nth, after) => server
                .event(killed_generation, step, nth)
                .map(|at| at + after),
        };
        let now = Instant::now();
        if due.is_some_and(|due| now >= due) || now >= started + RUN_CAP {
            break Some(server.kill(&running, killed_generation));
        }
        match due {
            Some(due) => thread::sleep((due - now).min(Duration::from_millis(1))),
            None => server.wait_a_little(Duration::from_micros(300)),
        }
    };
    let out = running.wait();
    // A kill that reached a process already ending (a zombie) changes nothing.
    let (kill, exit_code) = match out.signal {
        Some(libc::SIGKILL) => (kill, None),
        Some(_) => (None, None),
        None => (None, Some(out.code)),
    };
    let stderr = out.stderr;
    let half_written = home
        .files()
        .iter()
        .any(|name| name.ends_with(".tmp") || orphan(name, &home.files()));

    let flush_generation = server.next_generation(Mode {
        chunking: rng.chance(),
        ..Mode::healthy()
    });
    let healthy: &[&str] = match rng.chance() {
        true => &["-q", "--parallel", "2"],
        false => &["-q"],
    };
    let (flush_code, flush_stderr) = run_to_end(home, healthy);
    let left = home.files();
    Facts {
        run,
        scenario,
        chunking,
        markers,
        killed_generation,
        flush_generation,
        kill,
        exit_code,
        stderr,
        half_written,
        events: server.events(killed_generation),
        deliveries: server.deliveries(&format!("r{run}-")),
        flush_code,
        flush_stderr,
        left,
    }
}

/// A message file whose meta file is missing.
fn orphan(name: &str, names: &[String]) -> bool {
    name.strip_suffix(".eml")
        .is_some_and(|id| !names.contains(&format!("{id}.json")))
}

fn random_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()).rotate_left(32)
}

fn setting(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

#[test]
fn killing_smtpsend_at_any_instant_loses_nothing_and_duplicates_only_in_the_rfc_1047_window() {
    let runs = setting("SMTPSEND_CRASH_RUNS").unwrap_or(24) as usize;
    let cpus = thread::available_parallelism().map_or(2, |n| n.get());
    let threads = setting("SMTPSEND_CRASH_THREADS")
        .map_or(cpus.min(4), |n| n as usize)
        .clamp(1, runs.max(1));
    let seed = setting("SMTPSEND_CRASH_SEED").unwrap_or_else(random_seed);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let all: Mutex<Vec<(Facts, Verdict)>> = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let server = CrashServer::start();
                loop {
                    let run = next.fetch_add(1, Ordering::SeqCst);
                    if run >= runs {
                        break;
                    }
                    let mut rng = Rng::new(seed ^ (run as u64).wrapping_mul(0x1000_0000_01b3));
                    let facts = run_once(run, &server, &mut rng);
                    let verdict = judge(&facts);
                    all.lock().unwrap().push((facts, verdict));
                }
            });
        }
    });
    let all = all.into_inner().unwrap();

    let mut scenarios: BTreeMap<&str, usize> = BTreeMap::new();
    let mut phases: BTreeMap<Phase, usize> = BTreeMap::new();
    let (mut data, mut bdat, mut half_written) = (0, 0, 0);
    let (mut in_window, mut outside, mut lost) = (0, 0, 0);
    let mut problems = Vec::new();
    for (facts, verdict) in &all {
        *scenarios.entry(facts.scenario.name()).or_default() += 1;
        *phases
            .entry(Phase::of(&facts.events, facts.kill))
            .or_default() += 1;
        match (facts.scenario, facts.chunking) {
            (Scenario::OnFailure, _) => {}
            (_, true) => bdat += 1,
            (_, false) => data += 1,
        }
        half_written += usize::from(facts.half_written);
        in_window += verdict.duplicates_in_window;
        outside += verdict.duplicates_outside;
        lost += verdict.lost;
        for problem in &verdict.problems {
            problems.push(format!(
                "run {} ({}, {}, phase {}): {problem}",
                facts.run,
                facts.scenario.name(),
                if facts.chunking { "BDAT" } else { "DATA" },
                Phase::of(&facts.events, facts.kill).name()
            ));
        }
    }
    let mut summary = format!(
        "crash test: {} runs in {:.1}s on {threads} threads (seed {seed}): ",
        all.len(),
        started.elapsed().as_secs_f64()
    );
    let listed: Vec<String> = scenarios.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let _ = write!(
        summary,
        "{} (of those sending, DATA {data}, BDAT {bdat}); kills ",
        listed.join(", ")
    );
    let listed: Vec<String> = phases
        .iter()
        .map(|(phase, n)| format!("{} {n}", phase.name()))
        .collect();
    let _ = write!(
        summary,
        "{}; kills that left a half-written entry {half_written}; duplicates in the RFC 1047 \
         window {in_window} (of {} kills after a final 250); duplicates outside it {outside}; \
         lost {lost}",
        listed.join(", "),
        phases.get(&Phase::AfterReply).copied().unwrap_or(0)
    );
    println!("{summary}");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n{summary}",
        problems.len(),
        problems
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(all.len(), runs);
    // The harness must really aim where it says: with enough runs, kills land in each
    // phase that matters.
    if runs >= 200 {
        for phase in [
            Phase::BeforeConnecting,
            Phase::Session,
            Phase::Queueing,
            Phase::Data,
            Phase::AwaitingReply,
            Phase::AfterReply,
        ] {
            assert!(
                phases.get(&phase).copied().unwrap_or(0) > 0,
                "no kill landed {}: {summary}",
                phase.name()
            );
        }
    }
}

/// The checks themselves can fail: a loss, a duplicate outside the window and a cut message
/// are caught, a duplicate inside it is counted.
#[test]
fn the_checks_catch_losses_duplicates_and_cut_messages() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let whole = |marker: &str, generation: u32, ms: u64| Delivery {
        marker: marker.to_string(),
        generation,
        at: at(ms),
        message: format!(
            "X-Crash-Id: {marker}\r\n\r\n{}",
            body_for(marker).replace('\n', "\r\n")
        )
        .into_bytes(),
    };
    let facts = |deliveries: Vec<Delivery>, kill: Option<u64>| Facts {
        run: 0,
        scenario: Scenario::Flush,
        chunking: false,
        markers: vec!["r0-m0".to_string()],
        killed_generation: 1,
        flush_generation: 2,
        kill: kill.map(at),
        exit_code: if kill.is_some() { None } else { Some(0) },
        stderr: String::new(),
        half_written: false,
        events: vec![Event {
            generation: 1,
            step: Step::Accepted,
            at: at(1),
        }],
        deliveries,
        flush_code: Some(0),
        flush_stderr: String::new(),
        left: Vec::new(),
    };
    let fine = judge(&facts(vec![whole("r0-m0", 1, 5)], Some(10)));
    assert!(fine.problems.is_empty(), "{:?}", fine.problems);

    let window = judge(&facts(
        vec![whole("r0-m0", 1, 5), whole("r0-m0", 2, 20)],
        Some(10),
    ));
    assert!(window.problems.is_empty(), "{:?}", window.problems);
    assert_eq!(window.duplicates_in_window, 1);

    // The first 250 after the kill, or no kill at all, or twice in one run: outside.
    for (deliveries, kill) in [
        (vec![whole("r0-m0", 1, 15), whole("r0-m0", 2, 20)], Some(10)),
        (vec![whole("r0-m0", 1, 5), whole("r0-m0", 2, 20)], None),
        (vec![whole("r0-m0", 1, 5), whole("r0-m0", 1, 6)], Some(10)),
        (
            vec![
                whole("r0-m0", 1, 5),
                whole("r0-m0", 2, 20),
                whole("r0-m0", 2, 21),
            ],
            Some(10),
        ),
    ] {
        let verdict = judge(&facts(deliveries, kill));
        assert_eq!(verdict.duplicates_outside, 1, "{:?}", verdict.problems);
        assert_eq!(verdict.problems.len(), 1);
    }

    let lost = judge(&facts(Vec::new(), Some(10)));
    assert_eq!(lost.lost, 1);

    let mut cut = whole("r0-m0", 1, 5);
    cut.message.truncate(cut.message.len() / 2);
    assert_eq!(judge(&facts(vec![cut], Some(10))).problems.len(), 1);

    let mut left = facts(vec![whole("r0-m0", 1, 5)], Some(10));
    left.left = vec!["0640a1b2c3d4e-0badf0.json".to_string()];
    assert_eq!(judge(&left).problems.len(), 1);

    // `--queue always` killed before it connected: nothing was taken in charge.
    let mut early = facts(Vec::new(), Some(0));
    early.scenario = Scenario::Always;
    early.events.clear();
    assert!(judge(&early).problems.is_empty());
    early.events.push(Event {
        generation: 1,
        step: Step::Accepted,
        at: at(0),
    });
    assert_eq!(judge(&early).lost, 1, "it had connected, so it was queued");
}
