//! The user running smtpsend: the login name (for the default sender and `%U` in `from`)
//! and the user id (for the spool of callers without a home). Cron and daemons often run
//! with neither `LOGNAME` nor `USER` set, so the password database is asked when the
//! environment says nothing.

use std::ffi::CStr;

/// The login name: `$LOGNAME`, else `$USER`, else the password database's name for the
/// real user id, else the user id as a number (a container's user may have no entry).
pub fn login_name() -> String {
    ["LOGNAME", "USER"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .or_else(|| name_of(real_uid()))
        .unwrap_or_else(|| real_uid().to_string())
}

/// The real user id.
pub fn real_uid() -> u32 {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    unsafe { libc::getuid() }
}

/// The effective user id (the owner of what smtpsend creates).
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// The password database's name for `uid`, when it has one that is UTF-8.
pub fn name_of(uid: u32) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    loop {
        // SAFETY: passwd is plain data that getpwuid_r fills; the strings it points to
        // live in `buffer`, which outlives every use of them below.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let status = unsafe {
            libc::getpwuid_r(
                uid,
                &mut entry,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut found,
            )
        };
        if status == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 4, 0);
            continue;
        }
        if status != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name points into `buffer` and is NUL-terminated (getpwuid_r succeeded).
        let name = unsafe { CStr::from_ptr(entry.pw_name) };
        return name
            .to_str()
            .ok()
            .filter(|name| !name.is_empty())
            .map(str::to_string);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_a_name_and_a_missing_user_has_none() {
        assert_eq!(name_of(0).as_deref(), Some("root"));
        assert_eq!(name_of(4_000_000_000), None);
    }
}
