//! Per-message identity: Date, Message-ID and MIME boundaries, pinned for byte-exact tests;
//! Message-IDs given on the command line (`--message-id`, `--in-reply-to`, `--references`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// Set to pin Date, Message-ID and boundaries so tests can compare messages byte for byte.
pub const PIN_ENV: &str = "SMTPSEND_TEST_PIN";

/// Makes the values that differ between two sends of the same message.
pub struct Stamp {
    pinned: bool,
    seed: u64,
    counter: u32,
}

impl Stamp {
    pub fn new() -> Stamp {
        Stamp {
            pinned: std::env::var_os(PIN_ENV).is_some(),
            seed: random_u64(),
            counter: 0,
        }
    }

    /// RFC 5322 date-time in the local time zone.
    pub fn date(&self) -> String {
        if self.pinned {
            return "Thu, 01 Jan 2026 00:00:00 +0000".to_string();
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        rfc5322_date(now)
    }

    /// A Message-ID value without angle brackets.
    pub fn message_id(&self, domain: &str) -> String {
        if self.pinned {
            return "pinned@smtpsend.test".to_string();
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        format!("{now:x}.{:016x}@{domain}", self.seed)
    }

    /// A fresh MIME boundary.
    pub fn boundary(&mut self) -> String {
        self.counter += 1;
        if self.pinned {
            return format!("=_smtpsend_boundary_{}", self.counter);
        }
        format!("=_{:016x}_{}", self.seed, self.counter)
    }
}

impl Stamp {
    /// A stamp as under [`PIN_ENV`], for unit tests.
    #[cfg(test)]
    pub fn pinned() -> Stamp {
        Stamp {
            pinned: true,
            seed: 0,
            counter: 0,
        }
    }
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp::new()
    }
}

pub(crate) fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// The longest Message-ID taken from the command line (RFC 5322 lines are at most 998).
const LONGEST_MESSAGE_ID: usize = 900;

/// A Message-ID given to `flag`, checked and without its angle brackets (`<a@b>` and `a@b`
/// alike): `id-left@id-right` of printable ASCII, no white space, no `<`, `>`, `"` or `\`,
/// one `@`, something on each side (RFC 5322 §3.6.4, less the quoted forms nobody writes).
pub fn message_id_arg(flag: &str, value: &str) -> anyhow::Result<String> {
    let trimmed = value.trim();
    let id = trimmed
        .strip_prefix('<')
        .and_then(|inner| inner.strip_suffix('>'))
        .unwrap_or(trimmed);
    let fits = id.len() <= LONGEST_MESSAGE_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"\\".contains(&b))
        && matches!(id.split_once('@'), Some((left, right))
            if !left.is_empty() && !right.is_empty() && !right.contains('@'));
    if fits {
        return Ok(id.to_string());
    }
    Err(crate::base::exit::fail(
        crate::base::exit::Kind::Usage,
        format!(
            "{flag} {value:?} is not a Message-ID: give it as <left@right> or left@right, \
             printable ASCII without spaces"
        ),
    ))
}

/// The Message-IDs in one value of `flag`, separated by white space or commas, or written
/// together (`<a@x><b@y>`).
pub fn message_ids_arg(flag: &str, value: &str) -> anyhow::Result<Vec<String>> {
    value
        .replace("><", "> <")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|id| !id.is_empty())
        .map(|id| message_id_arg(flag, id))
        .collect()
}

/// Formats a Unix time as an RFC 5322 date in the local time zone.
pub fn rfc5322_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let time = unix as libc::time_t;
    // SAFETY: localtime_r only writes into the zeroed tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&time, &mut tm).is_null() };
    if !ok {
        return mail_builder::headers::date::Date::new(unix).to_rfc822();
    }
    let offset = tm.tm_gmtoff / 60;
    let sign = if offset < 0 { '-' } else { '+' };
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} {}{:02}{:02}",
        DAYS[tm.tm_wday.rem_euclid(7) as usize],
        tm.tm_mday,
        MONTHS[tm.tm_mon.rem_euclid(12) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        sign,
        offset.abs() / 60,
        offset.abs() % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_taken_with_or_without_brackets_and_checked() {
        let id = |value| message_id_arg("--in-reply-to", value);
        assert_eq!(
            id("<a.b+c=d@mail.example>").unwrap(),
            "a.b+c=d@mail.example"
        );
        assert_eq!(id(" x$y/z@[127.0.0.1] ").unwrap(), "x$y/z@[127.0.0.1]");
        for bad in [
            "",
            "<>",
            "no-at",
            "@right",
            "left@",
            "a@b@c",
            "a b@c",
            "a@b>\r\nBcc: x",
            "ü@x",
        ] {
            let err = id(bad).unwrap_err();
            assert_eq!(crate::base::exit::code_for(&err), 64, "{bad:?}");
        }
        assert_eq!(
            message_ids_arg("--references", "<a@x><b@y>, c@z  <d@w>").unwrap(),
            ["a@x", "b@y", "c@z", "d@w"]
        );
    }
}
