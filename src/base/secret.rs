//! The secrets of this run and the one scrubber every outgoing text passes.
//!
//! A password or token becomes a [`Secret`] the moment it is read, and making one registers
//! it here; so do the SASL responses built from it (the PLAIN and LOGIN blobs, the XOAUTH2
//! and OAUTHBEARER strings) as they are sent. [`scrub`] replaces every registered secret
//! with `<redacted>` wherever it appears: in server replies quoted on stderr or in `--json`,
//! in transcript lines, in what the outbox writes to disk. A hostile server that echoes the
//! login back gets nothing printed.
//!
//! What is registered for each secret: its bytes; its base64 (the whole, and the parts of
//! it that do not depend on the bytes around it, at each of the three alignments, so the
//! secret is found inside any base64 blob that contains it — and then the whole blob is
//! redacted, since its edges hold a byte or two of the secret too); and each of those as
//! the output paths escape them (the transcript's repr quoting, stderr's control escapes,
//! JSON string escapes), so that text escaped before it reached the scrubber is caught too.
//!
//! The only code that writes to stdout and stderr is `crate::base::output` (clippy's
//! `disallowed-methods` and `disallowed-macros` enforce it), and it scrubs everything it
//! writes except the message itself in `--dry-run`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// A base64 fragment shorter than this is not registered on its own: it would match
/// ordinary text too often (the whole encoding of a short secret still is).
const MIN_FRAGMENT: usize = 8;

/// One byte string to redact.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Needle {
    bytes: Vec<u8>,
    /// A piece of base64: the whole run of base64 characters around it is redacted.
    base64: bool,
}

/// Every byte string to redact, longest first.
static NEEDLES: Mutex<Vec<Needle>> = Mutex::new(Vec::new());

/// A password or token. Making one registers it with the scrubber; its `Debug` never
/// shows it, and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        register(value.as_bytes());
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Keeps a password this process holds out of core files and away from other processes,
/// before any is read: the core file size limit is 0, soft and hard (children inherit it),
/// and the process is not dumpable (PR_SET_DUMPABLE 0: with the default fs.suid_dumpable
/// no core is written even when core_pattern hands cores to a program, which ignores the
/// limit; /proc/PID/mem and environ and ptrace are closed to processes of the same user).
/// Either call failing leaves the run as it was.
pub fn keep_out_of_dumps() {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit(2) with a valid rlimit; prctl(2) PR_SET_DUMPABLE takes plain
    // integers. Neither touches memory of ours besides `none`.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Registers a secret: it and its encodings are redacted from now on.
pub fn register(secret: &[u8]) {
    if secret.is_empty() {
        return;
    }
    let mut forms: Vec<(Vec<u8>, bool)> = vec![
        (secret.to_vec(), false),
        (BASE64.encode(secret).into_bytes(), true),
    ];
    forms.extend(base64_fragments(secret).into_iter().map(|f| (f, true)));
    let mut needles = NEEDLES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (form, base64) in forms {
        for bytes in escaped_forms(&form) {
            let needle = Needle { bytes, base64 };
            if !needle.bytes.is_empty() && !needles.contains(&needle) {
                needles.push(needle);
            }
        }
    }
    needles.sort_by_key(|needle| std::cmp::Reverse(needle.bytes.len()));
}

/// Text with every registered secret replaced by `<redacted>`.
pub fn scrub(text: &str) -> Cow<'_, str> {
    match scrub_bytes(text.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        // Needles are replaced whole; a needle that is not UTF-8 on its own can still cut a
        // character in two, which lossy conversion then shows as U+FFFD.
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// Bytes with every registered secret replaced by `<redacted>`.
pub fn scrub_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let needles = NEEDLES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut text = Cow::Borrowed(bytes);
    for needle in needles.iter() {
        if let Some(replaced) = replace_all(&text, needle) {
            text = Cow::Owned(replaced);
        }
    }
    text
}

/// `haystack` with each occurrence of `needle` replaced (for base64, the run of base64
/// characters it sits in), or `None` when there is none.
fn replace_all(haystack: &[u8], needle: &Needle) -> Option<Vec<u8>> {
    let mut at = find(haystack, &needle.bytes)?;
    let mut out = Vec::with_capacity(haystack.len());
    let mut copied = 0;
    loop {
        let (mut start, mut end) = (at, at + needle.bytes.len());
        if needle.base64 {
            while start > copied && is_base64(haystack[start - 1]) {
                start -= 1;
            }
            while end < haystack.len() && is_base64(haystack[end]) {
                end += 1;
            }
        }
        out.extend_from_slice(&haystack[copied..start]);
        out.extend_from_slice(REDACTED.as_bytes());
        copied = end;
        match find(&haystack[copied..], &needle.bytes) {
            Some(next) => at = copied + next,
            None => break,
        }
    }
    out.extend_from_slice(&haystack[copied..]);
    Some(out)
}

fn is_base64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'=')
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The parts of the base64 of `secret` that are the same whatever bytes come before and
/// after it, at each of the three alignments it can have inside a longer blob.
fn base64_fragments(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut fragments = Vec::new();
    for offset in 0..3 {
        let mut padded = vec![0u8; offset];
        padded.extend_from_slice(secret);
        let encoded = BASE64.encode(&padded).into_bytes();
        // Group g (4 characters) encodes bytes 3g..3g+3: keep the groups made of the
        // secret's bytes only.
        let first = offset.div_ceil(3);
        let last = (offset + secret.len()) / 3;
        if last > first {
            let fragment = encoded[first * 4..last * 4].to_vec();
            if fragment.len() >= MIN_FRAGMENT {
                fragments.push(fragment);
            }
        }
    }
    fragments
}

/// `form` as it is, and as each output path escapes it: the transcript's repr quoting,
/// stderr's control escapes and JSON's string escapes.
fn escaped_forms(form: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = vec![form.to_vec()];
    let repr = crate::base::escape::repr(form);
    forms.push(repr.as_bytes()[1..repr.len() - 1].to_vec());
    let text = String::from_utf8_lossy(form);
    forms.push(
        crate::base::escape::escape_controls(&text)
            .into_owned()
            .into_bytes(),
    );
    if let Ok(json) = serde_json::to_string(&text) {
        forms.push(json.as_bytes()[1..json.len() - 1].to_vec());
    }
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_and_its_encodings_are_redacted() {
        register(b"Sesame-8chars-long");
        assert_eq!(scrub("535 bad Sesame-8chars-long"), "535 bad <redacted>");
        let blob = BASE64.encode(b"\0alice\0Sesame-8chars-long");
        let echoed = format!("535 5.7.8 {blob} refused");
        assert!(!scrub(&echoed).contains("U2VzYW1l"), "{}", scrub(&echoed));
        assert!(!scrub(&echoed).contains(&blob));
        let login = BASE64.encode(b"Sesame-8chars-long");
        assert_eq!(scrub(&format!("334 {login}")), "334 <redacted>");
        assert_eq!(scrub("nothing secret"), "nothing secret");
    }

    #[test]
    fn escaped_forms_are_redacted_too() {
        register(b"\0bob\0tab\there");
        let line = crate::base::escape::repr(b"500 \0bob\0tab\there\r\n");
        assert!(!scrub(&line).contains("tab"), "{}", scrub(&line));
        let json = serde_json::to_string("x \0bob\0tab\there y").unwrap();
        assert!(!scrub(&json).contains("tab"), "{}", scrub(&json));
    }

    #[test]
    fn fragments_cover_every_alignment() {
        let secret = b"correct horse battery";
        let fragments = base64_fragments(secret);
        for prefix in ["", "a", "ab", "abc"] {
            let mut blob = prefix.as_bytes().to_vec();
            blob.extend_from_slice(secret);
            blob.extend_from_slice(b"!");
            let encoded = BASE64.encode(&blob).into_bytes();
            assert!(
                fragments.iter().any(|f| encoded
                    .windows(f.len())
                    .any(|window| window == f.as_slice())),
                "prefix {prefix:?}"
            );
        }
    }
}
