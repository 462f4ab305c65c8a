//! The token store: `$XDG_STATE_HOME/smtpsend/oauth2/ACCOUNT.json` (mode 0600) in a
//! directory of smtpsend's own, created and checked as the outbox's is (see
//! [`crate::base::private_dir`]): the refresh token (unless a keyring keeps it), the
//! cached access token and its expiry, and the endpoint and client they belong to. Replaced
//! atomically; a lock file keeps two runs from refreshing at once (a provider that rotates
//! refresh tokens would refuse the loser's).

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::base::exit::{Kind, fail};
use crate::base::input::plain_io;
use crate::base::private_dir::{self, PrivateDir, Purpose};
use crate::base::secret::Secret;

/// The largest store file read.
const STORE_LIMIT: u64 = 64 << 10;

const STORE: Purpose = Purpose {
    name: "the OAuth2 token store",
    refusal: "smtpsend keeps tokens only in a directory of its own (owned by you, mode 0700), \
              so nothing was read or written there",
};

/// What the store file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Saved {
    pub token_url: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// When the access token expires, in seconds since the epoch.
    #[serde(default)]
    pub expires_at: u64,
}

/// The store of one account.
pub struct Store {
    dir: PrivateDir,
    account: String,
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `$XDG_STATE_HOME`, else `$HOME/.local/state`.
fn state_dir() -> anyhow::Result<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
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
                "no place for the OAuth2 token store: neither XDG_STATE_HOME nor HOME is set",
            )
        })
}

/// The path of an account's store file, for messages.
pub fn path_of(account: &str) -> String {
    match state_dir() {
        Ok(dir) => dir
            .join("smtpsend/oauth2")
            .join(format!("{account}.json"))
            .display()
            .to_string(),
        Err(_) => format!("$XDG_STATE_HOME/smtpsend/oauth2/{account}.json"),
    }
}

/// An account name that can name a file: letters, digits, `.`, `_`, `-`, not starting
/// with a dot.
pub fn check_account_name(account: &str) -> anyhow::Result<()> {
    let fits = !account.is_empty()
        && !account.starts_with('.')
        && account.len() <= 200
        && account
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    match fits {
        true => Ok(()),
        false => Err(fail(
            Kind::Config,
            format!(
                "account {account:?} uses oauth2, but its name cannot name its token store \
                 file: use letters, digits, '.', '_' and '-'"
            ),
        )),
    }
}

impl Store {
    /// The store directory, created (0700) when `create`, checked; `None` when it does not
    /// exist and `create` is false.
    pub fn open(account: &str, create: bool) -> anyhow::Result<Option<Store>> {
        check_account_name(account)?;
        let own: Vec<OsString> = vec!["smtpsend".into(), "oauth2".into()];
        let dir = private_dir::open_chain(&state_dir()?, &own, create, STORE)?;
        Ok(dir.map(|dir| Store {
            dir,
            account: account.to_string(),
        }))
    }

    fn name(&self) -> String {
        format!("{}.json", self.account)
    }

    /// The store file's path, for messages.
    pub fn path(&self) -> PathBuf {
        self.dir.path_of(&self.name())
    }

    /// What the file holds; `None` when there is none. A file that is not a regular file
    /// of ours, readable by others, too large or not what smtpsend writes is refused (78).
    pub fn load(&self) -> anyhow::Result<Option<Saved>> {
        let file = match self.dir.open_read(&self.name()) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.refused(&format!("cannot be read: {}", plain_io(&err)))),
        };
        let metadata = file
            .metadata()
            .map_err(|err| self.refused(&plain_io(&err)))?;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        let me = unsafe { libc::geteuid() };
        if !metadata.is_file() || metadata.uid() != me || metadata.mode() & 0o077 != 0 {
            return Err(self.refused(&format!(
                "is not a regular file of yours readable by you alone (mode {:04o})",
                metadata.mode() & 0o7777
            )));
        }
        let bytes = crate::base::input::read_to_limit(&mut &file, STORE_LIMIT)
            .map_err(|err| self.refused(&plain_io(&err)))?
            .ok_or_else(|| self.refused("is too large"))?;
        let saved: Saved = serde_json::from_slice(&bytes)
            .map_err(|_| self.refused("is not a token store smtpsend wrote"))?;
        for token in [&saved.refresh_token, &saved.access_token]
            .into_iter()
            .flatten()
        {
            crate::base::secret::register(token.as_bytes());
        }
        Ok(Some(saved))
    }

    /// Replaces the file atomically (0600).
    pub fn save(&self, saved: &Saved) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(saved)
            .map_err(|err| fail(Kind::Software, err.to_string()))?;
        bytes.push(b'\n');
        let temporary = format!("{}.tmp", self.name());
        self.dir
            .write_atomically(&self.name(), &temporary, &bytes)
            .map_err(|err| {
                fail(
                    Kind::LocalIo,
                    format!(
                        "cannot write the token store {}: {}",
                        self.path().display(),
                        plain_io(&err)
                    ),
                )
            })
    }

    /// Holds the account's lock file until the returned file is dropped; waits at most
    /// `deadline` for another run to finish its refresh.
    pub fn lock(&self, deadline: Duration) -> anyhow::Result<File> {
        let name = format!("{}.lock", self.account);
        let flags = libc::O_RDWR | libc::O_CREAT;
        let file = self.dir.open(&name, flags, 0o600).map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot lock {}: {}",
                    self.dir.path_of(&name).display(),
                    plain_io(&err)
                ),
            )
        })?;
        let ends = Instant::now() + deadline;
        loop {
            // SAFETY: flock(2) on a descriptor this File owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(file);
            }
            if crate::base::interrupt::received().is_some() || crate::base::interrupt::expired() {
                return Err(fail(
                    Kind::TempFail,
                    "stopped while waiting for another smtpsend's token refresh",
                ));
            }
            if Instant::now() >= ends {
                return Err(fail(
                    Kind::TempFail,
                    format!(
                        "another smtpsend has been refreshing the token of account {} for too long",
                        self.account
                    ),
                ));
            }
            crate::base::interrupt::sleep(Duration::from_millis(20));
        }
    }

    fn refused(&self, why: &str) -> anyhow::Error {
        fail(
            Kind::Config,
            format!(
                "the token store {} {why}; run smtpsend --oauth2-login --account {} to make it anew",
                self.path().display(),
                self.account
            ),
        )
    }
}

impl Saved {
    /// The cached access token, when it belongs to this endpoint and client and has more
    /// than `margin` seconds left.
    pub fn fresh_access_token(
        &self,
        token_url: &str,
        client_id: &str,
        margin: u64,
    ) -> Option<Secret> {
        let usable = self.token_url == token_url
            && self.client_id == client_id
            && self.expires_at > now().saturating_add(margin);
        usable
            .then(|| self.access_token.clone())
            .flatten()
            .map(Secret::new)
    }
}
