//! Line I/O on a stream: whole-group writes, bounded reply reads with deadlines, logging.

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

    /// Writes a group of command lines in one write, logging each line.
    pub fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.transcript.sent(bytes);
        self.write_all(bytes)
    }

    /// Writes a line whose tail is secret; the transcript shows `prefix<redacted>`.
    pub fn send_secret(&mut self, bytes: &[u8], visible_prefix: &str) -> anyhow::Result<()> {
        self.transcript.sent_redacted(visible_prefix);
        self.write_all(bytes)
    }

    /// Writes without logging (message data; the caller logs it). Every reply to what was
    /// written before must have been read: a reply still waiting is one the server sent
    /// unasked (more replies than commands), a protocol violation, unless it is the 421 a
    /// server may send at any time before it closes.
    pub fn write_all(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.check_nothing_unasked()?;
        self.stream
            .set_write_timeout(crate::base::interrupt::capped(self.write_timeout))?;
        let written = self
            .stream
            .write_all(bytes)
            .map_err(|err| write_error(&err, self.write_timeout));
        self.out_of_step |= written.is_err();
        written
    }

    /// The stream for bulk writes (the message data); the caller logs what it writes. As
    /// for [`Connection::write_all`], no reply may be waiting unread.
    pub fn writer(&mut self) -> anyhow::Result<&mut Stream> {
        self.check_nothing_unasked()?;
        self.stream
            .set_write_timeout(crate::base::interrupt::capped(self.write_timeout))?;
        Ok(&mut self.stream)
    }

    /// Fails when reply bytes are buffered before the client writes: see
    /// [`Connection::write_all`].
    fn check_nothing_unasked(&mut self) -> anyhow::Result<()> {
        if !self.has_buffered_input() {
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

fn truncate(raw: &[u8]) -> &[u8] {
    &raw[..raw.len().min(200)]
}
