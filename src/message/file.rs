//! A file streamed into the message while it is sent ([`FilePart`]), and the error of a file
//! that is no longer what was measured ([`FileError`]).
//!
//! A part's bytes come from a file the user named, opened again by its path each time the
//! message is written, or from a private copy of stdin ([`Spool`]), read by position; either
//! way they are checked against what was measured when the message was composed.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::base::exit::Kind;
use crate::base::input::FileKind;
use crate::message::spool::Spool;
use crate::message::transfer::{Encoder, Encoding, Measure, base64_len};

/// Bytes read from a file at a time (a whole number of base64 lines).
const READ_SIZE: usize = 57 * 1024;

/// A file of the message that is no longer what was measured when it was composed, or
/// cannot be read any more; carried in the `io::Error` of the write it failed.
#[derive(Debug)]
pub struct FileError {
    /// 66 when the file vanished, 74 otherwise.
    pub kind: Kind,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FileError {}

/// Where the bytes of a [`FilePart`] are read from each time the message is written.
#[derive(Debug, Clone)]
enum Source {
    /// A file the user named, opened again by its path.
    Path(PathBuf),
    /// The private copy of stdin (`-a -`, `--inline -`).
    Spool(Spool),
}

/// A file streamed into the message while it is sent, encoded as it was measured.
#[derive(Debug, Clone)]
pub struct FilePart {
    source: Source,
    /// What the file is to the user: "attachment", "inline image", "body file", "HTML file".
    role: &'static str,
    /// Its size when it was measured.
    size: u64,
    encoding: Encoding,
    encoded_len: u64,
    /// SHA-256 of its bytes, for a file read to be measured.
    digest: Option<[u8; 32]>,
    pub(super) ends_with_crlf: bool,
}

impl FilePart {
    /// An attachment, as base64, measured by its size.
    pub fn attachment(path: PathBuf, size: u64) -> FilePart {
        FilePart::base64(path, size, "attachment")
    }

    /// A file (`role`: "attachment", "inline image") as base64, measured by its size.
    pub fn base64(path: PathBuf, size: u64, role: &'static str) -> FilePart {
        FilePart::base64_from(Source::Path(path), size, role)
    }

    /// The copy of stdin as base64 (`role`: "attachment", "inline image").
    pub fn spooled(spool: Spool, role: &'static str) -> FilePart {
        let size = spool.len();
        FilePart::base64_from(Source::Spool(spool), size, role)
    }

    fn base64_from(source: Source, size: u64, role: &'static str) -> FilePart {
        FilePart {
            source,
            role,
            size,
            encoding: Encoding::Base64,
            encoded_len: base64_len(size),
            digest: None,
            ends_with_crlf: size > 0,
        }
    }

    /// A text file (`role`: "body file", "HTML file"), read once from `file` to measure it
    /// (see [`crate::message::transfer`]); `Ok(None)` when it is not UTF-8.
    pub fn text(file: &mut File, path: &Path, role: &'static str) -> io::Result<Option<FilePart>> {
        FilePart::text_seen(file, path, role, &mut |_| {})
    }

    /// [`FilePart::text`], showing each piece read to `see` as well (the HTML file's `cid:`
    /// references are found in the same reading).
    pub fn text_seen(
        file: &mut File,
        path: &Path,
        role: &'static str,
        see: &mut dyn FnMut(&[u8]),
    ) -> io::Result<Option<FilePart>> {
        let mut measure = Measure::default();
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; READ_SIZE];
        loop {
            let filled = read_full(file, &mut buffer)?;
            if filled == 0 {
                break;
            }
            measure.feed(&buffer[..filled]);
            hasher.update(&buffer[..filled]);
            see(&buffer[..filled]);
        }
        let measured = measure.finish();
        Ok(measured.utf8.then(|| FilePart {
            source: Source::Path(path.to_path_buf()),
            role,
            size: measured.len,
            encoding: measured.encoding,
            encoded_len: measured.encoded_len,
            digest: Some(hasher.finalize().into()),
            ends_with_crlf: measured.ends_with_crlf,
        }))
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The file's size when it was measured.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The length of the part once encoded: what it adds to the message.
    pub fn encoded_len(&self) -> u64 {
        self.encoded_len
    }

    /// Opens the file again, reads and encodes it, and checks it against the measure. The
    /// output of the last piece read is held back until the file has been checked, so a
    /// file that changed never completes the data; nothing past the measured length is
    /// ever written.
    pub(super) fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut file = self.reopen()?;
        let mut encoder = Encoder::new(self.encoding);
        let mut hasher = self.digest.map(|_| Sha256::new());
        let mut buffer = vec![0u8; READ_SIZE];
        let mut held = Vec::with_capacity(READ_SIZE * 3);
        let (mut read, mut written) = (0u64, 0u64);
        loop {
            let filled = read_full(&mut file, &mut buffer).map_err(|err| self.unreadable(&err))?;
            if filled == 0 {
                break;
            }
            read += filled as u64;
            if read > self.size {
                return Err(self.changed("grew while it was being sent"));
            }
            out.write_all(&held)?;
            written += held.len() as u64;
            held.clear();
            let piece = &buffer[..filled];
            if let Some(hasher) = &mut hasher {
                hasher.update(piece);
            }
            let fits = encoder.feed(piece, &mut held);
            if fits.is_err() || written + held.len() as u64 > self.encoded_len {
                return Err(self.changed("changed while it was being sent"));
            }
        }
        if read < self.size {
            return Err(self.changed("shrank while it was being sent"));
        }
        let same = encoder.finish(&mut held).is_ok()
            && written + held.len() as u64 == self.encoded_len
            && hasher.map(|hasher| <[u8; 32]>::from(hasher.finalize())) == self.digest;
        if !same {
            return Err(self.changed("changed while it was being sent"));
        }
        out.write_all(&held)
    }

    /// A reader of the bytes from the start: the file opened again without blocking and
    /// checked to be the regular file of the measured size, or the copy of stdin.
    fn reopen(&self) -> io::Result<Box<dyn Read>> {
        let path = match &self.source {
            Source::Spool(spool) => {
                let now = spool.current_len().map_err(|err| self.unreadable(&err))?;
                if now != self.size {
                    return Err(self.changed(&format!(
                        "changed after the message was composed: it was {} bytes, it is {now}",
                        self.size
                    )));
                }
                return Ok(Box::new(spool.reader()));
            }
            Source::Path(path) => path,
        };
        let opened = crate::base::input::open(path).map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                self.error(
                    Kind::NoInput,
                    format!(
                        "{} was removed after the message was composed",
                        self.named()
                    ),
                )
            } else {
                self.unreadable(&err)
            }
        })?;
        if opened.kind != FileKind::Regular {
            return Err(self.changed(&format!(
                "is now {}, not the regular file it was when the message was composed",
                opened.kind.described()
            )));
        }
        let now = opened.metadata.len();
        if now != self.size {
            return Err(self.changed(&format!(
                "changed after the message was composed: it was {} bytes, it is {now}",
                self.size
            )));
        }
        Ok(Box::new(opened.file))
    }

    /// `attachment /tmp/x.bin`, `attachment from stdin`.
    fn named(&self) -> String {
        match &self.source {
            Source::Path(path) => format!("{} {}", self.role, path.display()),
            Source::Spool(_) => format!("{} from stdin", self.role),
        }
    }

    fn changed(&self, what: &str) -> io::Error {
        self.error(Kind::LocalIo, format!("{} {what}", self.named()))
    }

    fn unreadable(&self, err: &io::Error) -> io::Error {
        let (role, what) = match &self.source {
            Source::Path(path) => (self.role, path.display().to_string()),
            Source::Spool(_) => ("the copy of stdin for the", self.role.to_string()),
        };
        self.error(
            Kind::LocalIo,
            format!(
                "cannot read {role} {what}: {}",
                crate::base::input::plain_io(err)
            ),
        )
    }

    fn error(&self, kind: Kind, message: String) -> io::Error {
        io::Error::other(FileError { kind, message })
    }
}

/// Reads until the buffer is full or the reader ends.
fn read_full(file: &mut dyn Read, buffer: &mut [u8]) -> io::Result<usize> {
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
