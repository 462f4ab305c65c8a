//! What an outbox entry holds besides its message ([`Meta`]), how every stored field is
//! checked when it is read, and how an entry's message is verified (size and SHA-256)
//! before it is sent.

use super::*;

/// Version of the `.json` format: 2 records the message's SHA-256; 1 (without it) is
/// still read, and checked by size.
pub const FORMAT: u32 = 2;
/// The file whose lock keeps two flushes apart.
pub(super) const FLUSH_LOCK: &str = ".flush.lock";
/// The largest meta file read; a real one is a few hundred bytes per recipient.
pub(super) const META_LIMIT: u64 = 16 << 20;

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
    pub(super) fn fields_problem(&self) -> Option<String> {
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
    pub(super) fn options_problem(&self) -> Option<String> {
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
    pub(super) fn dsn_problem(&self) -> Option<String> {
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
pub(super) fn address_problem(address: &str) -> Result<(), String> {
    if address.contains(['\r', '\n', '\0']) {
        return Err("it contains a line break or a NUL byte".to_string());
    }
    crate::message::address::validate(address)
}

pub(super) fn is_sha256_hex(text: &str) -> bool {
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
pub(super) fn damaged(why: impl Into<String>) -> anyhow::Error {
    fail(Kind::Data, why).context(Damaged)
}

/// True for the error of a damaged entry: kept, never sent, reported until dropped.
pub fn is_damaged(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Damaged>().is_some()
}

/// Opens one of an entry's files for reading: `None` when it is absent; a symbolic link or
/// anything but a regular file is damage, other failures I/O errors (74).
pub(super) fn open_entry_file(dir: &PrivateDir, name: &str) -> anyhow::Result<Option<File>> {
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

pub(super) fn missing_message(id: &str) -> anyhow::Error {
    damaged(format!("its message file {id}.eml is missing"))
}

/// Reads `ID.eml` from `file` and checks it against `meta`: its size, then its SHA-256.
pub(super) fn verify_message(
    dir: &PrivateDir,
    id: &str,
    file: &File,
    meta: &Meta,
) -> anyhow::Result<Vec<u8>> {
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

pub(super) fn wrong_size(name: &str, size: u64, queued: u64) -> anyhow::Error {
    let how = if size < queued {
        "cut short"
    } else {
        "added to"
    };
    damaged(format!(
        "{name} is {size} bytes, but {queued} were queued (it was {how} since)"
    ))
}

pub(super) fn read_meta(dir: &PrivateDir, id: &str) -> anyhow::Result<Meta> {
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
pub(super) fn is_gone(meta: &anyhow::Result<Meta>) -> bool {
    meta.as_ref()
        .is_err_and(|err| crate::base::exit::code_for(err) == Kind::NoInput.code())
}

/// A writer that counts and hashes what goes through it.
pub(super) struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Hashing<W> {
    pub(super) fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The bytes written and their SHA-256 in hex.
    pub(super) fn finish(self) -> (u64, String) {
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

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
