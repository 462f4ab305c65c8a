//! The names the outbox owns: an entry's files by role. The directory itself is a
//! [`crate::base::private_dir::PrivateDir`].

use super::*;

/// What the outbox is, in the words of its directory's errors.
pub(super) const OUTBOX: Purpose = Purpose {
    name: "the outbox",
    refusal: "smtpsend keeps mail only in a directory of its own (owned by you, mode 0700), \
              so nothing was read or written there",
};

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
