//! The message data on the wire: dot-stuffing (RFC 5321 §4.5.2) and the terminator for
//! DATA; the same line counting and echo, unstuffed, for BDAT (RFC 3030).

use std::io::{self, Write};

use crate::smtp::transcript::Transcript;

/// Passes writes through until one fails, then fails every later write at once, so that
/// the buffers above it (a `BufWriter` flushes when dropped) do not wait out the write
/// deadline a second time on a connection that is already lost.
pub struct FailFast<W: Write> {
    inner: W,
    failed: Option<io::ErrorKind>,
}

impl<W: Write> FailFast<W> {
    pub fn new(inner: W) -> Self {
        FailFast {
            inner,
            failed: None,
        }
    }

    fn check<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(err) = &result
            && err.kind() != io::ErrorKind::Interrupted
        {
            self.failed = Some(err.kind());
        }
        result
    }
}

impl<W: Write> Write for FailFast<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(kind) = self.failed {
            return Err(kind.into());
        }
        let result = self.inner.write(buf);
        self.check(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(kind) = self.failed {
            return Err(kind.into());
        }
        let result = self.inner.flush();
        self.check(result)
    }
}

/// Wraps a writer, doubling every `.` that starts a line (DATA only) and counting lines.
pub struct DotStuffer<'a, W: Write> {
    inner: W,
    /// False for BDAT: the bytes go as they are.
    stuffing: bool,
    at_line_start: bool,
    last_two: [u8; 2],
    pub lines: u64,
    /// When set, each line written is also logged (`-ddd`).
    echo: Option<(&'a mut Transcript, Vec<u8>)>,
}

impl<'a, W: Write> DotStuffer<'a, W> {
    pub fn new(inner: W, echo: Option<&'a mut Transcript>) -> Self {
        DotStuffer {
            inner,
            stuffing: true,
            at_line_start: true,
            last_two: [0, 0],
            lines: 0,
            echo: echo.map(|transcript| (transcript, Vec::new())),
        }
    }

    /// For BDAT: passes the bytes through unchanged, counting lines (and echoing them).
    pub fn unstuffed(inner: W, echo: Option<&'a mut Transcript>) -> Self {
        DotStuffer {
            stuffing: false,
            ..DotStuffer::new(inner, echo)
        }
    }

    /// Writes the end-of-data mark: CRLF first unless the data already ended with one.
    /// When echoing, the last line is logged with the CRLF the mark supplied.
    pub fn finish(mut self) -> io::Result<W> {
        let needs_crlf = self.last_two != *b"\r\n";
        self.echo_rest(needs_crlf);
        let terminator: &[u8] = if needs_crlf { b"\r\n.\r\n" } else { b".\r\n" };
        self.inner.write_all(terminator)?;
        Ok(self.inner)
    }

    /// Ends BDAT data: the CRLF that the DATA path would add when `pad_crlf` (counted in the
    /// BDAT size beforehand), no terminator.
    pub fn finish_chunk(mut self, pad_crlf: bool) -> io::Result<W> {
        self.echo_rest(pad_crlf);
        if pad_crlf {
            self.inner.write_all(b"\r\n")?;
        }
        Ok(self.inner)
    }

    fn echo_rest(&mut self, add_crlf: bool) {
        if let Some((transcript, pending)) = &mut self.echo {
            if add_crlf {
                pending.extend_from_slice(b"\r\n");
            }
            if !pending.is_empty() {
                transcript.sent(pending);
            }
        }
    }

    fn echo(&mut self, piece: &[u8]) {
        if let Some((transcript, pending)) = &mut self.echo {
            pending.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                transcript.sent(pending);
                pending.clear();
            }
        }
    }
}

impl<W: Write> Write for DotStuffer<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for piece in buf.split_inclusive(|b| *b == b'\n') {
            if self.stuffing && self.at_line_start && piece.first() == Some(&b'.') {
                self.inner.write_all(b".")?;
                self.echo(b".");
            }
            self.inner.write_all(piece)?;
            self.echo(piece);
            self.at_line_start = piece.ends_with(b"\n");
            if self.at_line_start {
                self.lines += 1;
            }
        }
        match buf {
            [.., a, b] => self.last_two = [*a, *b],
            [b] => self.last_two = [self.last_two[1], *b],
            [] => {}
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(pieces: &[&[u8]]) -> Vec<u8> {
        let mut stuffer = DotStuffer::new(Vec::new(), None);
        for piece in pieces {
            stuffer.write_all(piece).unwrap();
        }
        stuffer.finish().unwrap()
    }

    #[test]
    fn doubles_leading_dots_across_writes() {
        assert_eq!(stuff(&[b".\r\n..x\r\n"]), b"..\r\n...x\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r", b"\n", b".b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(stuff(&[b"a.b\r\n"]), b"a.b\r\n.\r\n");
    }

    #[test]
    fn unstuffed_passes_dots_and_pads_only_when_asked() {
        let mut plain = DotStuffer::unstuffed(Vec::new(), None);
        plain.write_all(b".a\r\n.").unwrap();
        assert_eq!(plain.finish_chunk(true).unwrap(), b".a\r\n.\r\n");
        let plain = DotStuffer::unstuffed(Vec::new(), None);
        assert_eq!(plain.finish_chunk(false).unwrap(), b"");
    }

    #[test]
    fn adds_crlf_only_when_missing() {
        assert_eq!(stuff(&[b"x"]), b"x\r\n.\r\n");
        assert_eq!(stuff(&[]), b"\r\n.\r\n");
    }
}
