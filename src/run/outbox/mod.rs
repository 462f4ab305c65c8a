//! The outbox on disk: messages waiting to be sent, kept so that a crash loses nothing.
//!
//! It lives in `$XDG_STATE_HOME/smtpsend/queue` (`~/.local/state/smtpsend/queue`). A user
//! without a home it can write to (cron jobs and daemons of system users) has it in the
//! system file's spool, `SPOOL/USER` (see [`Outbox::locate`]). Each message is two files,
//! mode 0600:
//!
//! - `ID.eml`: the exact bytes to send (CRLF lines, not dot-stuffed), readable with any
//!   mail tool and re-sendable by hand with `smtpsend -t < ID.eml`;
//! - `ID.json`: its [`Meta`] (envelope, account and options, the size and SHA-256 of
//!   `ID.eml`, attempts, last error), small, so that recording an attempt never rewrites
//!   the message.
//!
//! An id is the time in microseconds as 13 hex digits, a dash and 6 random hex digits
//! (`0640a1b2c3d4e-0badf0`, see [`valid_id`]). The outbox's own files are `ID.eml`,
//! `ID.json`, their temporary names `ID.eml.tmp` and `ID.json.tmp`, and `.flush.lock`;
//! it never deletes, follows or writes anything else it finds in the directory.
//!
//! **The directory.** `smtpsend/` and `queue/` are created mode 0700 when missing, and on
//! every operation (add, flush, list, drop) each is opened without following a symbolic
//! link and checked on the open descriptor: a symbolic link, anything not a directory, a
//! directory owned by another user than the effective one, or one that group or others
//! can write is refused (exit 78) before anything is read or written. Every file is then
//! reached through the queue directory's descriptor (`openat`, `renameat`, `unlinkat`),
//! never by path, and opened with `O_NOFOLLOW`: a symbolic link planted under one of the
//! outbox's names is reported, never followed.
//!
//! **Writing.** Every file is written to a temporary name in the same directory, fsynced,
//! renamed into place, and the directory fsynced. `ID.eml` is written first (its size and
//! SHA-256 computed as it is written) and `ID.json` last: the meta file is the commit
//! point, so an entry exists exactly when its `.json` does. Removing goes the other way
//! round (`.json` first). A process working on an entry holds an flock on its `.eml` from
//! the moment it is created, so a flush never sends a message that another process is
//! sending, and what a killed process left half-written (a temporary file, a `.eml`
//! without its `.json`) is known as such and removed, when it is a regular file with one
//! of the outbox's names; `.flush.lock` keeps two flushes apart.
//!
//! **Reading.** A meta file is checked when it is read as if its fields were typed on
//! the command line: the envelope sender (empty for the null sender) and every recipient
//! (at least one) must be valid addresses without line breaks or control characters, the
//! stored options must parse, the DSN fields must be what `-N`, `-R` and `-V` accept, and
//! the format must be one this release knows. Before a message is sent its `ID.eml` must
//! have the recorded size and SHA-256 (entries of format 1, which recorded no hash, are
//! checked by size). An entry that fails is *damaged* (exit 65): never sent, never
//! changed, reported by every flush and listing until it is dropped; `--drop-queue`
//! removes an entry in any state, as long as no process holds its lock.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::base::exit::{Kind, fail};
use crate::base::input::{FileKind, plain_io};
use crate::base::private_dir::{self, PrivateDir, Purpose, file_type};
use crate::message::{Content, Envelope};

mod dir;
mod meta;
mod queue;

use dir::*;
use meta::*;
pub use meta::{Damaged, FORMAT, Meta, is_damaged, now};
pub use queue::{Claim, FlushLock, Queue};

/// Where the outbox is: a base directory that is not the outbox's own (the XDG state
/// directory, or the spool) and the directories under it that are (`smtpsend/queue`, or
/// the user's directory in the spool).
#[derive(Debug, Clone)]
pub struct Outbox {
    base: PathBuf,
    own: Vec<OsString>,
    /// In the system file's spool: the base must be root's and written by nobody else, and
    /// the user's directory in it is made by the administrator, never by smtpsend.
    in_spool: bool,
}

/// An entry and its meta file as read (an unreadable or damaged one is reported, not
/// hidden).
pub type Listed = (String, anyhow::Result<Meta>);

/// What [`Queue::claim`] found.
pub enum Claimed {
    /// The entry, locked for this process until the [`Claim`] is dropped.
    Mine(Claim),
    /// Another process holds it (a send in progress).
    Busy,
    /// No such entry (never was, or was just removed).
    Gone,
}

/// What [`Queue::drop_entry`] did.
pub enum Dropped {
    /// The entry's files were removed; its meta as it was (an error when it was unreadable
    /// or damaged), and the names removed.
    Removed {
        meta: Box<anyhow::Result<Meta>>,
        files: Vec<String>,
    },
    /// Another process holds it (a send in progress): nothing removed.
    Busy,
    /// No file of that id.
    Gone,
}

impl Outbox {
    /// `$XDG_STATE_HOME/smtpsend/queue`, else `$HOME/.local/state/smtpsend/queue` when the
    /// home is one this user can keep files in, else `SPOOL/USER` in the system file's
    /// `spool` (the user's name in the password database). Without any of them there is no
    /// outbox (78, saying how to give the user one).
    pub fn locate(spool: Option<&Path>) -> anyhow::Result<Outbox> {
        if let Some(state) = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
        {
            return Ok(Outbox::locate_in(state));
        }
        let home = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from);
        if let Some(home) = &home
            && home_is_usable(home)
        {
            return Ok(Outbox::locate_in(home.join(".local/state")));
        }
        let user = crate::base::user::effective_uid();
        let name = crate::base::user::name_of(user).unwrap_or_else(|| user.to_string());
        let why = match &home {
            None => "neither XDG_STATE_HOME nor HOME is set".to_string(),
            Some(home) => format!(
                "its home {} does not exist or cannot be written to",
                home.display()
            ),
        };
        match spool {
            Some(spool) => Ok(Outbox {
                base: spool.to_path_buf(),
                own: vec![name.into()],
                in_spool: true,
            }),
            None => Err(fail(
                Kind::Config,
                format!(
                    "no place for the outbox of {name}: {why}; give it a home, or name a spool \
                     in the system file (spool = \"/var/spool/smtpsend\") and create its \
                     directory with install -d -o {name} -m 700 /var/spool/smtpsend/{name} \
                     (see docs/sendmail.md)"
                ),
            )),
        }
    }

    /// The outbox under the state directory `base`: `base/smtpsend/queue`.
    pub fn locate_in(base: PathBuf) -> Outbox {
        Outbox {
            base,
            own: vec!["smtpsend".into(), "queue".into()],
            in_spool: false,
        }
    }

    /// The outbox in `dir`, whose parent is taken as given.
    pub fn at(dir: PathBuf) -> Outbox {
        let base = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let own = dir.file_name().map(OsString::from).into_iter().collect();
        Outbox {
            base,
            own,
            in_spool: false,
        }
    }

    /// The outbox directory's path, for messages.
    pub fn dir(&self) -> PathBuf {
        let mut dir = self.base.clone();
        dir.extend(&self.own);
        dir
    }

    /// The outbox as it is, checked; `None` when it does not exist yet.
    pub fn open(&self) -> anyhow::Result<Option<Queue>> {
        self.open_dir(false)
    }

    /// The outbox, its directories created (0700) when missing, checked.
    pub fn create(&self) -> anyhow::Result<Queue> {
        self.open_dir(true)?
            .ok_or_else(|| fail(Kind::LocalIo, "the outbox vanished while being created"))
    }

    /// Writes a message into the outbox, created when missing (see [`Queue::add`]).
    pub fn add(&self, meta: &Meta, content: &Content) -> anyhow::Result<Claim> {
        self.create()?.add(meta, content)
    }

    /// Opens the outbox's directories (see [`private_dir::open_chain`]), creating them
    /// first when asked.
    fn open_dir(&self, create: bool) -> anyhow::Result<Option<Queue>> {
        if self.in_spool {
            return self.open_in_spool(create);
        }
        let dir = private_dir::open_chain(&self.base, &self.own, create, OUTBOX)?;
        Ok(dir.map(|dir| Queue { dir: Arc::new(dir) }))
    }

    /// The user's directory in the spool: the spool checked on its descriptor, then the
    /// user's directory opened from it and checked; neither is ever created (a missing
    /// user's directory is 75 when a message is to be kept, see [`no_spool_directory`]).
    fn open_in_spool(&self, create: bool) -> anyhow::Result<Option<Queue>> {
        let Some(spool) = private_dir::open_base(&self.base, OUTBOX)? else {
            let missing = io::Error::from(io::ErrorKind::NotFound);
            return match create {
                true => Err(private_dir::cannot("open", &self.base, &missing, OUTBOX)),
                false => Ok(None),
            };
        };
        check_spool(&spool, &self.base)?;
        match private_dir::open_under(spool, &self.base, &self.own, false, OUTBOX)? {
            Some(dir) => Ok(Some(Queue { dir: Arc::new(dir) })),
            None if create => Err(no_spool_directory(&self.dir())),
            None => Ok(None),
        }
    }
}

/// True when the user can keep files under `home`: its `.local/state` exists, or it is a
/// directory the user may write to (nobody's /nonexistent and a daemon's root-owned home
/// are not).
fn home_is_usable(home: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if home.join(".local/state").is_dir() {
        return true;
    }
    let Ok(path) = CString::new(home.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) with a NUL-terminated path; it touches no memory of ours.
    home.is_dir() && unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } == 0
}

/// Takes an exclusive flock without waiting: `Ok(false)` when another process holds it.
fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock(2) on a descriptor this File owns and keeps open.
    let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if result == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(false);
    }
    Err(err)
}

/// A new id: the time in microseconds, in hex (so ids sort in the order messages were
/// queued), and 24 random bits.
fn new_id() -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!(
        "{micros:013x}-{:06x}",
        crate::message::stamp::random_u64() & 0xff_ffff
    )
}

/// An outbox id exactly as [`new_id`] makes them: 13 lower-case hex digits, a dash, 6 more.
/// Anything else (a path, a user's file name) is no id, and never touched.
pub fn valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let hex = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
    bytes.len() == 20
        && bytes[13] == b'-'
        && bytes[..13].iter().all(hex)
        && bytes[14..].iter().all(hex)
}

#[cfg(test)]
mod tests;
