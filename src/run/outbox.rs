//! The outbox on disk: messages waiting to be sent, kept so that a crash loses nothing.
//!
//! It lives in `$XDG_STATE_HOME/smtpsend/queue` (`~/.local/state/smtpsend/queue`). Each
//! message is two files, mode 0600:
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

use std::ffi::{CStr, CString, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::mem::MaybeUninit;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::base::exit::{Kind, fail};
use crate::base::input::{FileKind, plain_io};
use crate::message::{Content, Envelope};

/// Version of the `.json` format: 2 records the message's SHA-256; 1 (without it) is
/// still read, and checked by size.
pub const FORMAT: u32 = 2;
/// The file whose lock keeps two flushes apart.
const FLUSH_LOCK: &str = ".flush.lock";
/// The largest meta file read; a real one is a few hundred bytes per recipient.
const META_LIMIT: u64 = 16 << 20;

/// What is known about a queued message besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub format: u32,
    /// When it was queued, in seconds since the Unix epoch.
    pub created: u64,
    pub envelope: Envelope,
    /// Size of `ID.eml` in bytes.
    pub size: u64,
    /// SHA-256 of `ID.eml`, 64 lower-case hex digits (format 2; none in format 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
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
        self.last_error = Some(crate::report::errors::error_line(err));
        self.last_exit_code = Some(crate::base::exit::code_for(err));
    }

    /// What makes this meta unusable, checked as if its fields had been typed on the
    /// command line; `None` when it is sound.
    pub fn problem(&self) -> Option<String> {
        if self.format == 0 || self.format > FORMAT {
            return Some(format!(
                "its format {} is not one this smtpsend reads (1 to {FORMAT}; a newer release \
                 may have written it)",
                self.format
            ));
        }
        match &self.sha256 {
            None if self.format >= 2 => {
                return Some("it records no SHA-256 of its message".to_string());
            }
            Some(hash) if !is_sha256_hex(hash) => {
                return Some(format!(
                    "its SHA-256 {hash:?} is not 64 lower-case hex digits"
                ));
            }
            _ => {}
        }
        self.fields_problem()
    }

    /// What is wrong with the fields a sender gives (envelope, options, DSN, names),
    /// whatever the format.
    fn fields_problem(&self) -> Option<String> {
        if !self.envelope.from.is_empty()
            && let Err(why) = address_problem(&self.envelope.from)
        {
            return Some(format!(
                "its envelope sender {:?} is not a valid address: {why}",
                self.envelope.from
            ));
        }
        if self.envelope.recipients.is_empty() {
            return Some("it has no recipients".to_string());
        }
        for recipient in &self.envelope.recipients {
            if let Err(why) = address_problem(recipient) {
                return Some(format!(
                    "its recipient {recipient:?} is not a valid address: {why}"
                ));
            }
        }
        if let Some(why) = self.options_problem() {
            return Some(why);
        }
        if let Some(why) = self.dsn_problem() {
            return Some(why);
        }
        for (what, value) in [
            ("server", Some(&self.server)),
            ("account", self.account.as_ref()),
        ] {
            if let Some(value) = value
                && value.contains(char::is_control)
            {
                return Some(format!("its {what} {value:?} has control characters"));
            }
        }
        None
    }

    /// The stored options must be `--name[=value]` options that parse as on the command line.
    fn options_problem(&self) -> Option<String> {
        if let Some(odd) = self
            .options
            .iter()
            .find(|option| !option.starts_with("--") || option.len() < 3)
        {
            return Some(format!("its stored option {odd:?} is not an --option"));
        }
        match crate::cli::parse_stored(&self.options) {
            Ok(_) => None,
            Err(err) => Some(format!(
                "its stored options are not valid ({}): {}",
                self.options.join(" "),
                crate::cli::one_line(&err)
            )),
        }
    }

    /// The DSN fields must be what `-N`, `-R` and `-V` accept, as they store them.
    fn dsn_problem(&self) -> Option<String> {
        let dsn = &self.dsn;
        if let Some(notify) = &dsn.notify
            && crate::cli::parse_dsn_notify(notify).as_ref() != Ok(notify)
        {
            return Some(format!(
                "its DSN NOTIFY {notify:?} is not NEVER or a list of SUCCESS, FAILURE and DELAY"
            ));
        }
        if let Some(ret) = &dsn.ret
            && ret != "FULL"
            && ret != "HDRS"
        {
            return Some(format!("its DSN RET {ret:?} is not FULL or HDRS"));
        }
        if let Some(envid) = &dsn.envid
            && let Err(why) = crate::cli::parse_dsn_envid(envid)
        {
            return Some(format!("its DSN ENVID {envid:?} is not valid: {why}"));
        }
        None
    }
}

/// Checks one stored envelope address as `--to` or `--envelope-from` would.
fn address_problem(address: &str) -> Result<(), String> {
    if address.contains(['\r', '\n', '\0']) {
        return Err("it contains a line break or a NUL byte".to_string());
    }
    crate::message::address::validate(address)
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Marks the error of an entry that cannot be trusted: its meta or its message is not what
/// the outbox wrote (see [`is_damaged`]).
#[derive(Debug)]
pub struct Damaged;

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("damaged entry")
    }
}

/// The error for a damaged entry: exit 65, `damaged entry: WHY`.
fn damaged(why: impl Into<String>) -> anyhow::Error {
    fail(Kind::Data, why).context(Damaged)
}

/// True for the error of a damaged entry: kept, never sent, reported until dropped.
pub fn is_damaged(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Damaged>().is_some()
}

/// Where the outbox is: a base directory that is not the outbox's own (the XDG state
/// directory) and the directories under it that are (`smtpsend/queue`).
#[derive(Debug, Clone)]
pub struct Outbox {
    base: PathBuf,
    own: Vec<OsString>,
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
        Ok(Outbox::locate_in(base))
    }

    /// The outbox under the state directory `base`: `base/smtpsend/queue`.
    pub fn locate_in(base: PathBuf) -> Outbox {
        Outbox {
            base,
            own: vec!["smtpsend".into(), "queue".into()],
        }
    }

    /// The outbox in `dir`, whose parent is taken as given.
    pub fn at(dir: PathBuf) -> Outbox {
        let base = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let own = dir.file_name().map(OsString::from).into_iter().collect();
        Outbox { base, own }
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

    /// Opens the base directory (following links: it is not the outbox's), then each of
    /// the outbox's own directories through its parent's descriptor without following a
    /// link, creating it first when asked, and checks each on its descriptor.
    fn open_dir(&self, create: bool) -> anyhow::Result<Option<Queue>> {
        let cannot = |what: &str, path: &Path, err: &io::Error| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot {what} the outbox {}: {}",
                    path.display(),
                    plain_io(err)
                ),
            )
        };
        if create {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.base)
                .map_err(|err| cannot("create", &self.base, &err))?;
        }
        let mut parent = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&self.base)
        {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
            Err(err) => return Err(cannot("open", &self.base, &err)),
        };
        let mut path = self.base.clone();
        for name in &self.own {
            path.push(name);
            let name = CString::new(name.as_encoded_bytes())
                .map_err(|_| fail(Kind::Config, "the outbox path has a NUL byte"))?;
            if create {
                // SAFETY: mkdirat(2) on a descriptor we own, with a NUL-terminated name.
                let made = unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o700) };
                if made != 0 {
                    let err = io::Error::last_os_error();
                    if err.kind() != io::ErrorKind::AlreadyExists {
                        return Err(cannot("create", &path, &err));
                    }
                }
            }
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
            // SAFETY: openat(2) on a descriptor we own, with a NUL-terminated name; the new
            // descriptor is owned by the File made from it.
            let fd = unsafe { libc::openat(parent.as_raw_fd(), name.as_ptr(), flags) };
            if fd < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::NotFound && !create {
                    return Ok(None);
                }
                return Err(match lstat_at(&parent, &name) {
                    Ok(Some(stat)) if file_type(&stat) != libc::S_IFDIR => {
                        unsafe_dir(&path, &not_a_directory(&path, &stat))
                    }
                    _ => cannot("open", &path, &err),
                });
            }
            // SAFETY: `fd` is a descriptor openat just returned, owned by nobody else.
            let dir = unsafe { File::from_raw_fd(fd) };
            check_private(&dir, &path)?;
            parent = dir;
        }
        Ok(Some(Queue {
            dir: Arc::new(Dir { file: parent, path }),
        }))
    }
}

/// What is wrong with something found where an outbox directory should be.
fn not_a_directory(path: &Path, stat: &libc::stat) -> String {
    if file_type(stat) == libc::S_IFLNK {
        let target = fs::read_link(path)
            .map(|target| format!(" (to {})", target.display()))
            .unwrap_or_default();
        return format!("is a symbolic link{target}, which smtpsend does not follow");
    }
    "is not a directory".to_string()
}

/// The directory must belong to the effective user and be writable by nobody else.
fn check_private(dir: &File, path: &Path) -> anyhow::Result<()> {
    let metadata = dir.metadata().map_err(|err| {
        fail(
            Kind::LocalIo,
            format!(
                "cannot check the outbox {}: {}",
                path.display(),
                plain_io(&err)
            ),
        )
    })?;
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let me = unsafe { libc::geteuid() };
    if metadata.uid() != me {
        return Err(unsafe_dir(
            path,
            &format!("belongs to uid {}, not to you (uid {me})", metadata.uid()),
        ));
    }
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(unsafe_dir(
            path,
            &format!(
                "can be written by group or others (mode {mode:04o}); make it private with \
                 chmod 700 {}",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// The one-line refusal (78) of an outbox directory that is not safe to use.
fn unsafe_dir(path: &Path, why: &str) -> anyhow::Error {
    fail(
        Kind::Config,
        format!(
            "the outbox directory {} {why}: smtpsend keeps mail only in a directory of its \
             own (owned by you, mode 0700), so nothing was read or written there",
            path.display()
        ),
    )
}

/// The outbox directory, open and checked: every file in it is reached through this
/// descriptor, so a directory put in its place by path later is never touched.
#[derive(Debug)]
struct Dir {
    file: File,
    path: PathBuf,
}

impl Dir {
    /// Opens `name` in the directory, never following a symbolic link.
    fn open(&self, name: &str, flags: libc::c_int, mode: libc::mode_t) -> io::Result<File> {
        let name = CString::new(name)?;
        let flags = flags | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NOCTTY;
        // SAFETY: openat(2) on our descriptor with a NUL-terminated name; the descriptor it
        // returns is owned by the File made from it.
        let fd = unsafe {
            libc::openat(
                self.file.as_raw_fd(),
                name.as_ptr(),
                flags,
                libc::c_uint::from(mode),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by openat and belongs to nobody else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Opens `name` for reading without blocking (a FIFO planted there is no reason to hang).
    fn open_read(&self, name: &str) -> io::Result<File> {
        self.open(name, libc::O_RDONLY | libc::O_NONBLOCK, 0)
    }

    /// The file's own status (a symbolic link's, not its target's); `None` when absent.
    fn lstat(&self, name: &str) -> io::Result<Option<libc::stat>> {
        lstat_at(&self.file, &CString::new(name)?)
    }

    /// True when something (of any type) has this name; an error counts as present.
    fn exists(&self, name: &str) -> bool {
        !matches!(self.lstat(name), Ok(None))
    }

    /// True when `name` is a regular file (not a symbolic link, FIFO, directory, …).
    fn is_regular(&self, name: &str) -> bool {
        matches!(self.lstat(name), Ok(Some(stat)) if file_type(&stat) == libc::S_IFREG)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (from, to) = (CString::new(from)?, CString::new(to)?);
        let fd = self.file.as_raw_fd();
        // SAFETY: renameat(2) within our directory descriptor, NUL-terminated names.
        if unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Removes the name (a symbolic link itself, never its target).
    fn unlink(&self, name: &str) -> io::Result<()> {
        let name = CString::new(name)?;
        // SAFETY: unlinkat(2) within our directory descriptor, a NUL-terminated name.
        if unsafe { libc::unlinkat(self.file.as_raw_fd(), name.as_ptr(), 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn remove_if_present(&self, name: &str) -> io::Result<()> {
        match self.unlink(name) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// The names in the directory (those that are UTF-8; the outbox's own all are).
    fn names(&self) -> io::Result<Vec<String>> {
        // SAFETY: the duplicate descriptor is handed to fdopendir, which owns it from then
        // on and closes it in closedir; readdir's entries are read before the next call.
        unsafe {
            let fd = libc::fcntl(self.file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let stream = libc::fdopendir(fd);
            if stream.is_null() {
                let err = io::Error::last_os_error();
                libc::close(fd);
                return Err(err);
            }
            // The duplicate shares the offset of our descriptor: start from the beginning.
            libc::rewinddir(stream);
            let mut names = Vec::new();
            loop {
                let entry = libc::readdir(stream);
                if entry.is_null() {
                    break;
                }
                let name = CStr::from_ptr((*entry).d_name.as_ptr());
                if let Ok(name) = name.to_str()
                    && name != "."
                    && name != ".."
                {
                    names.push(name.to_string());
                }
            }
            libc::closedir(stream);
            Ok(names)
        }
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

fn lstat_at(dir: &File, name: &CStr) -> io::Result<Option<libc::stat>> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstatat(2) fills `stat` when it returns 0; the name is NUL-terminated.
    let result = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            stat.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if result != 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::NotFound {
            return Ok(None);
        }
        return Err(err);
    }
    // SAFETY: fstatat returned 0, so it initialised `stat`.
    Ok(Some(unsafe { stat.assume_init() }))
}

fn file_type(stat: &libc::stat) -> libc::mode_t {
    stat.st_mode & libc::S_IFMT
}

/// The kinds of file the outbox writes, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Message,
    Meta,
    MessageTemporary,
    MetaTemporary,
}

const ROLES: [(&str, Role); 4] = [
    (".eml", Role::Message),
    (".json", Role::Meta),
    (".eml.tmp", Role::MessageTemporary),
    (".json.tmp", Role::MetaTemporary),
];

/// The id and role of one of the outbox's own file names; `None` for any other name.
fn parse_name(name: &str) -> Option<(&str, Role)> {
    ROLES.iter().find_map(|(suffix, role)| {
        name.strip_suffix(suffix)
            .filter(|id| valid_id(id))
            .map(|id| (id, *role))
    })
}

/// The names of an id's files.
fn names_of(id: &str) -> [String; 4] {
    ROLES.map(|(suffix, _)| format!("{id}{suffix}"))
}

/// The outbox directory, open and checked (see [`Outbox::open`]).
pub struct Queue {
    dir: Arc<Dir>,
}

impl Queue {
    pub fn dir(&self) -> &Path {
        &self.dir.path
    }

    /// Writes a message and its meta (`meta.size` and `meta.sha256` are set here) and
    /// returns the new entry, still locked by this process.
    /// An entry the outbox would refuse to read back is not written (65).
    pub fn add(&self, meta: &Meta, content: &Content) -> anyhow::Result<Claim> {
        if let Some(why) = meta.fields_problem() {
            return Err(fail(
                Kind::Data,
                format!("the outbox does not keep this message: {why}"),
            ));
        }
        let (id, file) = self.new_message_file()?;
        let claim = Claim {
            dir: Arc::clone(&self.dir),
            id,
            file,
        };
        let names = names_of(&claim.id);
        let written = (|| -> io::Result<(u64, String)> {
            let mut out = Hashing::new(BufWriter::new(&claim.file));
            content.write_to(&mut out)?;
            out.flush()?;
            let (size, sha256) = out.finish();
            claim.file.sync_all()?;
            let on_disk = claim.file.metadata()?.len();
            if on_disk != size {
                return Err(io::Error::other(format!(
                    "{size} bytes written, but the file holds {on_disk}"
                )));
            }
            self.dir.rename(&names[2], &names[0])?;
            self.dir.sync()?;
            Ok((size, sha256))
        })();
        let committed = written.and_then(|(size, sha256)| {
            let mut meta = meta.clone();
            meta.format = FORMAT;
            meta.size = size;
            meta.sha256 = Some(sha256);
            claim.write_meta(&meta)
        });
        if let Err(err) = committed {
            for name in [&names[2], &names[0], &names[3]] {
                let _ = self.dir.unlink(name);
            }
            return Err(self.io_error("cannot write to the outbox", &err));
        }
        Ok(claim)
    }

    /// Every entry, oldest first, with its meta read and checked.
    pub fn entries(&self) -> anyhow::Result<Vec<Listed>> {
        let mut ids: Vec<String> = self
            .file_names()?
            .iter()
            .filter_map(|name| match parse_name(name) {
                Some((id, Role::Meta)) => Some(id.to_string()),
                _ => None,
            })
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

    /// What is in the directory but is none of the outbox's files: other names, and
    /// things under its names that it never makes (a symbolic link, a FIFO, a directory)
    /// and that belong to no entry. Left alone, and listed so that the user sees them.
    pub fn foreign_names(&self) -> anyhow::Result<Vec<String>> {
        let names = self.file_names()?;
        let mut foreign: Vec<String> = names
            .iter()
            .filter(|name| match parse_name(name) {
                None => *name != FLUSH_LOCK,
                Some((id, _)) => {
                    !names.contains(&format!("{id}.json")) && !self.dir.is_regular(name)
                }
            })
            .cloned()
            .collect();
        foreign.sort();
        Ok(foreign)
    }

    /// Checks that `ID.eml` is what `meta` says was written (see [`Claim::content`]),
    /// without sending or locking it; `Ok(false)` when the entry was removed meanwhile.
    pub fn verify(&self, id: &str, meta: &Meta) -> anyhow::Result<bool> {
        let name = format!("{id}.eml");
        match open_entry_file(&self.dir, &name)? {
            Some(file) => verify_message(&self.dir, id, &file, meta).map(|_| true),
            None if self.dir.exists(&format!("{id}.json")) => Err(missing_message(id)),
            None => Ok(false),
        }
    }

    /// Locks the entry `id` for this process, if it exists and nobody else holds it. An
    /// entry whose `ID.eml` is missing, a symbolic link or not a regular file is damaged.
    pub fn claim(&self, id: &str) -> anyhow::Result<Claimed> {
        if !valid_id(id) {
            return Ok(Claimed::Gone);
        }
        let json = format!("{id}.json");
        let Some(file) = open_entry_file(&self.dir, &format!("{id}.eml"))? else {
            if self.dir.exists(&json) {
                return Err(missing_message(id));
            }
            return Ok(Claimed::Gone);
        };
        if !try_lock(&file).map_err(|err| self.io_error("cannot lock a queued message", &err))? {
            return Ok(Claimed::Busy);
        }
        if !self.dir.exists(&json) {
            return Ok(Claimed::Gone);
        }
        Ok(Claimed::Mine(Claim {
            dir: Arc::clone(&self.dir),
            id: id.to_string(),
            file,
        }))
    }

    /// Removes every file of the entry `id`, whatever state it is in (meta unreadable or
    /// damaged, message missing or a symbolic link, only temporary files), unless another
    /// process holds its lock. Symbolic links are removed themselves, never followed.
    pub fn drop_entry(&self, id: &str) -> anyhow::Result<Dropped> {
        if !valid_id(id) {
            return Ok(Dropped::Gone);
        }
        let names = names_of(id);
        let present: Vec<&String> = names.iter().filter(|name| self.dir.exists(name)).collect();
        if present.is_empty() {
            return Ok(Dropped::Gone);
        }
        let Some(locks) = self
            .lock_id(id)
            .map_err(|err| self.io_error("cannot lock a queued message", &err))?
        else {
            return Ok(Dropped::Busy);
        };
        let meta = read_meta(&self.dir, id);
        // The meta file first: from then on there is no entry, whatever else fails.
        let removed = (|| -> io::Result<Vec<String>> {
            let mut files = Vec::new();
            for name in [&names[1], &names[0], &names[2], &names[3]] {
                if self.dir.exists(name) {
                    self.dir.remove_if_present(name)?;
                    files.push(name.clone());
                }
                self.dir.sync()?;
            }
            Ok(files)
        })();
        drop(locks);
        match removed {
            Ok(files) => Ok(Dropped::Removed {
                meta: Box::new(meta),
                files,
            }),
            Err(err) => Err(fail(
                Kind::LocalIo,
                format!(
                    "cannot remove {id} from the outbox {}: {}",
                    self.dir.path.display(),
                    plain_io(&err)
                ),
            )),
        }
    }

    /// Takes the flush lock, or fails (75) when another flush holds it.
    pub fn lock_flush(&self) -> anyhow::Result<FlushLock> {
        let file = self
            .dir
            .open(FLUSH_LOCK, libc::O_RDWR | libc::O_CREAT, 0o600)
            .map_err(|err| self.io_error("cannot open the flush lock in", &err))?;
        if !try_lock(&file).map_err(|err| self.io_error("cannot lock the outbox", &err))? {
            return Err(fail(
                Kind::TempFail,
                format!(
                    "another flush of the outbox is running (it holds {})",
                    self.dir.path_of(FLUSH_LOCK).display()
                ),
            ));
        }
        Ok(FlushLock { _file: file })
    }

    /// Removes what an interrupted write or removal left behind (a killed process):
    /// temporary files, and an `ID.eml` whose `ID.json` is missing, when they are regular
    /// files with the outbox's names and no process holds the id's lock (a process writing
    /// or updating an entry holds it the whole time). The lock is held while they are
    /// removed, so a writer that locks its new file a moment after creating it finds it
    /// unlinked and starts again, never writes into a removed file. Nothing else is ever
    /// removed.
    pub fn remove_leftovers(&self) {
        let Ok(names) = self.file_names() else { return };
        let leftover = |name: &String| match parse_name(name) {
            Some((_, Role::MessageTemporary | Role::MetaTemporary)) => true,
            Some((id, Role::Message)) => !names.contains(&format!("{id}.json")),
            _ => false,
        };
        let mut ids: Vec<&str> = names
            .iter()
            .filter(|name| leftover(name))
            .filter_map(|name| parse_name(name).map(|(id, _)| id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let Ok(Some(_locks)) = self.lock_id(id) else {
                continue;
            };
            let [eml, json, eml_tmp, json_tmp] = names_of(id);
            // Under the lock, an `ID.eml` is a leftover only if its meta is still missing.
            let orphan = !self.dir.exists(&json);
            for name in [eml_tmp, json_tmp].into_iter().chain(orphan.then_some(eml)) {
                if self.dir.is_regular(&name) {
                    let _ = self.dir.unlink(&name);
                }
            }
        }
        let _ = self.dir.sync();
    }

    /// Locks the id for this process: its `ID.eml` and `ID.eml.tmp`, those that are
    /// regular files (a process writing or sending the entry holds one of them). `None`
    /// when another process holds one; the locks last as long as the files returned.
    fn lock_id(&self, id: &str) -> io::Result<Option<Vec<File>>> {
        let mut locks = Vec::new();
        for name in [format!("{id}.eml"), format!("{id}.eml.tmp")] {
            if let Ok(Some(file)) = open_entry_file(&self.dir, &name) {
                if !try_lock(&file)? {
                    return Ok(None);
                }
                locks.push(file);
            }
        }
        Ok(Some(locks))
    }

    /// A new `ID.eml.tmp`, created (0600) and locked, with an id nobody uses.
    fn new_message_file(&self) -> anyhow::Result<(String, File)> {
        for _ in 0..100 {
            let id = new_id();
            let names = names_of(&id);
            if names.iter().any(|name| self.dir.exists(name)) {
                continue;
            }
            let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL;
            match self.dir.open(&names[2], flags, 0o600) {
                Ok(file) => {
                    let locked = try_lock(&file)
                        .map_err(|err| self.io_error("cannot lock a queued message", &err))?;
                    // Between its creation and the lock, a flush may have taken the file
                    // for a leftover (it removes leftovers holding their lock): then it is
                    // gone or going, and another id is used.
                    let linked = file.metadata().is_ok_and(|m| m.nlink() > 0);
                    if locked && linked {
                        return Ok((id, file));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(self.io_error("cannot write to the outbox", &err)),
            }
        }
        Err(fail(
            Kind::LocalIo,
            format!(
                "cannot find a free name in the outbox {}",
                self.dir.path.display()
            ),
        ))
    }

    fn file_names(&self) -> anyhow::Result<Vec<String>> {
        self.dir
            .names()
            .map_err(|err| self.io_error("cannot read the outbox", &err))
    }

    fn io_error(&self, what: &str, err: &io::Error) -> anyhow::Error {
        fail(
            Kind::LocalIo,
            format!("{what} {}: {}", self.dir.path.display(), plain_io(err)),
        )
    }
}

/// Held while a flush runs.
pub struct FlushLock {
    _file: File,
}

/// An entry locked by this process: read it, record an attempt, remove it.
pub struct Claim {
    dir: Arc<Dir>,
    id: String,
    /// `ID.eml` (or its temporary name while being written), flock held.
    file: File,
}

impl Claim {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The meta file as it is now, checked (see [`Meta::problem`]).
    pub fn meta(&self) -> anyhow::Result<Meta> {
        read_meta(&self.dir, &self.id)
    }

    /// The message bytes, after checking that they are what was queued: the size, and the
    /// SHA-256 when the meta has one. Anything else is a damaged entry (65).
    pub fn content(&self, meta: &Meta) -> anyhow::Result<Content> {
        verify_message(&self.dir, &self.id, &self.file, meta).map(Content::queued)
    }

    /// Replaces the meta file atomically.
    pub fn update(&self, meta: &Meta) -> anyhow::Result<()> {
        self.write_meta(meta).map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot update {}: {}",
                    self.dir.path_of(&format!("{}.json", self.id)).display(),
                    plain_io(&err)
                ),
            )
        })
    }

    /// Removes the entry: the meta file first, so a crash half-way leaves no entry.
    pub fn remove(self) -> anyhow::Result<()> {
        let [eml, json, ..] = names_of(&self.id);
        let result = self
            .dir
            .remove_if_present(&json)
            .and_then(|()| self.dir.sync())
            .and_then(|()| self.dir.remove_if_present(&eml))
            .and_then(|()| self.dir.sync());
        result.map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot remove {} from the outbox {}: {}",
                    self.id,
                    self.dir.path.display(),
                    plain_io(&err)
                ),
            )
        })
    }

    fn write_meta(&self, meta: &Meta) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(meta).map_err(io::Error::other)?;
        // The last error may quote a server that echoed the login: no secret goes to disk.
        let text = crate::base::secret::scrub_bytes(&text);
        let [_, json, _, temporary] = names_of(&self.id);
        let written = (|| {
            // A fresh file each time: whatever had the name (a leftover) is not reused.
            self.dir.remove_if_present(&temporary)?;
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
            let mut file = self.dir.open(&temporary, flags, 0o600)?;
            file.write_all(&text)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            self.dir.rename(&temporary, &json)?;
            self.dir.sync()
        })();
        if written.is_err() {
            let _ = self.dir.unlink(&temporary);
        }
        written
    }
}

/// Opens one of an entry's files for reading: `None` when it is absent; a symbolic link or
/// anything but a regular file is damage, other failures I/O errors (74).
fn open_entry_file(dir: &Dir, name: &str) -> anyhow::Result<Option<File>> {
    let cannot = |err: &io::Error| {
        fail(
            Kind::LocalIo,
            format!(
                "cannot read {}: {}",
                dir.path_of(name).display(),
                plain_io(err)
            ),
        )
    };
    let file = match dir.open_read(name) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(match dir.lstat(name) {
                Ok(Some(stat)) if file_type(&stat) == libc::S_IFLNK => damaged(format!(
                    "{name} is a symbolic link, which the outbox never makes; it was not followed"
                )),
                _ => cannot(&err),
            });
        }
    };
    let metadata = file.metadata().map_err(|err| cannot(&err))?;
    let kind = FileKind::of(&metadata);
    if kind != FileKind::Regular {
        return Err(damaged(format!(
            "{name} is {}, not a regular file",
            kind.described()
        )));
    }
    Ok(Some(file))
}

fn missing_message(id: &str) -> anyhow::Error {
    damaged(format!("its message file {id}.eml is missing"))
}

/// Reads `ID.eml` from `file` and checks it against `meta`: its size, then its SHA-256.
fn verify_message(dir: &Dir, id: &str, file: &File, meta: &Meta) -> anyhow::Result<Vec<u8>> {
    let name = format!("{id}.eml");
    let cannot = |err: &io::Error| {
        fail(
            Kind::LocalIo,
            format!(
                "cannot read queued message {}: {}",
                dir.path_of(&name).display(),
                plain_io(err)
            ),
        )
    };
    let size = file.metadata().map_err(|err| cannot(&err))?.len();
    if size != meta.size {
        return Err(wrong_size(&name, size, meta.size));
    }
    let mut bytes = Vec::new();
    let mut reader = file;
    reader
        .rewind()
        .and_then(|()| {
            reader
                .take(meta.size.saturating_add(1))
                .read_to_end(&mut bytes)
        })
        .map_err(|err| cannot(&err))?;
    if bytes.len() as u64 != meta.size {
        return Err(wrong_size(&name, bytes.len() as u64, meta.size));
    }
    if let Some(expected) = &meta.sha256
        && sha256_hex(&bytes) != *expected
    {
        return Err(damaged(format!(
            "{name} is not the message that was queued: its SHA-256 differs from the one \
             recorded (it was changed since)"
        )));
    }
    Ok(bytes)
}

fn wrong_size(name: &str, size: u64, queued: u64) -> anyhow::Error {
    let how = if size < queued {
        "cut short"
    } else {
        "added to"
    };
    damaged(format!(
        "{name} is {size} bytes, but {queued} were queued (it was {how} since)"
    ))
}

fn read_meta(dir: &Dir, id: &str) -> anyhow::Result<Meta> {
    let name = format!("{id}.json");
    let Some(file) = open_entry_file(dir, &name)? else {
        return Err(fail(
            Kind::NoInput,
            format!("{} was removed", dir.path_of(&name).display()),
        ));
    };
    let mut text = Vec::new();
    file.take(META_LIMIT + 1)
        .read_to_end(&mut text)
        .map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot read {}: {}",
                    dir.path_of(&name).display(),
                    plain_io(&err)
                ),
            )
        })?;
    if text.len() as u64 > META_LIMIT {
        return Err(damaged(format!(
            "{name} is larger than {} MiB",
            META_LIMIT >> 20
        )));
    }
    let meta: Meta = serde_json::from_slice(&text)
        .map_err(|err| damaged(format!("{name} is not a valid outbox entry: {err}")))?;
    if let Some(why) = meta.problem() {
        return Err(damaged(why));
    }
    Ok(meta)
}

/// True when reading the meta failed because the entry was removed meanwhile.
fn is_gone(meta: &anyhow::Result<Meta>) -> bool {
    meta.as_ref()
        .is_err_and(|err| crate::base::exit::code_for(err) == Kind::NoInput.code())
}

/// A writer that counts and hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The bytes written and their SHA-256 in hex.
    fn finish(self) -> (u64, String) {
        (self.written, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
