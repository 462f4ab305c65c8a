//! The private copy of stdin for `-a -` and `--inline -`.
//!
//! What comes through a pipe cannot be measured before it ends, nor read a second time, yet
//! SIZE= and BDAT announce the exact length ahead of the data, and a retry or the outbox
//! sends the message again. So stdin is copied, as it is read, into a temporary file that has
//! no name: it is opened with `O_TMPFILE` (or created and unlinked at once where the file
//! system lacks it), mode 0600, in `$TMPDIR` or `/tmp`; with `O_EXCL`, so that it can never be
//! given a name later. Only this process can reach it, it
//! vanishes when the process ends however it ends, and its bytes are then read by position
//! as often as the message is written, in constant memory. The copy is bounded by
//! `--max-input-size`, as all input that cannot be read twice is.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::sync::Arc;

/// Bytes copied at a time.
const COPY_SIZE: usize = 64 * 1024;

/// A private, unnamed copy of what was read (see the module's documentation).
#[derive(Debug, Clone)]
pub struct Spool {
    file: Arc<File>,
    len: u64,
    /// UTF-8 text without a NUL byte (for the default media type).
    text: bool,
}

impl Spool {
    /// Copies `reader` to its end into a new unnamed file; `Ok(None)` when it holds more
    /// than `limit` bytes (the reader is left part-way, the copy dropped).
    pub fn copy(reader: &mut dyn Read, limit: u64) -> io::Result<Option<Spool>> {
        let mut file = unnamed_file()?;
        let mut buffer = vec![0u8; COPY_SIZE];
        let mut text = TextCheck::default();
        let mut len = 0u64;
        loop {
            let filled = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(filled) => filled,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            len += filled as u64;
            if len > limit {
                return Ok(None);
            }
            text.feed(&buffer[..filled]);
            file.write_all(&buffer[..filled])?;
        }
        Ok(Some(Spool {
            file: Arc::new(file),
            len,
            text: text.finish(),
        }))
    }

    /// The number of bytes copied.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the copy is UTF-8 text without a NUL byte.
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// The copy's size now, from its descriptor.
    pub(crate) fn current_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// A reader of the copy from its start (reads by position: readers do not disturb one
    /// another).
    pub(crate) fn reader(&self) -> SpoolReader {
        SpoolReader {
            file: Arc::clone(&self.file),
            at: 0,
        }
    }
}

/// A new file without a name in the temporary folder, readable and writable by this process
/// only (see the module's documentation).
fn unnamed_file() -> io::Result<File> {
    let folder = std::env::temp_dir();
    let private = |options: &mut OpenOptions, flags| {
        options
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(flags | libc::O_CLOEXEC)
            .clone()
    };
    let unnamed = private(&mut OpenOptions::new(), libc::O_TMPFILE | libc::O_EXCL).open(&folder);
    match unnamed {
        // A kernel without O_TMPFILE takes it for O_DIRECTORY; a file system may lack it.
        Err(err) if matches!(err.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => {}
        other => return other,
    }
    loop {
        let path = folder.join(format!(
            ".smtpsend-stdin-{:016x}",
            crate::message::stamp::random_u64()
        ));
        let created = private(OpenOptions::new().create_new(true), libc::O_NOFOLLOW).open(&path);
        match created {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
}

/// Reads a [`Spool`] from its start.
pub(crate) struct SpoolReader {
    file: Arc<File>,
    at: u64,
}

impl Read for SpoolReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(buffer, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

/// Whether bytes fed piece by piece are UTF-8 without a NUL byte (a character may be split
/// between two pieces).
#[derive(Default)]
struct TextCheck {
    failed: bool,
    /// The start of a character cut off at the end of the last piece.
    pending: Vec<u8>,
}

impl TextCheck {
    fn feed(&mut self, piece: &[u8]) {
        if self.failed {
            return;
        }
        if piece.contains(&0) {
            self.failed = true;
            return;
        }
        let joined;
        let bytes = if self.pending.is_empty() {
            piece
        } else {
            joined = [self.pending.as_slice(), piece].concat();
            &joined
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => self.pending.clear(),
            Err(err) if err.error_len().is_none() => {
                self.pending = bytes[err.valid_up_to()..].to_vec();
            }
            Err(_) => self.failed = true,
        }
    }

    fn finish(self) -> bool {
        !self.failed && self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_reads_back_the_same_bytes_as_often_as_asked() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let spool = Spool::copy(&mut data.as_slice(), 1 << 20).unwrap().unwrap();
        assert_eq!(spool.len(), data.len() as u64);
        assert!(!spool.is_text());
        for _ in 0..2 {
            let mut back = Vec::new();
            spool.reader().read_to_end(&mut back).unwrap();
            assert_eq!(back, data);
        }
        assert_eq!(spool.current_len().unwrap(), data.len() as u64);
    }

    #[test]
    fn a_copy_past_the_limit_is_refused() {
        assert!(
            Spool::copy(&mut [7u8; 11].as_slice(), 10)
                .unwrap()
                .is_none()
        );
        assert!(
            Spool::copy(&mut [7u8; 10].as_slice(), 10)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn text_is_told_from_binary_across_pieces() {
        let mut check = TextCheck::default();
        let text = "Grüße ✓".as_bytes();
        for byte in text {
            check.feed(std::slice::from_ref(byte));
        }
        assert!(check.finish());
        for bad in [&b"a\0b"[..], b"\xff", "ü".as_bytes().split_at(1).0] {
            let mut check = TextCheck::default();
            check.feed(bad);
            assert!(!check.finish(), "{bad:?}");
        }
    }

    #[test]
    fn the_copy_has_no_name_and_is_private() {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::PermissionsExt;
        let spool = Spool::copy(&mut &b"secret report"[..], 100)
            .unwrap()
            .unwrap();
        let link = std::fs::read_link(format!("/proc/self/fd/{}", spool.file.as_raw_fd()));
        let target = link.unwrap().display().to_string();
        assert!(
            target.ends_with("(deleted)") || target.contains("#"),
            "{target}"
        );
        let mode = spool.file.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}
