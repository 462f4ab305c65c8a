//! Content-Transfer-Encoding of the parts smtpsend composes: which encoding a text part
//! gets, and encoders that take a part a piece at a time, so that one code measures a part
//! when the message is composed (the exact encoded length, for SIZE= and `BDAT n`) and
//! writes it while the message is sent.
//!
//! A text part goes as `7bit` only when 7bit carries it as it is: ASCII without control
//! characters (TAB aside, and a CR only right before an LF), no line longer than 77
//! octets with its line break, and no space or tab at the end of a line. A text with a
//! control character (a NUL, a bare CR, an escape…) is quoted-printable: the odd byte
//! becomes `=00` or `=0D`, and the rest stays readable. Any other text is quoted-printable
//! or base64, whichever is shorter (base64 wins for text in non-Latin scripts). For text
//! without control characters that is exactly mail-builder's choice, and the encoders
//! write exactly the bytes mail-builder (encodify) writes, so text that always went well
//! keeps its bytes; the tests hold them to it. Decoding gives the text back byte for byte,
//! except that LF line ends come back as CRLF.

use base64::Engine;

/// The longest line, its line break included, that a text part may have to go as 7bit.
const MAX_7BIT_LINE: u64 = 77;
/// Characters on a quoted-printable line before a soft break (`=` makes 76, RFC 2045 §6.7).
const QP_LINE: usize = 75;
/// Input bytes per base64 line: 57 bytes encode to 76 characters (RFC 2045).
pub const BASE64_LINE_INPUT: u64 = 57;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// A Content-Transfer-Encoding smtpsend writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The text as it is, line ends made CRLF.
    SevenBit,
    QuotedPrintable,
    Base64,
}

impl Encoding {
    /// The value for the Content-Transfer-Encoding field.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::SevenBit => "7bit",
            Encoding::QuotedPrintable => "quoted-printable",
            Encoding::Base64 => "base64",
        }
    }
}

/// Length of `size` bytes as base64 in 76-character CRLF-terminated lines.
pub fn base64_len(size: u64) -> u64 {
    let full = size / BASE64_LINE_INPUT * 78;
    let rest = size % BASE64_LINE_INPUT;
    full + if rest > 0 {
        rest.div_ceil(3) * 4 + 2
    } else {
        0
    }
}

/// A text measured: whether it is UTF-8, the encoding it gets, and the exact length of
/// that encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    pub utf8: bool,
    /// The text's own length.
    pub len: u64,
    pub encoding: Encoding,
    pub encoded_len: u64,
    /// The encoding ends with a line break.
    pub ends_with_crlf: bool,
}

/// Measures a text given in pieces, running the same encoders that later write it.
#[derive(Debug)]
pub struct Measure {
    scan: TextScan,
    utf8: Utf8Check,
    /// `None` once the text has a byte 7bit cannot carry.
    seven_bit: Option<(Encoder, u64)>,
    quoted_printable: (Encoder, u64),
    scratch: Vec<u8>,
}

impl Default for Measure {
    fn default() -> Measure {
        Measure {
            scan: TextScan::default(),
            utf8: Utf8Check::default(),
            seven_bit: Some((Encoder::new(Encoding::SevenBit), 0)),
            quoted_printable: (Encoder::new(Encoding::QuotedPrintable), 0),
            scratch: Vec::new(),
        }
    }
}

impl Measure {
    pub fn feed(&mut self, piece: &[u8]) {
        self.scan.feed(piece);
        self.utf8.feed(piece);
        self.count(|encoder, out| encoder.feed(piece, out));
    }

    pub fn finish(mut self) -> Measured {
        self.scan.finish();
        self.count(|encoder, out| encoder.finish(out));
        let len = self.scan.len;
        let quoted_printable = self.quoted_printable.1;
        let (encoding, encoded_len) = match self.seven_bit {
            _ if self.scan.control => (Encoding::QuotedPrintable, quoted_printable),
            Some((_, counted)) if !self.scan.needs_encoding() => (Encoding::SevenBit, counted),
            _ if quoted_printable < base64_len(len) => {
                (Encoding::QuotedPrintable, quoted_printable)
            }
            _ => (Encoding::Base64, base64_len(len)),
        };
        let ends_with_crlf = match encoding {
            Encoding::Base64 => len > 0,
            _ => self.scan.last == b'\n',
        };
        Measured {
            utf8: self.utf8.finish(),
            len,
            encoding,
            encoded_len,
            ends_with_crlf,
        }
    }

    /// Runs `step` on the 7bit and quoted-printable encoders, counting what they write.
    fn count(&mut self, mut step: impl FnMut(&mut Encoder, &mut Vec<u8>) -> Result<(), Unfit>) {
        let scratch = &mut self.scratch;
        if let Some((encoder, counted)) = &mut self.seven_bit {
            scratch.clear();
            match step(encoder, scratch) {
                Ok(()) => *counted += scratch.len() as u64,
                Err(Unfit) => self.seven_bit = None,
            }
        }
        let (encoder, counted) = &mut self.quoted_printable;
        scratch.clear();
        // Quoted-printable carries any byte.
        let _ = step(encoder, scratch);
        *counted += scratch.len() as u64;
    }
}

/// A text held in memory, measured and encoded.
pub fn encode_text(text: &[u8]) -> (Measured, Vec<u8>) {
    let mut measure = Measure::default();
    measure.feed(text);
    let measured = measure.finish();
    let mut encoder = Encoder::new(measured.encoding);
    let mut out = Vec::with_capacity(measured.encoded_len as usize);
    // The measure ran the same encoder over the same bytes: it fits.
    let _ = encoder
        .feed(text, &mut out)
        .and_then(|()| encoder.finish(&mut out));
    (measured, out)
}

/// What decides whether 7bit carries a text, gathered a piece at a time.
#[derive(Debug, Default)]
struct TextScan {
    len: u64,
    /// A control character other than TAB, or a CR not followed by LF.
    control: bool,
    /// 7bit cannot carry the text as it is.
    needs_encoding: bool,
    /// Octets of the current line so far, a CR included.
    line: u64,
    last: u8,
    before_last: u8,
}

impl TextScan {
    fn feed(&mut self, piece: &[u8]) {
        self.len += piece.len() as u64;
        for &byte in piece {
            if self.last == b'\r' && byte != b'\n' {
                self.control = true;
            }
            match byte {
                b'\n' => {
                    let white = if self.last == b'\r' {
                        self.before_last
                    } else {
                        self.last
                    };
                    if self.line + 1 > MAX_7BIT_LINE || matches!(white, b' ' | b'\t') {
                        self.needs_encoding = true;
                    }
                    self.line = 0;
                }
                b'\r' | b'\t' | b' '..=b'~' => self.line += 1,
                0x80.. => {
                    self.needs_encoding = true;
                    self.line += 1;
                }
                _ => {
                    self.control = true;
                    self.line += 1;
                }
            }
            self.before_last = self.last;
            self.last = byte;
        }
    }

    fn finish(&mut self) {
        self.control |= self.last == b'\r';
    }

    fn needs_encoding(&self) -> bool {
        self.control
            || self.needs_encoding
            || self.line > MAX_7BIT_LINE
            || matches!(self.last, b' ' | b'\t')
    }
}

/// UTF-8 validation a piece at a time (a character may be split between pieces).
#[derive(Debug, Default)]
struct Utf8Check {
    invalid: bool,
    /// The start of a character whose end is in the next piece.
    carry: Vec<u8>,
}

impl Utf8Check {
    fn feed(&mut self, mut piece: &[u8]) {
        while !self.carry.is_empty() && !self.invalid {
            let Some((&byte, rest)) = piece.split_first() else {
                return;
            };
            piece = rest;
            self.carry.push(byte);
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                Err(err) => self.invalid = err.error_len().is_some(),
            }
        }
        if self.invalid {
            return;
        }
        if let Err(err) = std::str::from_utf8(piece) {
            match err.error_len() {
                Some(_) => self.invalid = true,
                None => self.carry = piece[err.valid_up_to()..].to_vec(),
            }
        }
    }

    fn finish(&self) -> bool {
        !self.invalid && self.carry.is_empty()
    }
}

/// The input has a byte the encoding cannot carry (only 7bit refuses any): the text is not
/// the one that was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfit;

/// Encodes a part a piece at a time. Bytes whose encoding depends on what follows (a CR, a
/// space before a possible line end, the rest of a base64 line) wait for the next piece or
/// for [`Encoder::finish`].
#[derive(Debug)]
pub struct Encoder {
    encoding: Encoding,
    held: Vec<u8>,
    /// Quoted-printable: characters on the current output line.
    column: usize,
    /// 7bit: the previous byte.
    last: u8,
}

impl Encoder {
    pub fn new(encoding: Encoding) -> Encoder {
        Encoder {
            encoding,
            held: Vec::new(),
            column: 0,
            last: 0,
        }
    }

    /// Appends the encoding of `piece` to `out`.
    pub fn feed(&mut self, piece: &[u8], out: &mut Vec<u8>) -> Result<(), Unfit> {
        self.run(piece, false, out)
    }

    /// Appends the encoding of whatever was held back; the part ends here.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Unfit> {
        self.run(&[], true, out)
    }

    fn run(&mut self, piece: &[u8], end: bool, out: &mut Vec<u8>) -> Result<(), Unfit> {
        match self.encoding {
            Encoding::SevenBit => self.seven_bit(piece, end, out),
            Encoding::QuotedPrintable => {
                let consumed = if self.held.is_empty() {
                    quoted_printable(piece, end, &mut self.column, out)
                } else {
                    let mut joined = std::mem::take(&mut self.held);
                    joined.extend_from_slice(piece);
                    let consumed = quoted_printable(&joined, end, &mut self.column, out);
                    self.held = joined;
                    self.held.drain(..consumed);
                    return Ok(());
                };
                self.held = piece[consumed..].to_vec();
                Ok(())
            }
            Encoding::Base64 => {
                self.base64(piece, end, out);
                Ok(())
            }
        }
    }

    /// 7bit: LF made CRLF; a byte 7bit cannot carry is refused.
    fn seven_bit(&mut self, piece: &[u8], end: bool, out: &mut Vec<u8>) -> Result<(), Unfit> {
        for &byte in piece {
            if self.last == b'\r' && byte != b'\n' {
                return Err(Unfit);
            }
            match byte {
                b'\n' if self.last != b'\r' => out.extend_from_slice(b"\r\n"),
                b'\n' | b'\r' | b'\t' | b' '..=b'~' => out.push(byte),
                _ => return Err(Unfit),
            }
            self.last = byte;
        }
        if end && self.last == b'\r' {
            return Err(Unfit);
        }
        Ok(())
    }

    /// Base64 in lines of 76 characters, each ending in CRLF.
    fn base64(&mut self, mut piece: &[u8], end: bool, out: &mut Vec<u8>) {
        let line = BASE64_LINE_INPUT as usize;
        if !self.held.is_empty() {
            let take = (line - self.held.len()).min(piece.len());
            self.held.extend_from_slice(&piece[..take]);
            piece = &piece[take..];
            if self.held.len() < line && !end {
                return;
            }
            base64_line(&self.held, out);
            self.held.clear();
        }
        let mut lines = piece.chunks_exact(line);
        for whole in &mut lines {
            base64_line(whole, out);
        }
        match lines.remainder() {
            [] => {}
            rest if end => base64_line(rest, out),
            rest => self.held = rest.to_vec(),
        }
    }
}

fn base64_line(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    // The slice was sized for exactly this encoding.
    let _ = base64::engine::general_purpose::STANDARD.encode_slice(bytes, &mut out[start..]);
    out.extend_from_slice(b"\r\n");
}

/// Quoted-printable for text (RFC 2045 §6.7, as encodify's `qp::BODY` writes it): LF and
/// CRLF become hard line breaks, `=`, control characters but TAB, bytes from 0x7F up and a
/// space or TAB that ends a line are escaped, and a soft break keeps lines at 76
/// characters. Returns how much of `data` was encoded: the rest needs bytes not seen yet
/// (unless `end`).
fn quoted_printable(data: &[u8], end: bool, column: &mut usize, out: &mut Vec<u8>) -> usize {
    let mut at = 0;
    while let Some(&byte) = data.get(at) {
        let literal = match byte {
            b'\n' => {
                hard_break(column, out);
                at += 1;
                continue;
            }
            b'\r' => match data.get(at + 1) {
                Some(b'\n') => {
                    hard_break(column, out);
                    at += 2;
                    continue;
                }
                None if !end => break,
                _ => false,
            },
            b' ' | b'\t' => match line_ends(data, at + 1, end) {
                Some(ends) => !ends,
                None => break,
            },
            b'=' => false,
            b'!'..=b'~' => true,
            _ => false,
        };
        if literal {
            if *column == QP_LINE {
                soft_break(column, out);
            }
            out.push(byte);
            *column += 1;
        } else {
            if *column + 3 > QP_LINE {
                soft_break(column, out);
            }
            out.extend_from_slice(&[b'=', HEX[(byte >> 4) as usize], HEX[(byte & 15) as usize]]);
            *column += 3;
        }
        at += 1;
    }
    at
}

/// Whether a line ends at `at` (a line break or the end of the text follows); `None` when
/// that depends on bytes not seen yet.
fn line_ends(data: &[u8], at: usize, end: bool) -> Option<bool> {
    match &data[at.min(data.len())..] {
        [] | [b'\r'] if !end => None,
        [] | [b'\n', ..] | [b'\r', b'\n', ..] => Some(true),
        _ => Some(false),
    }
}

fn hard_break(column: &mut usize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
    *column = 0;
}

fn soft_break(column: &mut usize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"=\r\n");
    *column = 0;
}

#[cfg(test)]
mod tests;
