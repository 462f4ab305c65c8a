//! Reading a configuration file: opened without blocking, bounded, parsed and validated with
//! the line of every bad key or value. The system file has rules of its own, since every
//! user who sends mail obeys it (its `password-command` runs as each of them, its
//! `log-file` is appended to by each of them): it must belong to root (or to the user
//! running smtpsend) and be writable by nobody else, and it may hold a `password` only when
//! others cannot read it (a group may: the usual pattern is mode 640 and a group of the
//! users allowed to send). Only the system file may name a `spool`.

use std::os::unix::fs::MetadataExt;

use super::*;

impl Config {
    /// Loads the file at `location`; `Ok(None)` when a file not named explicitly does not
    /// exist. It is opened without blocking and must be a regular file (a FIFO or device is
    /// refused at once, 66) of at most [`CONFIG_LIMIT`] bytes (78).
    pub fn load(location: &Location) -> anyhow::Result<Option<Config>> {
        let path = &location.path;
        let cannot_read = |err: &io::Error| {
            fail(
                Kind::Config,
                format!(
                    "cannot read config {}: {}",
                    path.display(),
                    crate::base::input::plain_io(err)
                ),
            )
        };
        let mut opened = match crate::base::input::open(path) {
            Ok(opened) => opened,
            Err(err) if err.kind() == io::ErrorKind::NotFound && !location.explicit => {
                return Ok(None);
            }
            Err(err) => return Err(cannot_read(&err)),
        };
        if opened.kind != FileKind::Regular {
            return Err(crate::base::input::not_regular("config", path, opened.kind));
        }
        if location.system {
            check_system_file(path, &opened.metadata)?;
        }
        let bytes = crate::base::input::read_to_limit(&mut opened.file, CONFIG_LIMIT)
            .map_err(|err| cannot_read(&err))?
            .ok_or_else(|| {
                fail(
                    Kind::Config,
                    format!(
                        "config {} is larger than {} KiB, too large for a configuration file",
                        path.display(),
                        CONFIG_LIMIT >> 10
                    ),
                )
            })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            fail(
                Kind::Config,
                format!("config {}: not UTF-8 text", path.display()),
            )
        })?;
        let mode = opened.metadata.permissions().mode() & 0o777;
        Config::parse_as(path, &text, location.system, || Ok(mode)).map(Some)
    }

    /// Parses and validates the text of the (user's) file at `path`.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Config> {
        Config::parse_as(path, text, false, || mode_of(path))
    }

    /// [`Config::parse`] for a user's or the system file; `mode` gives the file's
    /// permission bits when it holds a password.
    pub(super) fn parse_as(
        path: &Path,
        text: &str,
        system: bool,
        mode: impl FnOnce() -> anyhow::Result<u32>,
    ) -> anyhow::Result<Config> {
        let at = |span: Option<Range<usize>>, message: &str| error_at(path, text, span, message);
        let mut file: FileFormat =
            toml::from_str(text).map_err(|err| at(err.span(), err.message()))?;
        for account in file.accounts.values_mut() {
            expand_from(account).map_err(|(span, why)| at(Some(span), &why))?;
            validate(account, &|span, message| at(Some(span), message))?;
        }
        if let Some(default) = &file.default
            && !file.accounts.contains_key(default.get_ref())
        {
            return Err(at(
                Some(default.span()),
                &format!(
                    "default names {:?}, which is not an account ({})",
                    default.get_ref(),
                    names(&file.accounts)
                ),
            ));
        }
        let spool = check_spool(file.spool, system, &at)?;
        if let Some(span) = file
            .accounts
            .values()
            .find_map(|account| account.password.as_ref().map(Spanned::span))
        {
            check_private(path, text, span, mode()?, system)?;
        }
        Ok(Config {
            path: path.to_path_buf(),
            default: file.default.map(Spanned::into_inner),
            accounts: file.accounts,
            spool,
            system,
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(at, _)| at + 1))
                .collect(),
        })
    }
}

/// The error for a bad key or value: `config PATH line 3, key tls: …`, never quoting the
/// value of a secret key.
fn error_at(path: &Path, text: &str, span: Option<Range<usize>>, message: &str) -> anyhow::Error {
    let message = match &span {
        Some(span) if about_a_secret(text, span.start) => without_value(message),
        _ => message.to_string(),
    };
    let place = match span {
        Some(span) => match line_and_key(text, span.start) {
            (line, Some(key)) => format!(" line {line}, key {key}"),
            (line, None) => format!(" line {line}"),
        },
        None => String::new(),
    };
    fail(
        Kind::Config,
        format!("config {}{place}: {}", path.display(), one_line(&message)),
    )
}

/// Replaces `%U`, `%H`, `%C`, `%M` in `from` (see [`crate::message::from`]), keeping what
/// was written for `--show-config`.
fn expand_from(account: &mut Account) -> Result<(), (Range<usize>, String)> {
    let Some(from) = &account.from else {
        return Ok(());
    };
    if !from.get_ref().contains('%') {
        return Ok(());
    }
    let written = from.get_ref().clone();
    let expanded =
        crate::message::from::expand(&written, &crate::message::from::Local::of_this_host())
            .map_err(|why| (from.span(), why))?;
    account.from = Some(Spanned::new(from.span(), expanded));
    account.from_pattern = Some(written);
    Ok(())
}

/// `spool`: an absolute path, in the system file only.
fn check_spool(
    spool: Option<Spanned<PathBuf>>,
    system: bool,
    at: &dyn Fn(Option<Range<usize>>, &str) -> anyhow::Error,
) -> anyhow::Result<Option<PathBuf>> {
    let Some(spool) = spool else {
        return Ok(None);
    };
    if !system {
        return Err(at(
            Some(spool.span()),
            &format!(
                "spool is read only from the system file ({SYSTEM_PATH}): it is where users \
                 without a home keep their outbox"
            ),
        ));
    }
    if !spool.get_ref().is_absolute() {
        return Err(at(Some(spool.span()), "give an absolute path"));
    }
    Ok(Some(spool.into_inner()))
}

/// The system file, and the directory it is in, must belong to root (or to the user
/// running smtpsend, who obeys it anyway) and be writable by nobody else: whoever can
/// change or replace it runs commands as every user who sends mail.
fn check_system_file(path: &Path, metadata: &fs::Metadata) -> anyhow::Result<()> {
    let refuse = |what: &Path, why: String| {
        fail(
            Kind::Config,
            format!(
                "the system config {} {why}: every user who sends mail obeys it (its \
                 password-command runs as each of them), so only root may change it",
                what.display()
            ),
        )
    };
    if let Some(why) = not_roots_alone(metadata, path) {
        return Err(refuse(path, why));
    }
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
    if let Some(dir) = dir
        && let Ok(dir_metadata) = fs::metadata(dir)
        && let Some(why) = not_roots_alone(&dir_metadata, dir)
    {
        return Err(refuse(
            path,
            format!("is in {}, which {why}", dir.display()),
        ));
    }
    Ok(())
}

/// What is wrong with a file or directory that only root (or this user) may change.
fn not_roots_alone(metadata: &fs::Metadata, path: &Path) -> Option<String> {
    let me = crate::base::user::effective_uid();
    if metadata.uid() != 0 && metadata.uid() != me {
        return Some(format!(
            "belongs to uid {}, not to root; run: chown root {}",
            metadata.uid(),
            path.display()
        ));
    }
    let mode = metadata.mode() & 0o7777;
    // A sticky directory (/tmp) keeps others from replacing what is not theirs.
    let sticky_dir = metadata.is_dir() && mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky_dir {
        return Some(format!(
            "can be written by group or others (mode {mode:04o}); run: chmod go-w {}",
            path.display()
        ));
    }
    None
}

/// The permission bits of the file at `path`.
fn mode_of(path: &Path) -> anyhow::Result<u32> {
    fs::metadata(path)
        .map(|metadata| metadata.permissions().mode() & 0o777)
        .map_err(|err| {
            fail(
                Kind::Config,
                format!(
                    "cannot read config {}: {}",
                    path.display(),
                    crate::base::input::plain_io(&err)
                ),
            )
        })
}

/// Refuses a file holding a password in clear that others may read: a user's file must be
/// private (600); the system file may be read by its group (640), never by all.
fn check_private(
    path: &Path,
    text: &str,
    password_at: Range<usize>,
    mode: u32,
    system: bool,
) -> anyhow::Result<()> {
    let (line, _) = line_and_key(text, password_at.start);
    let shown = path.display();
    let refusal = match system {
        false if mode & 0o077 != 0 => format!(
            "config {shown} holds a password (line {line}) but its mode is {mode:04o}: \
             make it private with chmod 600 {shown}"
        ),
        true if mode & 0o004 != 0 => format!(
            "the system config {shown} holds a password (line {line}) but every user can read \
             it (mode {mode:04o}): give it to the group of the users who send mail and run \
             chmod 640 {shown}, or use password-file or password-command"
        ),
        _ => return Ok(()),
    };
    Err(fail(Kind::Config, refusal))
}
