//! The outbox on disk: messages waiting to be sent, kept so that a crash loses nothing.
//!
//! It lives in `$XDG_STATE_HOME/smtpsend/queue` (`~/.local/state/smtpsend/queue`), mode
//! 0700. Each message is two files, mode 0600:
//!
//! - `ID.eml`: the exact bytes to send (CRLF lines, not dot-stuffed), readable with any
//!   mail tool and re-sendable by hand with `smtpsend -t < ID.eml`;
//! - `ID.json`: its [`Meta`] (envelope, account and options, attempts, last error), small,
//!   so that recording an attempt never rewrites the message.
//!
//! Every file is written to a temporary name in the same directory, fsynced, renamed into
//! place, and the directory fsynced. `ID.eml` is written first and `ID.json` last: the meta
//! file is the commit point, so an entry exists exactly when its `.json` does. Removing goes
//! the other way round (`.json` first). A process working on an entry holds an flock on its
//! `.eml` from the moment it is created, so a flush never sends a message that another
//! process is sending, and what a killed process left half-written (a temporary file, a
//! `.eml` without its `.json`) is known as such and removed; `.flush.lock` keeps two flushes
//! apart.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::exit::{Kind, fail};
use crate::message::{Content, Envelope};

/// Version of the `.json` format.
pub const FORMAT: u32 = 1;
/// The file whose lock keeps two flushes apart.
const FLUSH_LOCK: &str = ".flush.lock";

/// What is known about a queued message besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub format: u32,
    /// When it was queued, in seconds since the Unix epoch.
    pub created: u64,
    pub envelope: Envelope,
    /// Size of `ID.eml` in bytes.
    pub size: u64,
    /// The server when it was queued, for listing.
    pub server: String,
    /// The configuration account used, if any.
    pub account: Option<String>,
    /// The options that chose and reached the server (`--server=…`, `--account=…`, …), given
    /// again when the message is sent from the outbox.
    pub options: Vec<String>,
    /// Send when at least one recipient is accepted (`--partial`).
    #[serde(default)]
    pub partial: bool,
    /// Declare BODY=8BITMIME (`-B 8BITMIME`).
    #[serde(default)]
    pub declare_8bitmime: bool,
    /// Delivery status notifications asked for (`-N`, `-R`, `-V`).
    #[serde(default, skip_serializing_if = "crate::smtp::dsn::Dsn::is_empty")]
    pub dsn: crate::smtp::dsn::Dsn,
    /// Attempts to send it so far.
    #[serde(default)]
    pub attempts: u32,
    /// When it was last tried, in seconds since the Unix epoch.
    #[serde(default)]
    pub last_attempt: Option<u64>,
    /// The last failure, one line.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The exit code of the last failure: 75 temporary, anything else permanent.
    #[serde(default)]
    pub last_exit_code: Option<u8>,
}

impl Meta {
    /// Counts an attempt that failed with `err`.
    pub fn record_failure(&mut self, err: &anyhow::Error) {
        self.attempts += 1;
        self.last_attempt = Some(now());
        self.last_error = Some(crate::exit::one_line(err));
        self.last_exit_code = Some(crate::exit::code_for(err));
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The outbox directory.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

/// An entry and its meta file as read (an unreadable one is reported, not hidden).
pub type Listed = (String, anyhow::Result<Meta>);

/// What [`Outbox::claim`] found.
pub enum Claimed {
    /// The entry, locked for this process until the [`Claim`] is dropped.
    Mine(Claim),
    /// Another process holds it (a send in progress).
    Busy,
    /// No such entry (never was, or was just removed).
    Gone,
}

impl Outbox {
    /// `$XDG_STATE_HOME/smtpsend/queue`, else `$HOME/.local/state/smtpsend/queue`.
    pub fn locate() -> anyhow::Result<Outbox> {
        let base = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|home| !home.is_empty())
                    .map(|home| PathBuf::from(home).join(".local/state"))
            })
            .ok_or_else(|| {
                fail(
                    Kind::Config,
                    "no place for the outbox: neither XDG_STATE_HOME nor HOME is set",
                )
            })?;
        Ok(Outbox::at(base.join("smtpsend").join("queue")))
    }

    /// The outbox in `dir`.
    pub fn at(dir: PathBuf) -> Outbox {
        Outbox { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a message and its meta (`meta.size` is set here) and returns the new entry,
    /// still locked by this process.
    pub fn add(&self, meta: &Meta, content: &Content) -> anyhow::Result<Claim> {
        self.create_dir()?;
        let (id, file) = self.new_message_file()?;
        let claim = Claim {
            dir: self.dir.clone(),
            id,
            file,
        };
        let mut meta = meta.clone();
        let written = (|| -> io::Result<u64> {
            let mut out = BufWriter::new(&claim.file);
            content.write_to(&mut out)?;
            out.flush()?;
            drop(out);
            claim.file.sync_all()?;
            let size = claim.file.metadata()?.len();
            fs::rename(claim.path("eml.tmp"), claim.path("eml"))?;
            sync_dir(&self.dir)?;
            Ok(size)
        })();
        let committed = written.and_then(|size| {
            meta.size = size;
            claim.write_meta(&meta)
        });
        if let Err(err) = committed {
            let _ = fs::remove_file(claim.path("eml.tmp"));
            let _ = fs::remove_file(claim.path("eml"));
            let _ = fs::remove_file(claim.path("json.tmp"));
            return Err(self.io_error("cannot write to the outbox", &err));
        }
        Ok(claim)
    }

    /// Every entry, oldest first; an empty list when the outbox does not exist yet.
    pub fn entries(&self) -> anyhow::Result<Vec<Listed>> {
        let mut ids: Vec<String> = self
            .file_names()?
            .into_iter()
            .filter_map(|name| name.strip_suffix(".json").map(str::to_string))
            .filter(|id| valid_id(id))
            .collect();
        ids.sort();
        let mut entries: Vec<Listed> = ids
            .into_iter()
            .map(|id| {
                let meta = read_meta(&self.dir, &id);
                (id, meta)
            })
            .filter(|(_, meta)| !is_gone(meta))
            .collect();
        entries.sort_by_key(|(id, meta)| (meta.as_ref().map_or(0, |m| m.created), id.clone()));
        Ok(entries)
    }

    /// Locks the entry `id` for this process, if it exists and nobody else holds it.
    pub fn claim(&self, id: &str) -> anyhow::Result<Claimed> {
        if !valid_id(id) {
            return Ok(Claimed::Gone);
        }
        let path = self.dir.join(format!("{id}.eml"));
        let file = match OpenOptions::new().read(true).open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                if self.dir.join(format!("{id}.json")).exists() {
                    return Err(fail(
                        Kind::LocalIo,
                        format!("{id}: its message file {} is missing", path.display()),
                    ));
                }
                return Ok(Claimed::Gone);
            }
            Err(err) => return Err(self.io_error("cannot open a queued message", &err)),
        };
        if !try_lock(&file).map_err(|err| self.io_error("cannot lock a queued message", &err))? {
            return Ok(Claimed::Busy);
        }
        if !self.dir.join(format!("{id}.json")).exists() {
            return Ok(Claimed::Gone);
        }
        Ok(Claimed::Mine(Claim {
            dir: self.dir.clone(),
            id: id.to_string(),
            file,
        }))
    }

    /// Takes the flush lock, or fails (75) when another flush holds it.
    pub fn lock_flush(&self) -> anyhow::Result<FlushLock> {
        self.create_dir()?;
        let path = self.dir.join(FLUSH_LOCK);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|err| self.io_error("cannot open the flush lock", &err))?;
        if !try_lock(&file).map_err(|err| self.io_error("cannot lock the outbox", &err))? {
            return Err(fail(
                Kind::TempFail,
                format!(
                    "another flush of the outbox is running (it holds {})",
                    path.display()
                ),
            ));
        }
        Ok(FlushLock { _file: file })
    }

    /// Removes what an interrupted write or removal left behind (a killed process): files
    /// of an id that is no entry (no `.json`), and temporary files, when no process holds
    /// the id's lock. A process writing or updating an entry holds it the whole time.
    pub fn remove_leftovers(&self) {
        let Ok(names) = self.file_names() else { return };
        for name in &names {
            let Some((id, _)) = name.split_once('.') else {
                continue;
            };
            let temporary = name.ends_with(".tmp");
            let orphan = name.ends_with(".eml") && !names.contains(&format!("{id}.json"));
            if !valid_id(id) || !(temporary || orphan) || self.held(id) {
                continue;
            }
            let is_entry_now = self.dir.join(format!("{id}.json")).exists();
            if temporary || !is_entry_now {
                let _ = fs::remove_file(self.dir.join(name));
            }
        }
    }

    /// True when a process holds the lock of this id (on `ID.eml` or `ID.eml.tmp`).
    fn held(&self, id: &str) -> bool {
        [format!("{id}.eml"), format!("{id}.eml.tmp")]
            .iter()
            .filter_map(|name| File::open(self.dir.join(name)).ok())
            .any(|file| !try_lock(&file).unwrap_or(false))
    }

    fn create_dir(&self) -> anyhow::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .and_then(|()| fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)))
            .map_err(|err| self.io_error("cannot create the outbox", &err))
    }

    /// A new `ID.eml.tmp`, created (0600) and locked, with an id nobody uses.
    fn new_message_file(&self) -> anyhow::Result<(String, File)> {
        loop {
            let id = new_id();
            if self.dir.join(format!("{id}.eml")).exists()
                || self.dir.join(format!("{id}.json")).exists()
            {
                continue;
            }
            let opened = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(self.dir.join(format!("{id}.eml.tmp")));
            match opened {
                Ok(file) => {
                    try_lock(&file)
                        .map_err(|err| self.io_error("cannot lock a queued message", &err))?;
                    return Ok((id, file));
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(self.io_error("cannot write to the outbox", &err)),
            }
        }
    }

    fn file_names(&self) -> anyhow::Result<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(self.io_error("cannot read the outbox", &err)),
        };
        Ok(entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect())
    }

    fn io_error(&self, what: &str, err: &io::Error) -> anyhow::Error {
        fail(
            Kind::LocalIo,
            format!(
                "{what} {}: {}",
                self.dir.display(),
                crate::input::plain_io(err)
            ),
        )
    }
}

/// Held while a flush runs.
pub struct FlushLock {
    _file: File,
}

/// An entry locked by this process: read it, record an attempt, remove it.
pub struct Claim {
    dir: PathBuf,
    id: String,
    /// `ID.eml` (or its temporary name while being written), flock held.
    file: File,
}

impl Claim {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The meta file as it is now.
    pub fn meta(&self) -> anyhow::Result<Meta> {
        read_meta(&self.dir, &self.id)
    }

    /// The message bytes.
    pub fn content(&self) -> anyhow::Result<Content> {
        let mut bytes = Vec::new();
        (&self.file)
            .rewind()
            .and_then(|()| (&self.file).read_to_end(&mut bytes))
            .map_err(|err| {
                fail(
                    Kind::LocalIo,
                    format!(
                        "cannot read queued message {}: {}",
                        self.path("eml").display(),
                        crate::input::plain_io(&err)
                    ),
                )
            })?;
        Ok(Content::queued(bytes))
    }

    /// Replaces the meta file atomically.
    pub fn update(&self, meta: &Meta) -> anyhow::Result<()> {
        self.write_meta(meta).map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot update {}: {}",
                    self.path("json").display(),
                    crate::input::plain_io(&err)
                ),
            )
        })
    }

    /// Removes the entry: the meta file first, so a crash half-way leaves no entry.
    pub fn remove(self) -> anyhow::Result<()> {
        let result = remove_if_present(&self.path("json"))
            .and_then(|()| sync_dir(&self.dir))
            .and_then(|()| remove_if_present(&self.path("eml")))
            .and_then(|()| sync_dir(&self.dir));
        result.map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot remove {} from the outbox {}: {}",
                    self.id,
                    self.dir.display(),
                    crate::input::plain_io(&err)
                ),
            )
        })
    }

    fn path(&self, extension: &str) -> PathBuf {
        self.dir.join(format!("{}.{extension}", self.id))
    }

    fn write_meta(&self, meta: &Meta) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(meta).map_err(io::Error::other)?;
        // The last error may quote a server that echoed the login: no secret goes to disk.
        let text = crate::secret::scrub_bytes(&text);
        let temporary = self.path("json.tmp");
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)?;
            file.write_all(&text)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&temporary, self.path("json"))?;
            sync_dir(&self.dir)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }
}

fn read_meta(dir: &Path, id: &str) -> anyhow::Result<Meta> {
    let path = dir.join(format!("{id}.json"));
    let text = fs::read(&path).map_err(|err| {
        let kind = if err.kind() == io::ErrorKind::NotFound {
            Kind::NoInput
        } else {
            Kind::LocalIo
        };
        fail(
            kind,
            format!(
                "cannot read {}: {}",
                path.display(),
                crate::input::plain_io(&err)
            ),
        )
    })?;
    serde_json::from_slice(&text).map_err(|err| {
        fail(
            Kind::LocalIo,
            format!("{} is not a valid outbox entry: {err}", path.display()),
        )
    })
}

/// True when reading the meta failed because the entry was removed meanwhile.
fn is_gone(meta: &anyhow::Result<Meta>) -> bool {
    meta.as_ref()
        .is_err_and(|err| crate::exit::code_for(err) == Kind::NoInput.code())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
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
        crate::stamp::random_u64() & 0xff_ffff
    )
}

/// Ids are made of hex digits and dashes; anything else (a path) is no id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            format: FORMAT,
            created: now(),
            envelope: Envelope {
                from: "a@example.com".into(),
                recipients: vec!["b@example.com".into()],
            },
            size: 0,
            server: "mx.test:25".into(),
            account: None,
            options: vec!["--server=mx.test:25".into()],
            partial: false,
            declare_8bitmime: false,
            dsn: Default::default(),
            attempts: 0,
            last_attempt: None,
            last_error: None,
            last_exit_code: None,
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn add_writes_both_files_privately_and_reads_back() {
        let home = tempfile::tempdir().unwrap();
        let outbox = Outbox::at(home.path().join("state/smtpsend/queue"));
        let claim = outbox
            .add(
                &meta(),
                &Content::from_bytes(b"Subject: x\r\n\r\nhi\r\n".to_vec()),
            )
            .unwrap();
        let id = claim.id().to_string();
        assert_eq!(mode(outbox.dir()), 0o700);
        assert_eq!(mode(&outbox.dir().join(format!("{id}.eml"))), 0o600);
        assert_eq!(mode(&outbox.dir().join(format!("{id}.json"))), 0o600);
        let mut names = outbox.file_names().unwrap();
        names.sort();
        assert_eq!(names, [format!("{id}.eml"), format!("{id}.json")]);
        assert_eq!(
            claim.content().unwrap().as_bytes().unwrap(),
            b"Subject: x\r\n\r\nhi\r\n"
        );
        assert_eq!(claim.meta().unwrap().size, 18);
        drop(claim);
        let entries = outbox.entries().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, id);
    }

    #[test]
    fn a_claimed_entry_is_busy_for_others_and_remove_deletes_it() {
        let home = tempfile::tempdir().unwrap();
        let outbox = Outbox::at(home.path().join("queue"));
        let claim = outbox
            .add(&meta(), &Content::from_bytes(b"x\r\n".to_vec()))
            .unwrap();
        let id = claim.id().to_string();
        assert!(matches!(outbox.claim(&id).unwrap(), Claimed::Busy));
        let mut updated = claim.meta().unwrap();
        updated.record_failure(&fail(Kind::TempFail, "451 later"));
        claim.update(&updated).unwrap();
        assert_eq!(claim.meta().unwrap().attempts, 1);
        claim.remove().unwrap();
        assert!(matches!(outbox.claim(&id).unwrap(), Claimed::Gone));
        assert!(outbox.file_names().unwrap().is_empty());
    }

    #[test]
    fn leftovers_are_removed_but_entries_in_use_are_not() {
        let home = tempfile::tempdir().unwrap();
        let outbox = Outbox::at(home.path().join("queue"));
        let kept = outbox
            .add(&meta(), &Content::from_bytes(b"x\r\n".to_vec()))
            .unwrap();
        let kept_id = kept.id().to_string();
        drop(kept);
        fs::write(outbox.dir().join("deadbeef-00000001.eml"), "orphan").unwrap();
        fs::write(outbox.dir().join("deadbeef-00000002.eml.tmp"), "half").unwrap();
        fs::write(outbox.dir().join(format!("{kept_id}.json.tmp")), "{").unwrap();
        let busy = outbox
            .add(&meta(), &Content::from_bytes(b"y\r\n".to_vec()))
            .unwrap();
        let busy_id = busy.id().to_string();
        fs::write(outbox.dir().join(format!("{busy_id}.json.tmp")), "{").unwrap();
        outbox.remove_leftovers();
        let mut names = outbox.file_names().unwrap();
        names.sort();
        let mut expected = vec![
            format!("{kept_id}.eml"),
            format!("{kept_id}.json"),
            format!("{busy_id}.eml"),
            format!("{busy_id}.json"),
            format!("{busy_id}.json.tmp"),
        ];
        expected.sort();
        assert_eq!(names, expected);
        drop(busy);
    }

    #[test]
    fn ids_are_not_paths() {
        assert!(valid_id("6440a1b2c3d4e-0badf0"));
        assert!(!valid_id("../x"));
        assert!(!valid_id(""));
        assert!(!valid_id("a/b"));
    }
}
