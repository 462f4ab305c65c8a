//! A message ready to submit: its envelope and its content, which may stream files.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use base64::Engine;

/// Input bytes per base64 line: 57 bytes encode to 76 characters (RFC 2045).
const BASE64_LINE_INPUT: usize = 57;
/// Base64 lines encoded per read of an attachment.
const BASE64_LINES_PER_READ: usize = 1024;

/// MAIL FROM and RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    /// The reverse path; empty for the null sender `<>`.
    pub from: String,
    pub recipients: Vec<String>,
}

/// One piece of the message content.
#[derive(Debug, Clone)]
pub enum Segment {
    /// Bytes held in memory (headers, text parts, MIME boundaries).
    Bytes(Vec<u8>),
    /// A file written as base64 lines while it is sent, never held whole in memory.
    Base64File { path: PathBuf, size: u64 },
}

/// The message content: CRLF line endings, not yet dot-stuffed; or, for a raw message
/// whose body DATA cannot carry unchanged, the body exactly as given (see
/// [`Content::binary`]).
#[derive(Debug, Clone, Default)]
pub struct Content {
    segments: Vec<Segment>,
    /// Why the body must go unchanged with BODY=BINARYMIME (RFC 3030): "a NUL byte", …
    binary: Option<String>,
    /// Such a body, going through DATA after all (the server lacks BINARYMIME).
    binary_as_text: bool,
}

impl Content {
    pub fn from_bytes(bytes: Vec<u8>) -> Content {
        Content {
            segments: vec![Segment::Bytes(bytes)],
            binary: None,
            binary_as_text: false,
        }
    }

    /// A message read back from the outbox: what it was written as, binary body included.
    pub fn queued(bytes: Vec<u8>) -> Content {
        let body_start = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |at| at + 4);
        match crate::raw::binary_reason(&bytes[body_start..]) {
            Some(why) => Content::binary_from_bytes(bytes, why),
            None => Content::from_bytes(bytes),
        }
    }

    /// A raw message whose body must go unchanged (BINARYMIME); `why` names what DATA
    /// could not carry, for messages.
    pub fn binary_from_bytes(bytes: Vec<u8>, why: String) -> Content {
        Content {
            segments: vec![Segment::Bytes(bytes)],
            binary: Some(why),
            binary_as_text: false,
        }
    }

    /// Why the body needs BODY=BINARYMIME, when it does.
    pub fn binary(&self) -> Option<&str> {
        self.binary.as_deref().filter(|_| !self.binary_as_text)
    }

    /// True for a body that needed BINARYMIME but goes through DATA (see
    /// [`Content::without_binary`]).
    pub fn binary_as_text(&self) -> bool {
        self.binary_as_text
    }

    /// The content as DATA carries it: bare CR and LF made CRLF, the rest as it is
    /// (what raw mode sends when the server does not offer BINARYMIME).
    pub fn without_binary(&self) -> Content {
        let segments = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Bytes(bytes) => Segment::Bytes(crate::raw::to_crlf(bytes)),
                other => other.clone(),
            })
            .collect();
        Content {
            segments,
            binary: self.binary.clone(),
            binary_as_text: true,
        }
    }

    /// True when the content ends with CRLF (base64 lines always do); DATA's end mark and
    /// BDAT add one otherwise.
    pub fn ends_with_crlf(&self) -> bool {
        let mut tail: Vec<u8> = Vec::new();
        for segment in self.segments.iter().rev() {
            match segment {
                Segment::Bytes(bytes) => {
                    let start = bytes.len().saturating_sub(2);
                    tail.splice(0..0, bytes[start..].iter().copied());
                }
                Segment::Base64File { size, .. } if *size > 0 => {
                    tail.splice(0..0, *b"\r\n");
                }
                Segment::Base64File { .. } => {}
            }
            if tail.len() >= 2 {
                break;
            }
        }
        tail.ends_with(b"\r\n")
    }

    /// Appends in-memory bytes, merging with the previous in-memory segment.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        if let Some(Segment::Bytes(last)) = self.segments.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.segments.push(Segment::Bytes(bytes.to_vec()));
        }
    }

    pub fn push_base64_file(&mut self, path: PathBuf, size: u64) {
        self.segments.push(Segment::Base64File { path, size });
    }

    /// The exact number of bytes [`Content::write_to`] produces.
    pub fn len(&self) -> u64 {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Bytes(bytes) => bytes.len() as u64,
                Segment::Base64File { size, .. } => base64_len(*size),
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when any byte has the high bit set (base64 parts never do).
    pub fn has_8bit(&self) -> bool {
        self.segments.iter().any(|segment| match segment {
            Segment::Bytes(bytes) => bytes.iter().any(|b| *b >= 0x80),
            Segment::Base64File { .. } => false,
        })
    }

    /// The in-memory bytes when the content has no streamed part.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.segments.as_slice() {
            [] => Some(&[]),
            [Segment::Bytes(bytes)] => Some(bytes),
            _ => None,
        }
    }

    /// The header block at the start of the message, the blank line that ends it included
    /// (all of the in-memory start when there is no blank line).
    pub fn header_block(&self) -> &[u8] {
        let Some(Segment::Bytes(bytes)) = self.segments.first() else {
            return &[];
        };
        if bytes.starts_with(b"\r\n") {
            return &[];
        }
        match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(at) => &bytes[..at + 4],
            None => bytes,
        }
    }

    /// A copy with the header block ([`Content::header_block`]) replaced by `header`.
    pub fn with_header_block(&self, header: &[u8]) -> Content {
        let old = self.header_block().len();
        let mut segments = self.segments.clone();
        if let Some(Segment::Bytes(bytes)) = segments.first_mut() {
            bytes.splice(..old, header.iter().copied());
        }
        Content {
            segments,
            binary: self.binary.clone(),
            binary_as_text: self.binary_as_text,
        }
    }

    /// Writes the content, streaming files; fails if a file changed size since composing.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        for segment in &self.segments {
            match segment {
                Segment::Bytes(bytes) => out.write_all(bytes)?,
                Segment::Base64File { path, size } => write_base64_file(path, *size, out)?,
            }
        }
        Ok(())
    }
}

/// Length of `size` bytes as base64 in 76-character CRLF-terminated lines.
pub fn base64_len(size: u64) -> u64 {
    let line = BASE64_LINE_INPUT as u64;
    let full = size / line * 78;
    let rest = size % line;
    full + if rest > 0 {
        rest.div_ceil(3) * 4 + 2
    } else {
        0
    }
}

fn write_base64_file(path: &PathBuf, size: u64, out: &mut dyn Write) -> io::Result<()> {
    let changed = || {
        io::Error::other(format!(
            "{} changed while it was being sent",
            path.display()
        ))
    };
    let mut file = File::open(path)?;
    let mut input = vec![0u8; BASE64_LINE_INPUT * BASE64_LINES_PER_READ];
    let mut output = Vec::with_capacity(78 * BASE64_LINES_PER_READ);
    let mut written = 0u64;
    loop {
        let filled = read_full(&mut file, &mut input)?;
        if filled == 0 {
            break;
        }
        written += filled as u64;
        if written > size {
            return Err(changed());
        }
        output.clear();
        for line in input[..filled].chunks(BASE64_LINE_INPUT) {
            let start = output.len();
            output.resize(start + line.len().div_ceil(3) * 4, 0);
            base64::engine::general_purpose::STANDARD
                .encode_slice(line, &mut output[start..])
                .map_err(io::Error::other)?;
            output.extend_from_slice(b"\r\n");
        }
        out.write_all(&output)?;
    }
    if written != size {
        return Err(changed());
    }
    Ok(())
}

/// Reads until the buffer is full or the file ends.
fn read_full(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_length_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        for size in [
            0usize,
            1,
            2,
            3,
            56,
            57,
            58,
            114,
            57 * 1024,
            57 * 1024 + 5,
            200_000,
        ] {
            let path = dir.path().join(format!("f{size}"));
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            std::fs::write(&path, &data).unwrap();
            let mut content = Content::default();
            content.push_base64_file(path, size as u64);
            let mut out = Vec::new();
            content.write_to(&mut out).unwrap();
            assert_eq!(out.len() as u64, content.len(), "size {size}");
            let joined: Vec<u8> = out.into_iter().filter(|b| !b"\r\n".contains(b)).collect();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap();
            assert_eq!(decoded, data);
        }
    }
}
