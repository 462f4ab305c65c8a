//! Line I/O on a stream: whole-group writes, bounded reply reads with deadlines, logging;
//! the count of replies the server owes, and output held back so that a window of messages
//! leaves in as few writes as it can.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::base::exit::{Kind, fail};
use crate::smtp::reply::{Expect, Reply, ReplyLine};
use crate::smtp::stream::Stream;
use crate::smtp::transcript::Transcript;

/// Longest reply line accepted (RFC 5321 allows 512; servers exceed it).
pub const MAX_LINE: usize = 8192;
/// Most lines accepted in one reply.
pub const MAX_LINES: usize = 512;
/// Held output is written once it reaches this many bytes (see [`Connection::hold`]).
pub const HOLD_LIMIT: usize = 64 * 1024;

/// A stream plus the read buffer and the transcript.
pub struct Connection {
    stream: Stream,
    buffer: Vec<u8>,
    start: usize,
    pub transcript: Transcript,
    /// How long a write may block before the session gives up.
    pub write_timeout: Duration,
    /// A read or write failed (timeout, hang-up, a reply that is no reply, 421): what the
    /// server says next may answer an earlier command, or nothing at all.
    out_of_step: bool,
    /// Replies the server owes: one per command written and not answered yet. A reply that
    /// arrives while none is owed is one nobody asked for (see [`Connection::write_all`]).
    awaiting: usize,
    /// Bytes written by the session and not yet handed to the stream: a window of
    /// messages goes out in one write when it fits ([`Connection::hold`]). Always written
    /// before a reply is waited for.
    held: Vec<u8>,
    /// Bytes handed to the stream so far.
    flushed: u64,
}

impl Connection {
    pub fn new(stream: Stream, transcript: Transcript, write_timeout: Duration) -> Connection {
        Connection {
            stream,
            buffer: Vec::with_capacity(4096),
            start: 0,
            transcript,
            write_timeout,
            out_of_step: false,
            awaiting: 0,
            held: Vec::new(),
            flushed: 0,
        }
    }

    /// True while every command so far got its reply: another command (a polite QUIT) can
    /// be sent and its reply read. False after a timeout, a hang-up, a malformed reply or a
    /// 421, when waiting for a reply would only wait out another deadline.
    pub fn in_step(&self) -> bool {
        !self.out_of_step
    }

    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// Writes a group of command lines in one write, logging each line. Each line is a
    /// command that the server owes one reply.
    pub fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.check_nothing_unasked()?;
        self.transcript.sent(bytes);
        self.awaiting += command_lines(bytes);
        self.write_all(bytes)
    }

    /// Writes a line whose tail is secret; the transcript shows `prefix<redacted>`.
    pub fn send_secret(&mut self, bytes: &[u8], visible_prefix: &str) -> anyhow::Result<()> {
        self.send_secret_then(bytes, visible_prefix, b"")
    }

    /// Writes a line whose tail is secret (shown as `prefix<redacted>`), then the command
    /// lines `group`, all in one write: a pipelined `AUTH PLAIN` and the commands behind it.
    pub fn send_secret_then(
        &mut self,
        secret: &[u8],
        visible_prefix: &str,
        group: &[u8],
    ) -> anyhow::Result<()> {
        self.check_nothing_unasked()?;
        self.transcript.sent_redacted(visible_prefix);
        self.transcript.sent(group);
        self.awaiting += 1 + command_lines(group);
        self.held.extend_from_slice(secret);
        self.write_all(group)
    }

    /// Writes what is held and then `bytes`, without logging (the caller logs them).
    /// Every reply to what was written before must have been read, unless replies are
    /// owed (a pipelined group, a window): a reply waiting when none is owed is one the
    /// server sent unasked (more replies than commands), a protocol violation, unless it is
    /// the 421 a server may send at any time before it closes.
    pub fn write_all(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.check_nothing_unasked()?;
        self.held.extend_from_slice(bytes);
        self.flush_held()
    }

    /// Keeps `bytes` to write later, with whatever is written next or before the next reply
    /// is read, so that a window of messages leaves in as few writes as it can; once
    /// [`HOLD_LIMIT`] bytes are held they are written. Nothing is checked or logged here.
    pub fn hold(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.held.extend_from_slice(bytes);
        if self.held.len() >= HOLD_LIMIT {
            return self.flush_held_io();
        }
        Ok(())
    }

    /// Hands what is held to the stream.
    pub fn flush_held(&mut self) -> anyhow::Result<()> {
        self.flush_held_io()
            .map_err(|err| write_error(&err, self.write_timeout))
    }

    fn flush_held_io(&mut self) -> std::io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let written = self
            .stream
            .set_write_timeout(crate::base::interrupt::capped(self.write_timeout))
            .and_then(|()| self.stream.write_all(&self.held));
        self.flushed += self.held.len() as u64;
        self.held.clear();
        self.out_of_step |= written.is_err();
        written
    }

    /// How many bytes were held or written so far: where the next write begins.
    pub fn written_mark(&self) -> (u64, usize) {
        (self.flushed, self.held.len())
    }

    /// Takes back what was held since `mark` (from [`Connection::written_mark`]), when none
    /// of it has reached the stream yet; false when some of it has.
    pub fn take_back(&mut self, mark: (u64, usize)) -> bool {
        if self.flushed != mark.0 || self.held.len() < mark.1 {
            return false;
        }
        self.held.truncate(mark.1);
        true
    }

    /// The stream for bulk writes (the message data), after what is held; the caller logs
    /// what it writes. As for [`Connection::write_all`], no reply may be waiting unread.
    pub fn writer(&mut self) -> anyhow::Result<&mut Stream> {
        self.check_nothing_unasked()?;
        self.flush_held()?;
        self.stream
            .set_write_timeout(crate::base::interrupt::capped(self.write_timeout))?;
        Ok(&mut self.stream)
    }

    /// Records that the server owes `count` more replies (for what was written with
    /// [`Connection::writer`] or [`Connection::hold`]: the commands around the data and
    /// the reply to its end).
    pub fn owe(&mut self, count: usize) {
        self.awaiting += count;
    }

    /// Records that `count` replies counted as owed will not come after all (an LMTP server
    /// answers the data once per accepted recipient only).
    pub fn forgive(&mut self, count: usize) {
        self.awaiting = self.awaiting.saturating_sub(count);
    }

    /// How many replies the server still owes.
    pub fn owed(&self) -> usize {
        self.awaiting
    }

    /// Fails when reply bytes are buffered before the client writes and no reply is owed:
    /// see [`Connection::write_all`].
    pub fn check_nothing_unasked(&mut self) -> anyhow::Result<()> {
        if !self.has_buffered_input() || self.awaiting > 0 {
            return Ok(());
        }
        self.out_of_step = true;
        let closing = self.buffer[self.start..].starts_with(b"421");
        let shown = crate::base::escape::repr(truncate(&self.buffer[self.start..]));
        let unasked = self.read_whole_reply(Duration::from_millis(1), "a reply nobody asked for");
        if let (true, Err(err)) = (closing, unasked) {
            // A whole 421 reply is the server closing, its own temporary error.
            return Err(err);
        }
        Err(fail(
            Kind::Protocol,
            format!(
                "the server broke the protocol: it sent a reply no command asked for ({shown}), \
                 more replies than commands"
            ),
        ))
    }

    /// Reads one complete reply within `timeout`; `waiting_for` names it in errors, and
    /// `expect` says which replies the command may get ([`Expect`]): any other is a protocol
    /// violation (76). A 421 reply is returned as a temporary error (75): the server is
    /// closing the connection.
    pub fn read_reply(
        &mut self,
        timeout: Duration,
        waiting_for: &str,
        expect: Expect,
    ) -> anyhow::Result<Reply> {
        // What is held is written before any wait: the reply may answer it.
        self.flush_held()?;
        self.awaiting = self.awaiting.saturating_sub(1);
        let reply = self
            .read_whole_reply(timeout, waiting_for)
            .and_then(|reply| match expect.allows(&reply) {
                true => Ok(reply),
                false => Err(fail(
                    Kind::Protocol,
                    format!(
                        "the server broke the protocol: \"{reply}\" came as {waiting_for}, \
                         where only {} may",
                        expect.described()
                    ),
                )),
            });
        self.out_of_step |= reply.is_err();
        reply
    }

    fn read_whole_reply(&mut self, timeout: Duration, waiting_for: &str) -> anyhow::Result<Reply> {
        let deadline = Instant::now() + timeout;
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            let raw = self.read_line(deadline, timeout, waiting_for)?;
            self.transcript.received(&raw);
            let text = String::from_utf8_lossy(&raw);
            let text = text.trim_end_matches(['\r', '\n']);
            let line = ReplyLine::parse(text).ok_or_else(|| {
                fail(
                    Kind::Protocol,
                    format!(
                        "malformed reply from the server (waiting for {waiting_for}): {}",
                        crate::base::escape::repr(truncate(&raw))
                    ),
                )
            })?;
            if *code.get_or_insert(line.code) != line.code {
                return Err(fail(
                    Kind::Protocol,
                    format!(
                        "the server changed the reply code in the middle of a reply (waiting for {waiting_for})"
                    ),
                ));
            }
            lines.push(line.text.to_string());
            if line.last {
                let reply = Reply {
                    code: line.code,
                    lines,
                };
                if reply.code == 421 {
                    // RFC 5321 §3.8: whatever the command, 421 means the server is closing
                    // the channel; the session is over and the next read would find it shut.
                    return Err(fail(
                        Kind::TempFail,
                        format!(
                            "the server closed the connection with {reply} (waiting for {waiting_for})"
                        ),
                    ));
                }
                return Ok(reply);
            }
            if lines.len() >= MAX_LINES {
                return Err(fail(
                    Kind::Protocol,
                    format!(
                        "the server's reply has more than {MAX_LINES} lines (waiting for {waiting_for})"
                    ),
                ));
            }
        }
    }

    /// True when reply bytes are already buffered (a server speaking out of turn).
    pub fn has_buffered_input(&self) -> bool {
        self.start < self.buffer.len()
    }

    /// Gives the stream back, e.g. for a TLS upgrade; buffered input is dropped.
    pub fn into_parts(self) -> (Stream, Transcript) {
        (self.stream, self.transcript)
    }

    fn read_line(
        &mut self,
        deadline: Instant,
        timeout: Duration,
        waiting_for: &str,
    ) -> anyhow::Result<Vec<u8>> {
        loop {
            let pending = &self.buffer[self.start..];
            if let Some(at) = pending.iter().position(|b| *b == b'\n') {
                let line = pending[..=at].to_vec();
                self.start += at + 1;
                return Ok(line);
            }
            if pending.len() > MAX_LINE {
                return Err(fail(
                    Kind::Protocol,
                    format!(
                        "the server sent a reply line longer than {MAX_LINE} bytes (waiting for {waiting_for})"
                    ),
                ));
            }
            if self.start > 0 {
                self.buffer.drain(..self.start);
                self.start = 0;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timed_out(timeout, waiting_for));
            }
            let remaining = crate::base::interrupt::capped(remaining);
            self.stream.set_read_timeout(remaining)?;
            let old_len = self.buffer.len();
            self.buffer.resize(old_len + 4096, 0);
            let result = self.stream.read(&mut self.buffer[old_len..]);
            match result {
                Ok(0) => {
                    self.buffer.truncate(old_len);
                    return Err(fail(
                        Kind::TempFail,
                        format!(
                            "the server closed the connection while smtpsend was waiting for {waiting_for}"
                        ),
                    ));
                }
                Ok(n) => self.buffer.truncate(old_len + n),
                Err(err) => {
                    self.buffer.truncate(old_len);
                    match err.kind() {
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                            return Err(timed_out(timeout, waiting_for));
                        }
                        io::ErrorKind::Interrupted => {}
                        _ => {
                            return Err(fail(
                                Kind::TempFail,
                                format!(
                                    "connection lost while waiting for {waiting_for}: {}",
                                    crate::base::input::plain_io(&err)
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
}

fn timed_out(timeout: Duration, waiting_for: &str) -> anyhow::Error {
    fail(
        Kind::TempFail,
        format!(
            "timed out after {}s waiting for {waiting_for}",
            timeout.as_secs_f64()
        ),
    )
}

fn write_error(err: &io::Error, timeout: Duration) -> anyhow::Error {
    let text = match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            format!(
                "timed out after {}s writing to the server",
                timeout.as_secs_f64()
            )
        }
        _ => format!(
            "connection lost while writing to the server: {}",
            crate::base::input::plain_io(err)
        ),
    };
    fail(Kind::TempFail, text)
}

/// The command lines in `bytes`: each owes one reply.
pub fn command_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&byte| byte == b'\n').count()
}

fn truncate(raw: &[u8]) -> &[u8] {
    &raw[..raw.len().min(200)]
}
