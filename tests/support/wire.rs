//! The connection's bytes: plain or TLS stream, input buffering, and the round-trip counter.
//!
//! Replies are queued and written only when the server needs more input and has no complete
//! command (or data) buffered, or when it closes. Every such write after the greeting is one
//! time the client had to wait for a reply: a round trip.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use native_tls::{TlsAcceptor, TlsStream};

/// The transport under the SMTP layer; an enum so STARTTLS can swap it in place.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Closed,
}

impl Stream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(tcp) => Some(tcp),
            Stream::Tls(tls) => Some(tls.get_ref()),
            Stream::Closed => None,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
            Stream::Closed => Ok(0),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
            Stream::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
            Stream::Closed => Ok(()),
        }
    }
}

const READ_SIZE: usize = 64 * 1024;
const MAX_LINE: usize = 1024 * 1024;

pub struct Wire {
    stream: Stream,
    input: Vec<u8>,
    output: Vec<u8>,
    pub round_trips: usize,
    timeout: Duration,
    /// Set by `Server::finish`: a stalled connection stops waiting.
    stop: Arc<AtomicBool>,
}

/// Where the data terminator ends, if `data` holds one; `from` skips what was searched before.
pub fn find_data_end(data: &[u8], from: usize) -> Option<usize> {
    if data.starts_with(b".\r\n") {
        return Some(3);
    }
    // Line ends are found with memchr (skip_until), which is fast in a debug build too: a
    // byte-by-byte search made the server take over a second for the 16 MiB message of
    // the fault matrix on a busy machine, longer than the client's deadline for the reply.
    let mut at = from.min(data.len());
    loop {
        let mut rest = &data[at..];
        let skipped = std::io::BufRead::skip_until(&mut rest, b'\n').ok()?;
        if skipped == 0 || data[at + skipped - 1] != b'\n' {
            return None;
        }
        let lf = at + skipped - 1;
        if lf >= 1 && data[lf - 1] == b'\r' && data[lf + 1..].starts_with(b".\r\n") {
            return Some(lf + 4);
        }
        at = lf + 1;
    }
}

impl Wire {
    pub fn new(tcp: TcpStream, timeout: Duration, stop: Arc<AtomicBool>) -> io::Result<Wire> {
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        tcp.set_nodelay(true)?;
        Ok(Wire {
            stream: Stream::Plain(tcp),
            input: Vec::new(),
            output: Vec::new(),
            round_trips: 0,
            timeout,
            stop,
        })
    }

    pub fn queue(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    /// Write the queued replies; `counted` says whether the client was waiting for them.
    pub fn flush(&mut self, counted: bool) -> io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        if counted {
            self.round_trips += 1;
        }
        let bytes = std::mem::take(&mut self.output);
        self.stream.write_all(&bytes)?;
        self.stream.flush()
    }

    /// Flush what is due, then read once more; false when the client has closed.
    fn fill(&mut self) -> io::Result<bool> {
        self.flush(true)?;
        let mut chunk = vec![0; READ_SIZE];
        let n = self.stream.read(&mut chunk)?;
        self.input.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// One command line without its line end, and whether it ended in a bare LF.
    pub fn read_line(&mut self) -> io::Result<Option<(Vec<u8>, bool)>> {
        loop {
            if let Some(lf) = self.input.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.input.drain(..=lf).collect();
                line.pop();
                let bare_lf = line.last() != Some(&b'\r');
                if !bare_lf {
                    line.pop();
                }
                return Ok(Some((line, bare_lf)));
            }
            if self.input.len() > MAX_LINE || !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// DATA: append to `data` up to and including the terminator; false if the client left first.
    pub fn read_data(&mut self, data: &mut Vec<u8>) -> io::Result<bool> {
        let mut searched = 0;
        loop {
            data.append(&mut self.input);
            if let Some(end) = find_data_end(data, searched) {
                self.input = data.split_off(end);
                return Ok(true);
            }
            searched = data.len().saturating_sub(4);
            if !self.fill()? {
                return Ok(false);
            }
        }
    }

    /// BDAT: append exactly `n` bytes to `data`; false if the client left first.
    pub fn read_chunk(&mut self, n: usize, data: &mut Vec<u8>) -> io::Result<bool> {
        while self.input.len() < n {
            if !self.fill()? {
                data.append(&mut self.input);
                return Ok(false);
            }
        }
        data.extend(self.input.drain(..n));
        Ok(true)
    }

    /// Take whatever the client sends next (one read), for hang-ups in the middle of data.
    pub fn read_some(&mut self, data: &mut Vec<u8>) -> io::Result<()> {
        if self.input.is_empty() {
            self.fill()?;
        }
        data.append(&mut self.input);
        Ok(())
    }

    /// Stay silent: discard input until the client leaves or the cap passes.
    pub fn wait_for_close(&mut self) {
        let deadline = Instant::now() + self.timeout;
        let mut chunk = vec![0; READ_SIZE];
        while Instant::now() < deadline {
            match self.stream.read(&mut chunk) {
                Ok(n) if n > 0 => {}
                _ => return,
            }
        }
    }

    /// Stop reading: wait until the client closes its end, `Server::finish` is called, or
    /// the cap passes, leaving its data unread so that its writes block once the socket
    /// buffers are full. (A client that leaves with data still unsent cannot send its FIN
    /// into a full window, hence `finish`.)
    pub fn stall(&mut self) {
        let _ = self.flush(true);
        let Some(tcp) = self.stream.tcp() else {
            return;
        };
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stop.load(Ordering::SeqCst) {
                return;
            }
            let mut poll = libc::pollfd {
                fd: tcp.as_raw_fd(),
                events: libc::POLLRDHUP,
                revents: 0,
            };
            let millis = left.as_millis().clamp(1, 20) as libc::c_int;
            // SAFETY: one pollfd for a socket this Wire owns, valid for the whole call.
            let ready = unsafe { libc::poll(&mut poll, 1, millis) };
            let gone = libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR;
            if ready > 0 && poll.revents & gone != 0 {
                return;
            }
            if ready < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        }
    }

    /// Write `head`, `fill` `times` times (or until the cap when `None`) with a pause of
    /// `pace` after each, then `tail`; stops quietly when the client leaves or stops reading
    /// past the cap.
    pub fn flood(
        &mut self,
        head: &[u8],
        fill: &[u8],
        times: Option<usize>,
        tail: &[u8],
        pace: Duration,
    ) {
        let deadline = Instant::now() + self.timeout;
        let _ = self.flush(true);
        if self.stream.write_all(head).is_err() {
            return;
        }
        let mut written = 0;
        while times.is_none_or(|times| written < times) && Instant::now() < deadline {
            if self.stream.write_all(fill).is_err() {
                return;
            }
            written += 1;
            if !pace.is_zero() {
                if self.stream.flush().is_err() {
                    return;
                }
                std::thread::sleep(pace);
            }
        }
        let _ = self
            .stream
            .write_all(tail)
            .and_then(|()| self.stream.flush());
    }

    /// STARTTLS / implicit TLS: handshake on the same socket. Buffered plaintext is dropped,
    /// as a careful server must (CVE-2011-0411).
    pub fn upgrade(&mut self, acceptor: &TlsAcceptor) -> io::Result<()> {
        self.input.clear();
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Closed) else {
            return Err(io::Error::other("TLS is already active"));
        };
        let tls = acceptor
            .accept(tcp)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    pub fn close(&mut self) {
        let _ = self.flush(true);
        if let Stream::Tls(tls) = &mut self.stream {
            let _ = tls.shutdown();
        }
        if let Some(tcp) = self.stream.tcp() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
        self.stream = Stream::Closed;
    }
}
