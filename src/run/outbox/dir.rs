//! The outbox directory: opened without following links, checked on its descriptor
//! (a real directory, the user's, not writable by others), and every file in it reached
//! through that descriptor; the names the outbox owns.

use super::*;

/// What is wrong with something found where an outbox directory should be.
pub(super) fn not_a_directory(path: &Path, stat: &libc::stat) -> String {
    if file_type(stat) == libc::S_IFLNK {
        let target = fs::read_link(path)
            .map(|target| format!(" (to {})", target.display()))
            .unwrap_or_default();
        return format!("is a symbolic link{target}, which smtpsend does not follow");
    }
    "is not a directory".to_string()
}

/// The directory must belong to the effective user and be writable by nobody else.
pub(super) fn check_private(dir: &File, path: &Path) -> anyhow::Result<()> {
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

/// The spool must be root's (or the user's, who trusts it anyway) and writable by nobody
/// else: whoever can write to it can put a directory of their own in another user's place.
pub(super) fn check_spool(dir: &File, path: &Path) -> anyhow::Result<()> {
    let metadata = dir.metadata().map_err(|err| {
        fail(
            Kind::LocalIo,
            format!(
                "cannot check the spool {}: {}",
                path.display(),
                plain_io(&err)
            ),
        )
    })?;
    let me = crate::base::user::effective_uid();
    let mode = metadata.mode() & 0o7777;
    let why = if metadata.uid() != 0 && metadata.uid() != me {
        format!("belongs to uid {}, not to root", metadata.uid())
    } else if mode & 0o022 != 0 {
        format!(
            "can be written by group or others (mode {mode:04o}); run: chmod go-w {}",
            path.display()
        )
    } else {
        return Ok(());
    };
    Err(fail(
        Kind::Config,
        format!(
            "the spool {} {why}: only root may make its users' directories, so nothing was \
             read or written there",
            path.display()
        ),
    ))
}

/// The error (75: mail is not lost, the caller keeps it) for a user without a directory in
/// the spool: the administrator makes one, smtpsend never does.
pub(super) fn no_spool_directory(path: &Path) -> anyhow::Error {
    let user = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    fail(
        Kind::TempFail,
        format!(
            "the spool has no directory for {user}: create it with install -d -o {user} -m 700 {} \
             (see docs/sendmail.md)",
            path.display()
        ),
    )
}

/// The one-line refusal (78) of an outbox directory that is not safe to use.
pub(super) fn unsafe_dir(path: &Path, why: &str) -> anyhow::Error {
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
pub(super) struct Dir {
    pub(super) file: File,
    pub(super) path: PathBuf,
}

impl Dir {
    /// Opens `name` in the directory, never following a symbolic link.
    pub(super) fn open(
        &self,
        name: &str,
        flags: libc::c_int,
        mode: libc::mode_t,
    ) -> io::Result<File> {
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
    pub(super) fn open_read(&self, name: &str) -> io::Result<File> {
        self.open(name, libc::O_RDONLY | libc::O_NONBLOCK, 0)
    }

    /// The file's own status (a symbolic link's, not its target's); `None` when absent.
    pub(super) fn lstat(&self, name: &str) -> io::Result<Option<libc::stat>> {
        lstat_at(&self.file, &CString::new(name)?)
    }

    /// True when something (of any type) has this name; an error counts as present.
    pub(super) fn exists(&self, name: &str) -> bool {
        !matches!(self.lstat(name), Ok(None))
    }

    /// True when `name` is a regular file (not a symbolic link, FIFO, directory, …).
    pub(super) fn is_regular(&self, name: &str) -> bool {
        matches!(self.lstat(name), Ok(Some(stat)) if file_type(&stat) == libc::S_IFREG)
    }

    pub(super) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (from, to) = (CString::new(from)?, CString::new(to)?);
        let fd = self.file.as_raw_fd();
        // SAFETY: renameat(2) within our directory descriptor, NUL-terminated names.
        if unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Removes the name (a symbolic link itself, never its target).
    pub(super) fn unlink(&self, name: &str) -> io::Result<()> {
        let name = CString::new(name)?;
        // SAFETY: unlinkat(2) within our directory descriptor, a NUL-terminated name.
        if unsafe { libc::unlinkat(self.file.as_raw_fd(), name.as_ptr(), 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub(super) fn remove_if_present(&self, name: &str) -> io::Result<()> {
        match self.unlink(name) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    pub(super) fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// The names in the directory (those that are UTF-8; the outbox's own all are).
    pub(super) fn names(&self) -> io::Result<Vec<String>> {
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

    pub(super) fn path_of(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

pub(super) fn lstat_at(dir: &File, name: &CStr) -> io::Result<Option<libc::stat>> {
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

pub(super) fn file_type(stat: &libc::stat) -> libc::mode_t {
    stat.st_mode & libc::S_IFMT
}

/// The kinds of file the outbox writes, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Message,
    Meta,
    MessageTemporary,
    MetaTemporary,
}

pub(super) const ROLES: [(&str, Role); 4] = [
    (".eml", Role::Message),
    (".json", Role::Meta),
    (".eml.tmp", Role::MessageTemporary),
    (".json.tmp", Role::MetaTemporary),
];

/// The id and role of one of the outbox's own file names; `None` for any other name.
pub(super) fn parse_name(name: &str) -> Option<(&str, Role)> {
    ROLES.iter().find_map(|(suffix, role)| {
        name.strip_suffix(suffix)
            .filter(|id| valid_id(id))
            .map(|id| (id, *role))
    })
}

/// The names of an id's files.
pub(super) fn names_of(id: &str) -> [String; 4] {
    ROLES.map(|(suffix, _)| format!("{id}{suffix}"))
}
