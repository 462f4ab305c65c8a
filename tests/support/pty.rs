//! A pseudo-terminal, for runs that must see a terminal: a progress bar drawn on stderr, a
//! password typed at the prompt.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The two sides of a pseudo-terminal. Both are opened close-on-exec, so that no process
/// another test starts meanwhile holds a copy (which would keep the terminal open after the
/// run it was meant for has ended).
pub struct Pty {
    master: File,
    slave: PathBuf,
}

impl Pty {
    pub fn open() -> Pty {
        // SAFETY: posix_openpt/grantpt/unlockpt/ptsname_r on the master descriptor opened
        // here, which is then owned by the File.
        unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
            let master = File::from_raw_fd(fd);
            assert_eq!(libc::grantpt(fd), 0);
            assert_eq!(libc::unlockpt(fd), 0);
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
            let slave = CStr::from_ptr(name.as_ptr()).to_bytes().to_vec();
            Pty {
                master,
                slave: PathBuf::from(std::ffi::OsStr::from_bytes(&slave)),
            }
        }
    }

    /// The terminal's path, for [`super::Run::controlling_terminal`].
    pub fn slave_path(&self) -> &Path {
        &self.slave
    }

    /// The terminal side opened here, e.g. as a run's stderr (`Stdio::from`).
    pub fn slave(&self) -> OwnedFd {
        let path = CString::new(self.slave.as_os_str().as_bytes()).expect("pty path");
        // SAFETY: open(2) of the terminal; the descriptor is then owned by the OwnedFd.
        unsafe {
            let fd = libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            );
            assert!(
                fd >= 0,
                "open {}: {}",
                self.slave.display(),
                std::io::Error::last_os_error()
            );
            OwnedFd::from_raw_fd(fd)
        }
    }

    /// The controlling side: what the run draws is read here, what is typed is written.
    pub fn into_master(self) -> File {
        self.master
    }
}
