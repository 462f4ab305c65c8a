//! A directory of smtpsend's own under a user's directory (the outbox, the OAuth2 token
//! store): each of its directories opened through its parent's descriptor without following
//! a symbolic link (created 0700 when asked), checked on the open descriptor (a real
//! directory, owned by the effective user, writable by nobody else), and from then on every
//! file in it reached through that descriptor (`openat`, `renameat`, `unlinkat`) with
//! `O_NOFOLLOW`, never by path; a file replaced atomically (a fresh temporary name, fsync,
//! rename, the directory fsynced).

use std::ffi::{CStr, CString, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};

use crate::base::exit::{Kind, fail};
use crate::base::input::plain_io;

/// What a private directory is for, in the words of its errors.
#[derive(Debug, Clone, Copy)]
pub struct Purpose {
    /// `the outbox`.
    pub name: &'static str,
    /// What a refusal adds: `smtpsend keeps mail only in a directory of its own …`.
    pub refusal: &'static str,
}

/// A private directory, open and checked: every file in it is reached through this
/// descriptor, so a directory put in its place by path later is never touched.
#[derive(Debug)]
pub struct PrivateDir {
    pub file: File,
    pub path: PathBuf,
}

/// Opens the base directory (following links: it is not smtpsend's), then each directory of
/// `own` through its parent's descriptor without following a link, creating it (0700) first
/// when asked, and checks each on its descriptor. `Ok(None)` when one does not exist and
/// `create` is false. A symbolic link, anything not a directory, another user's directory
/// or one others can write is refused (78) before anything is read or written.
pub fn open_chain(
    base: &Path,
    own: &[OsString],
    create: bool,
    purpose: Purpose,
) -> anyhow::Result<Option<PrivateDir>> {
    if create {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(base)
            .map_err(|err| cannot("create", base, &err, purpose))?;
    }
    match open_base(base, purpose)? {
        Some(parent) => open_under(parent, base, own, create, purpose),
        None if create => Err(cannot(
            "open",
            base,
            &io::Error::from(io::ErrorKind::NotFound),
            purpose,
        )),
        None => Ok(None),
    }
}

/// Opens the base directory of a chain, following links (it is not smtpsend's); `Ok(None)`
/// when it does not exist. The caller may check it on the descriptor before
/// [`open_under`] goes on from it.
pub fn open_base(base: &Path, purpose: Purpose) -> anyhow::Result<Option<File>> {
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(base)
    {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(cannot("open", base, &err, purpose)),
    }
}

/// [`open_chain`] from the open base directory `parent` (whose path is `base`): each
/// directory of `own` opened through its parent's descriptor, created first when asked,
/// and checked.
pub fn open_under(
    mut parent: File,
    base: &Path,
    own: &[OsString],
    create: bool,
    purpose: Purpose,
) -> anyhow::Result<Option<PrivateDir>> {
    let mut path = base.to_path_buf();
    for name in own {
        path.push(name);
        let name = CString::new(name.as_encoded_bytes()).map_err(|_| {
            fail(
                Kind::Config,
                format!("the path of {} has a NUL byte", purpose.name),
            )
        })?;
        if create {
            // SAFETY: mkdirat(2) on a descriptor we own, with a NUL-terminated name.
            let made = unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o700) };
            if made != 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::AlreadyExists {
                    return Err(cannot("create", &path, &err, purpose));
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
                    unsafe_dir(&path, &not_a_directory(&path, &stat), purpose)
                }
                _ => cannot("open", &path, &err, purpose),
            });
        }
        // SAFETY: `fd` is a descriptor openat just returned, owned by nobody else.
        let dir = unsafe { File::from_raw_fd(fd) };
        check_private(&dir, &path, purpose)?;
        parent = dir;
    }
    Ok(Some(PrivateDir { file: parent, path }))
}

/// The error (74) of a directory that could not be created or opened.
pub fn cannot(what: &str, path: &Path, err: &io::Error, purpose: Purpose) -> anyhow::Error {
    fail(
        Kind::LocalIo,
        format!(
            "cannot {what} {} {}: {}",
            purpose.name,
            path.display(),
            plain_io(err)
        ),
    )
}

/// What is wrong with something found where a private directory should be.
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
fn check_private(dir: &File, path: &Path, purpose: Purpose) -> anyhow::Result<()> {
    let metadata = dir.metadata().map_err(|err| {
        fail(
            Kind::LocalIo,
            format!(
                "cannot check {} {}: {}",
                purpose.name,
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
            purpose,
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
            purpose,
        ));
    }
    Ok(())
}

/// The one-line refusal (78) of a directory that is not safe to use.
fn unsafe_dir(path: &Path, why: &str, purpose: Purpose) -> anyhow::Error {
    fail(
        Kind::Config,
        format!(
            "{} directory {} {why}: {}",
            purpose.name,
            path.display(),
            purpose.refusal
        ),
    )
}

impl PrivateDir {
    /// Opens `name` in the directory, never following a symbolic link.
    pub fn open(&self, name: &str, flags: libc::c_int, mode: libc::mode_t) -> io::Result<File> {
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
    pub fn open_read(&self, name: &str) -> io::Result<File> {
        self.open(name, libc::O_RDONLY | libc::O_NONBLOCK, 0)
    }

    /// The file's own status (a symbolic link's, not its target's); `None` when absent.
    pub fn lstat(&self, name: &str) -> io::Result<Option<libc::stat>> {
        lstat_at(&self.file, &CString::new(name)?)
    }

    /// True when something (of any type) has this name; an error counts as present.
    pub fn exists(&self, name: &str) -> bool {
        !matches!(self.lstat(name), Ok(None))
    }

    /// True when `name` is a regular file (not a symbolic link, FIFO, directory, …).
    pub fn is_regular(&self, name: &str) -> bool {
        matches!(self.lstat(name), Ok(Some(stat)) if file_type(&stat) == libc::S_IFREG)
    }

    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (from, to) = (CString::new(from)?, CString::new(to)?);
        let fd = self.file.as_raw_fd();
        // SAFETY: renameat(2) within our directory descriptor, NUL-terminated names.
        if unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Removes the name (a symbolic link itself, never its target).
    pub fn unlink(&self, name: &str) -> io::Result<()> {
        let name = CString::new(name)?;
        // SAFETY: unlinkat(2) within our directory descriptor, a NUL-terminated name.
        if unsafe { libc::unlinkat(self.file.as_raw_fd(), name.as_ptr(), 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn remove_if_present(&self, name: &str) -> io::Result<()> {
        match self.unlink(name) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// Replaces `name` with `bytes` atomically (mode 0600): written to `temporary` (a fresh
    /// file; whatever had that name is removed first), fsynced, renamed over `name`, and the
    /// directory fsynced. A reader sees the old file or the new one, never a part.
    pub fn write_atomically(&self, name: &str, temporary: &str, bytes: &[u8]) -> io::Result<()> {
        let written = (|| {
            self.remove_if_present(temporary)?;
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
            let mut file = self.open(temporary, flags, 0o600)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            self.rename(temporary, name)?;
            self.sync()
        })();
        if written.is_err() {
            let _ = self.unlink(temporary);
        }
        written
    }

    /// The names in the directory (those that are UTF-8).
    pub fn names(&self) -> io::Result<Vec<String>> {
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

    pub fn path_of(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// The status of `name` in `dir`, without following a symbolic link; `None` when absent.
pub fn lstat_at(dir: &File, name: &CStr) -> io::Result<Option<libc::stat>> {
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

/// The type bits of a status (`S_IFREG`, `S_IFLNK`, …).
pub fn file_type(stat: &libc::stat) -> libc::mode_t {
    stat.st_mode & libc::S_IFMT
}
