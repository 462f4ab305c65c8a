//! The message data on the wire. Every byte of every message crosses [`WireEncoder`] on its
//! way to the server, whatever composed or read it (compose, raw, `-t`, `--bulk`, the
//! outbox), so that is where the promise is kept that a transaction carries exactly one
//! well-formed message:
//!
//! - DATA (RFC 5321 §4.5.2): every line ends in CRLF — a bare CR or LF is made CRLF here,
//!   whatever the caller handed over —, no NUL byte is ever written (the write fails, and
//!   the session closes the connection without the end mark, so nothing is delivered), and
//!   a line that starts with `.` gets a second one (dot-stuffing happens here and nowhere
//!   else). So the data has no `.` between line breaks of any kind but the end mark's, and
//!   even a lenient server that ends the data at `\n.\n` or `\r.\r` finds one end only.
//! - BDAT (RFC 3030): the size goes ahead of the bytes, so nothing can be changed here; the
//!   bytes go as counted. A write past the announced size fails, and so does a chunk that
//!   ends short; text must already be CRLF without NUL (a NUL, a bare CR or a bare LF fails
//!   the write). Only a body that goes as BINARYMIME passes as it is. `Content` is built to
//!   keep that rule (see `crate::message`): these checks are the last guard, not the
//!   normalisation.

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

/// The message data failed the rule of the wire: a NUL byte for DATA, text that is not
/// CRLF or bytes that are not the announced count for BDAT. The content is built to follow
/// the rule, so this is an internal error; the write fails and nothing is delivered.
#[derive(Debug)]
pub struct WireError(pub &'static str);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "internal error: {}", self.0)
    }
}

impl std::error::Error for WireError {}

fn refused(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, WireError(why))
}

/// How the data goes.
enum Mode {
    /// DATA: normalised, dot-stuffed, ended by the end mark.
    Data,
    /// BDAT: exactly `size` bytes, checked.
    Chunk {
        size: u64,
        written: u64,
        /// A BINARYMIME body: any bytes.
        binary: bool,
    },
}

/// The boundary between a message and the wire (see the module documentation). Counts the
/// lines it writes, and echoes them to the transcript when asked (`-ddd`).
pub struct WireEncoder<'a, W: Write> {
    inner: W,
    mode: Mode,
    at_line_start: bool,
    /// The last byte was a CR whose LF has not been seen yet.
    pending_cr: bool,
    pub lines: u64,
    echo: Option<(&'a mut Transcript, Vec<u8>)>,
}

impl<'a, W: Write> WireEncoder<'a, W> {
    /// For DATA.
    pub fn data(inner: W, echo: Option<&'a mut Transcript>) -> Self {
        WireEncoder {
            inner,
            mode: Mode::Data,
            at_line_start: true,
            pending_cr: false,
            lines: 0,
            echo: echo.map(|transcript| (transcript, Vec::new())),
        }
    }

    /// For one BDAT chunk of `size` bytes (the padding CRLF included, see
    /// [`WireEncoder::finish_chunk`]); `binary` for a BINARYMIME body.
    pub fn chunk(inner: W, size: u64, binary: bool, echo: Option<&'a mut Transcript>) -> Self {
        WireEncoder {
            mode: Mode::Chunk {
                size,
                written: 0,
                binary,
            },
            ..WireEncoder::data(inner, echo)
        }
    }

    /// Ends DATA: a line break unless the data ended with one (an empty message gets one
    /// too, as BDAT does), then the end mark `.` CRLF.
    pub fn finish(&mut self) -> io::Result<()> {
        let mut out = Vec::new();
        if self.pending_cr {
            self.pending_cr = false;
            self.end_line(&mut out);
        }
        if !(self.at_line_start && self.lines > 0) {
            self.end_line(&mut out);
        }
        self.inner.write_all(&out)?;
        self.echo(&out);
        self.echo_rest();
        self.inner.write_all(b".\r\n")
    }

    /// Ends BDAT data: the CRLF that DATA's end mark would add when `pad_crlf` (counted in
    /// the size), then checks that the chunk has exactly the size announced.
    pub fn finish_chunk(&mut self, pad_crlf: bool) -> io::Result<()> {
        if pad_crlf {
            self.write_all(b"\r\n")?;
        }
        self.echo_rest();
        match self.mode {
            Mode::Chunk { binary: false, .. } if self.pending_cr => {
                Err(refused("the message data has a bare CR"))
            }
            Mode::Chunk { size, written, .. } if written != size => Err(refused(
                "the message data is shorter than the size announced with BDAT",
            )),
            _ => Ok(()),
        }
    }

    /// DATA: normalises `buf` onto `out`, dot-stuffing; a NUL is refused.
    fn encode_data(&mut self, mut rest: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        while let Some(&first) = rest.first() {
            if self.pending_cr {
                self.pending_cr = false;
                self.end_line(out);
                if first == b'\n' {
                    rest = &rest[1..];
                    continue;
                }
            }
            let plain = rest
                .iter()
                .position(|b| matches!(b, b'\r' | b'\n' | 0))
                .unwrap_or(rest.len());
            if plain > 0 {
                if self.at_line_start && first == b'.' {
                    out.push(b'.');
                }
                out.extend_from_slice(&rest[..plain]);
                self.at_line_start = false;
                rest = &rest[plain..];
                continue;
            }
            match first {
                b'\r' => self.pending_cr = true,
                b'\n' => self.end_line(out),
                _ => return Err(refused("the message data has a NUL byte")),
            }
            rest = &rest[1..];
        }
        Ok(())
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        self.at_line_start = true;
        self.lines += 1;
    }

    /// BDAT: checks `buf` against the count and, for text, the line ends and NUL.
    fn check_chunk(&mut self, buf: &[u8]) -> io::Result<()> {
        let Mode::Chunk {
            size,
            written,
            binary,
        } = &mut self.mode
        else {
            return Ok(());
        };
        if *written + buf.len() as u64 > *size {
            return Err(refused(
                "the message data is longer than the size announced with BDAT",
            ));
        }
        *written += buf.len() as u64;
        for &byte in buf {
            if !*binary {
                let bare_lf = byte == b'\n' && !self.pending_cr;
                if byte == 0 || bare_lf || (self.pending_cr && byte != b'\n') {
                    return Err(refused(
                        "the message data has a NUL byte or a bare CR or LF",
                    ));
                }
            }
            self.pending_cr = byte == b'\r';
            self.lines += u64::from(byte == b'\n');
        }
        Ok(())
    }

    fn echo_rest(&mut self) {
        if let Some((transcript, pending)) = &mut self.echo
            && !pending.is_empty()
        {
            transcript.sent(pending);
            pending.clear();
        }
    }

    fn echo(&mut self, written: &[u8]) {
        if let Some((transcript, pending)) = &mut self.echo {
            for piece in written.split_inclusive(|b| *b == b'\n') {
                pending.extend_from_slice(piece);
                if piece.ends_with(b"\n") {
                    transcript.sent(pending);
                    pending.clear();
                }
            }
        }
    }
}

impl<W: Write> Write for WireEncoder<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Mode::Data = self.mode {
            let mut out = Vec::with_capacity(buf.len() + buf.len() / 64 + 8);
            self.encode_data(buf, &mut out)?;
            self.inner.write_all(&out)?;
            self.echo(&out);
        } else {
            self.check_chunk(buf)?;
            self.inner.write_all(buf)?;
            self.echo(buf);
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

    fn data(pieces: &[&[u8]]) -> Vec<u8> {
        let mut encoder = WireEncoder::data(Vec::new(), None);
        for piece in pieces {
            encoder.write_all(piece).unwrap();
        }
        encoder.finish().unwrap();
        encoder.inner
    }

    fn chunk(size: u64, binary: bool, pieces: &[&[u8]], pad: bool) -> io::Result<Vec<u8>> {
        let mut encoder = WireEncoder::chunk(Vec::new(), size, binary, None);
        for piece in pieces {
            encoder.write_all(piece)?;
        }
        encoder.finish_chunk(pad)?;
        Ok(encoder.inner)
    }

    #[test]
    fn doubles_leading_dots_across_writes() {
        assert_eq!(data(&[b".\r\n..x\r\n"]), b"..\r\n...x\r\n.\r\n");
        assert_eq!(data(&[b"a\r", b"\n", b".b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(data(&[b"a.b\r\n"]), b"a.b\r\n.\r\n");
    }

    #[test]
    fn adds_crlf_only_when_missing() {
        assert_eq!(data(&[b"x"]), b"x\r\n.\r\n");
        assert_eq!(data(&[]), b"\r\n.\r\n");
        assert_eq!(data(&[b"x\r\n"]), b"x\r\n.\r\n");
    }

    #[test]
    fn bare_cr_and_lf_become_crlf_so_no_other_end_mark_can_form() {
        assert_eq!(data(&[b"a\r.\r\nb"]), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(data(&[b"a\n.\n"]), b"a\r\n..\r\n.\r\n");
        assert_eq!(data(&[b"a\r", b".\r"]), b"a\r\n..\r\n.\r\n");
        assert_eq!(data(&[b"\r\r\n\n"]), b"\r\n\r\n\r\n.\r\n");
        assert_eq!(data(&[b"a\r"]), b"a\r\n.\r\n");
    }

    #[test]
    fn a_nul_byte_is_never_written() {
        let mut encoder = WireEncoder::data(Vec::new(), None);
        encoder.write_all(b"before\r\n").unwrap();
        let err = encoder.write_all(b"a\0b").unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
        assert_eq!(encoder.inner, b"before\r\n");
    }

    #[test]
    fn bdat_passes_bytes_as_counted_and_pads_only_when_asked() {
        assert_eq!(
            chunk(7, false, &[b".a\r\n."], true).unwrap(),
            b".a\r\n.\r\n"
        );
        assert_eq!(chunk(0, false, &[], false).unwrap(), b"");
        assert_eq!(chunk(3, true, &[b"\0\r\n"], false).unwrap(), b"\0\r\n");
    }

    #[test]
    fn bdat_refuses_a_wrong_count_and_text_that_is_not_crlf() {
        for (size, pieces) in [
            (3, &[b"abcd".as_slice()][..]),
            (5, &[b"abcd"]),
            (4, &[b"a\nbc"]),
            (4, &[b"a\r", b"bc"]),
            (4, &[b"a\0bc"]),
        ] {
            let err = chunk(size, false, pieces, false).unwrap_err();
            assert!(err.get_ref().unwrap().is::<WireError>(), "{pieces:?}");
        }
        let mut encoder = WireEncoder::chunk(Vec::new(), 3, false, None);
        assert!(encoder.write_all(b"abcd").is_err());
        assert!(encoder.inner.is_empty(), "nothing past the size is written");
    }
}
