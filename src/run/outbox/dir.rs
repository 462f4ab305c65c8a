//! The names the outbox owns: an entry's files by role, and the checks of the spool a user
//! without a home keeps an outbox in. The directory itself is a
//! [`crate::base::private_dir::PrivateDir`].

use super::*;

/// What the outbox is, in the words of its directory's errors.
pub(super) const OUTBOX: Purpose = Purpose {
    name: "the outbox",
    refusal: "smtpsend keeps mail only in a directory of its own (owned by you, mode 0700), \
              so nothing was read or written there",
};

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
