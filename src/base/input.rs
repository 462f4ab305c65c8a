//! Local files the user names (attachments, body and HTML files, password files, TLS files,
//! the configuration file, messages for `--bulk`): opened without blocking, their type checked
//! on the open descriptor before anything is read, and read within a bound.
//!
//! `open(2)` on a FIFO with no writer blocks until one appears, so every file is opened with
//! `O_NONBLOCK` and then `fstat`ed: a FIFO, a socket or a device is named as such at once
//! (exit 66) instead of hanging, and the check holds for the file that is then read (no race
//! between a `stat` of the path and the `open`).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::base::exit::{Kind, fail};

/// The most bytes read from stdin or a pipe when `--max-input-size` is not given: input
/// that cannot be read twice is held in memory, and this bounds it. Large enough for a
/// message with 40 MiB of attachments as mutt or git send-email hand it over.
pub const DEFAULT_MAX_INPUT: u64 = 64 << 20;

/// The most bytes of a password read from a file or a command (its first line).
pub const PASSWORD_LIMIT: u64 = 4096;

/// What kind of file a descriptor refers to, for checks and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Directory,
    /// A FIFO or a pipe (`<(command)` gives `/dev/fd/N`, which is one).
    Pipe,
    Socket,
    CharDevice,
    BlockDevice,
}

impl FileKind {
    pub fn of(metadata: &Metadata) -> FileKind {
        let kind = metadata.file_type();
        if kind.is_file() {
            FileKind::Regular
        } else if kind.is_dir() {
            FileKind::Directory
        } else if kind.is_fifo() {
            FileKind::Pipe
        } else if kind.is_socket() {
            FileKind::Socket
        } else if kind.is_block_device() {
            FileKind::BlockDevice
        } else {
            FileKind::CharDevice
        }
    }

    /// `a FIFO`, `a character device`, … for messages.
    pub fn described(self) -> &'static str {
        match self {
            FileKind::Regular => "a regular file",
            FileKind::Directory => "a directory",
            FileKind::Pipe => "a FIFO (a pipe)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
        }
    }
}

/// An opened file, its metadata and its kind. Regular files are left in blocking mode; a
/// pipe stays non-blocking, so that reading it can keep a deadline (see [`read_pipe`]).
pub struct Opened {
    pub file: File,
    pub metadata: Metadata,
    pub kind: FileKind,
}

/// Opens `path` for reading without blocking, whatever it is, and says what it is. A socket
/// (which `open(2)` refuses with ENXIO) is reported as [`FileKind::Socket`] in the error.
pub fn open(path: &Path) -> io::Result<Opened> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ENXIO) => io::Error::other("it is a socket, not a file"),
            _ => err,
        })?;
    let metadata = file.metadata()?;
    let kind = FileKind::of(&metadata);
    if kind != FileKind::Pipe {
        set_blocking(&file)?;
    }
    Ok(Opened {
        file,
        metadata,
        kind,
    })
}

/// Opens a file that must be a regular file (an attachment, a message for `--bulk`, a TLS
/// file, the configuration file); anything else is a one-line error (66) naming `what`.
pub fn open_regular(path: &Path, what: &str) -> anyhow::Result<Opened> {
    let opened = open(path).map_err(|err| unreadable(what, path, &err))?;
    if opened.kind != FileKind::Regular {
        return Err(not_regular(what, path, opened.kind));
    }
    Ok(opened)
}

/// The error for a file of the wrong kind: `attachment /tmp/f is a FIFO (a pipe), not a
/// regular file`.
pub fn not_regular(what: &str, path: &Path, kind: FileKind) -> anyhow::Error {
    fail(
        Kind::NoInput,
        format!(
            "{what} {} is {}, not a regular file",
            path.display(),
            kind.described()
        ),
    )
}

/// The error for a file that cannot be opened or read: `cannot read attachment x: No such
/// file or directory` (66).
pub fn unreadable(what: &str, path: &Path, err: &io::Error) -> anyhow::Error {
    fail(
        Kind::NoInput,
        format!("cannot read {what} {}: {}", path.display(), plain_io(err)),
    )
}

/// An I/O error's text without Rust's "(os error N)" suffix.
pub fn plain_io(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// Reads everything up to `limit` bytes; `Ok(None)` when there is more than that (the
/// reader is left part-way).
pub fn read_to_limit(reader: &mut dyn Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Reads a non-blocking pipe until it ends, `limit` bytes are exceeded (`Ok(None)`), or the
/// `deadline` passes (an error of kind `TimedOut`), waiting with `poll(2)` in between.
pub fn read_pipe(
    file: &mut File,
    limit: u64,
    deadline: std::time::Instant,
) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(Some(bytes)),
            Ok(n) => {
                bytes.extend_from_slice(&buffer[..n]);
                if bytes.len() as u64 > limit {
                    return Ok(None);
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                let mut poll = libc::pollfd {
                    fd: file.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let millis = left.as_millis().clamp(1, i32::MAX as u128) as i32;
                // SAFETY: poll(2) on one pollfd we own, for at most `millis`.
                unsafe { libc::poll(&mut poll, 1, millis) };
            }
            Err(err) => return Err(err),
        }
    }
}

/// Clears `O_NONBLOCK`, so that reads of a regular file or device behave as usual.
fn set_blocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl(2) F_GETFL/F_SETFL on a descriptor this File owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether stdin holds bytes nobody has read yet: a pipe or socket with data waiting, or a
/// regular file not read to its end. A pipe whose writer has not written yet counts as
/// empty (nothing can be known without waiting).
pub fn stdin_has_data() -> bool {
    let fd = io::stdin().as_raw_fd();
    // SAFETY: fstat, ioctl(FIONREAD) and lseek(SEEK_CUR) only inspect descriptor 0 and
    // write into the local buffers given; none changes what stdin will read.
    unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut stat) != 0 {
            return false;
        }
        match stat.st_mode & libc::S_IFMT {
            libc::S_IFIFO | libc::S_IFSOCK => {
                let mut waiting: libc::c_int = 0;
                libc::ioctl(fd, libc::FIONREAD, &mut waiting) == 0 && waiting > 0
            }
            libc::S_IFREG => {
                let at = libc::lseek(fd, 0, libc::SEEK_CUR);
                at >= 0 && stat.st_size > at
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_without_writer_is_named_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) on a path in our own temporary directory.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let err = open_regular(&fifo, "attachment").err().unwrap();
        assert_eq!(crate::base::exit::code_for(&err), 66);
        assert!(
            crate::base::exit::one_line(&err).ends_with("is a FIFO (a pipe), not a regular file"),
            "{err:#}"
        );
        let opened = open(&fifo).unwrap();
        assert_eq!(opened.kind, FileKind::Pipe);
    }

    #[test]
    fn devices_and_directories_are_named() {
        let err = open_regular(Path::new("/dev/zero"), "body file")
            .err()
            .unwrap();
        assert!(crate::base::exit::one_line(&err).contains("is a character device"));
        let err = open_regular(Path::new("/"), "attachment").err().unwrap();
        assert!(crate::base::exit::one_line(&err).contains("is a directory"));
    }

    #[test]
    fn reading_stops_past_the_limit() {
        let mut short: &[u8] = b"12345";
        assert_eq!(read_to_limit(&mut short, 5).unwrap().unwrap(), b"12345");
        let mut long: &[u8] = b"123456";
        assert!(read_to_limit(&mut long, 5).unwrap().is_none());
    }
}
