//! A message ready to submit: its envelope and its content, built well-formed.
//!
//! [`Content`] is text — CRLF line ends, no NUL byte — or, for a body that DATA cannot
//! carry unchanged, binary, which goes only as BINARYMIME (or as text after all, see
//! [`Content::without_binary`]). Its constructors keep that rule, so the BDAT size counted
//! ahead is the size of well-formed data; `crate::smtp::data` checks it once more on the
//! wire.
//!
//! Files in a message (attachments, inline images, a `--body-file` or `--html` file, the
//! copy of stdin for `-a -`) are never held in
//! memory: each is a [`FilePart`], measured when the message is composed (an attachment by
//! its size; a text file read once for its encoding, the exact encoded length and a
//! SHA-256 of its bytes) and read again, encoded, while the message is sent. When the file
//! no longer matches what was measured — it shrank, grew, changed, vanished or cannot be
//! read — the write fails with a [`FileError`] before the bytes that would complete the
//! data, so the server never receives a whole message; the last encoded piece of a file
//! waits until the file has been read to its end and checked.

pub mod address;
pub mod aliases;
pub mod compose;
pub mod from;
pub mod local;
pub mod raw;
pub mod spool;
pub mod stamp;
pub mod transfer;

mod file;

use std::io::{self, Write};

pub use file::{FileError, FilePart};

/// Why a body needs BINARYMIME when it has a NUL byte.
const NUL_REASON: &str = "the body has a NUL byte";

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
    /// A file encoded while it is sent.
    File(FilePart),
}

/// The message content: text with CRLF line endings and no NUL, not yet dot-stuffed; or,
/// for a raw message whose body DATA cannot carry unchanged, the body exactly as given
/// (see [`Content::binary`]).
#[derive(Debug, Clone, Default)]
pub struct Content {
    segments: Vec<Segment>,
    /// Why the body must go unchanged with BODY=BINARYMIME (RFC 3030): "a NUL byte", …
    binary: Option<String>,
    /// Such a body, going through DATA after all (the server lacks BINARYMIME).
    binary_as_text: bool,
}

impl Content {
    /// A message in memory: line ends made CRLF. One with a NUL byte can only go as it is
    /// with BINARYMIME, so it is kept as given and marked binary.
    pub fn from_bytes(bytes: Vec<u8>) -> Content {
        if bytes.contains(&0) {
            return Content::binary_from_bytes(bytes, NUL_REASON.to_string());
        }
        Content {
            segments: vec![Segment::Bytes(crlf(bytes))],
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
        match crate::message::raw::binary_reason(&bytes[body_start..]) {
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

    /// The content as DATA carries it, for a server without BINARYMIME: bare CR and LF made
    /// CRLF, the rest as it is (long lines stay long). `None` when it has a NUL byte, which
    /// no text can carry.
    pub fn without_binary(&self) -> Option<Content> {
        let mut segments = Vec::with_capacity(self.segments.len());
        for segment in &self.segments {
            segments.push(match segment {
                Segment::Bytes(bytes) if bytes.contains(&0) => return None,
                Segment::Bytes(bytes) => Segment::Bytes(crate::message::raw::to_crlf(bytes)),
                other => other.clone(),
            });
        }
        Some(Content {
            segments,
            binary: self.binary.clone(),
            binary_as_text: true,
        })
    }

    /// True when the content ends with CRLF; DATA's end mark and BDAT add one otherwise.
    pub fn ends_with_crlf(&self) -> bool {
        let mut tail: Vec<u8> = Vec::new();
        for segment in self.segments.iter().rev() {
            match segment {
                Segment::Bytes(bytes) => {
                    let start = bytes.len().saturating_sub(2);
                    tail.splice(0..0, bytes[start..].iter().copied());
                }
                Segment::File(part) if part.encoded_len() == 0 => {}
                Segment::File(part) => {
                    let end: &[u8; 2] = if part.ends_with_crlf { b"\r\n" } else { b"--" };
                    tail.splice(0..0, *end);
                }
            }
            if tail.len() >= 2 {
                break;
            }
        }
        tail.ends_with(b"\r\n")
    }

    /// Appends in-memory bytes (line ends made CRLF), merging with the previous in-memory
    /// segment. A NUL byte makes the content binary (see [`Content::from_bytes`]).
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        if bytes.contains(&0) {
            self.binary = Some(NUL_REASON.to_string());
        }
        let bytes = crlf(bytes.to_vec());
        if let Some(Segment::Bytes(last)) = self.segments.last_mut() {
            last.extend_from_slice(&bytes);
        } else {
            self.segments.push(Segment::Bytes(bytes));
        }
    }

    /// Appends a large piece held in memory (a text body) as a segment of its own, without
    /// copying it; line ends made CRLF, and a NUL makes the content binary, as with
    /// [`Content::push_bytes`].
    pub fn push_owned(&mut self, bytes: Vec<u8>) {
        if bytes.contains(&0) {
            self.binary = Some(NUL_REASON.to_string());
        }
        self.segments.push(Segment::Bytes(crlf(bytes)));
    }

    pub fn push_file(&mut self, part: FilePart) {
        self.segments.push(Segment::File(part));
    }

    /// The exact number of bytes [`Content::write_to`] produces.
    pub fn len(&self) -> u64 {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Bytes(bytes) => bytes.len() as u64,
                Segment::File(part) => part.encoded_len(),
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when any byte has the high bit set (encoded files never do).
    pub fn has_8bit(&self) -> bool {
        self.segments.iter().any(|segment| match segment {
            Segment::Bytes(bytes) => bytes.iter().any(|b| *b >= 0x80),
            Segment::File(_) => false,
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

    /// The message's Message-ID as its header gives it (`<id@host>`), if it has one.
    pub fn message_id(&self) -> Option<String> {
        let header = crate::message::raw::RawMessage::parse(self.header_block());
        header
            .values("message-id")
            .into_iter()
            .next()
            .filter(|id| !id.is_empty())
    }

    /// A copy with the header block ([`Content::header_block`]) replaced by `header`.
    pub fn with_header_block(&self, header: &[u8]) -> Content {
        let old = self.header_block().len();
        let mut segments = self.segments.clone();
        if let Some(Segment::Bytes(bytes)) = segments.first_mut() {
            bytes.splice(..old, crlf(header.to_vec()));
        }
        Content {
            segments,
            binary: self.binary.clone(),
            binary_as_text: self.binary_as_text,
        }
    }

    /// Writes the content, streaming files; fails with a [`FileError`] when a file is no
    /// longer what was measured.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        for segment in &self.segments {
            match segment {
                Segment::Bytes(bytes) => out.write_all(bytes)?,
                Segment::File(part) => part.write_to(out)?,
            }
        }
        Ok(())
    }
}

/// `bytes` with bare CR and LF made CRLF (unchanged, without a copy, when they have none).
fn crlf(bytes: Vec<u8>) -> Vec<u8> {
    let clean = bytes.iter().enumerate().all(|(at, byte)| match byte {
        b'\r' => bytes.get(at + 1) == Some(&b'\n'),
        b'\n' => at > 0 && bytes[at - 1] == b'\r',
        _ => true,
    });
    if clean {
        bytes
    } else {
        crate::message::raw::to_crlf(&bytes)
    }
}

#[cfg(test)]
mod tests;
