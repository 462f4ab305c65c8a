//! `cid:` references (RFC 2392) in the HTML part, and the Content-IDs of inline parts.
//!
//! A reference is `cid:` at the start of an attribute value or of a CSS `url(…)`: right after
//! `"`, `'`, `=` or `(` (so prose that mentions "cid:x" is not one), up to the next quote,
//! parenthesis, angle bracket or white space, with `%XX` escapes decoded. The HTML is scanned
//! as it is read (a file is read once, to be measured), in constant memory.

use super::*;

/// The most distinct references kept; each must be an inline part, so more is an error.
const MOST_REFERENCES: usize = 1024;

/// The longest Content-ID taken (a reference longer than this matches no part).
const LONGEST_ID: usize = 250;

/// Characters of a Content-ID smtpsend writes: those of an RFC 5322 `dot-atom-text` and `@`,
/// less `%` (the escape of a `cid:` URL) and `&` and `'` (which HTML attributes escape).
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$*+-/=?^_`{|}~.@".contains(c)
}

/// Checks a Content-ID given on the command line (an `--inline` file's name or its
/// `--attach-name`): what the HTML writes after `cid:`.
pub(super) fn check_id(flag: &str, id: &str) -> anyhow::Result<()> {
    let fits = !id.is_empty()
        && id.len() <= LONGEST_ID
        && id.chars().all(is_id_char)
        && !id.starts_with('.')
        && !id.ends_with('.')
        && !id.contains("..");
    if fits {
        return Ok(());
    }
    Err(fail(
        Kind::Usage,
        format!(
            "{flag}: {id:?} cannot be a Content-ID (the HTML's cid:NAME): use letters, digits \
             and . - _ @ + = only, and name it with --attach-name NAME"
        ),
    ))
}

/// A Content-ID made from a file name: each character a Content-ID cannot hold made `_`.
pub(super) fn id_from_name(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| if is_id_char(c) { c } else { '_' })
        .collect();
    let id = id.trim_matches('.').replace("..", "_");
    match id.is_empty() {
        true => "image".to_string(),
        false => id.chars().take(LONGEST_ID - 8).collect(),
    }
}

/// Finds the `cid:` references of HTML fed piece by piece.
#[derive(Default)]
pub(super) struct Scanner {
    /// The byte before the current one.
    previous: u8,
    /// How much of `cid:` the last bytes matched.
    matched: usize,
    /// The reference being read, once `cid:` was seen.
    reading: Option<Vec<u8>>,
    found: BTreeSet<String>,
    too_many: bool,
}

impl Scanner {
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.step(byte);
        }
    }

    fn step(&mut self, byte: u8) {
        if let Some(reading) = &mut self.reading {
            if !(byte.is_ascii_whitespace() || b"\"')<>".contains(&byte)) {
                if reading.len() <= LONGEST_ID * 3 {
                    reading.push(byte);
                }
                self.previous = byte;
                return;
            }
            let reading = self.reading.take().unwrap_or_default();
            self.found_one(&reading);
        }
        let lower = byte.to_ascii_lowercase();
        self.matched = match self.matched {
            0 if lower == b'c' && b"\"'=(".contains(&self.previous) => 1,
            1..=3 if lower == b"cid:"[self.matched] => self.matched + 1,
            _ => 0,
        };
        if self.matched == 4 {
            self.matched = 0;
            self.reading = Some(Vec::new());
        }
        self.previous = byte;
    }

    fn found_one(&mut self, escaped: &[u8]) {
        let id = percent_decoded(escaped);
        if id.is_empty() || self.found.contains(&id) {
            return;
        }
        if self.found.len() == MOST_REFERENCES {
            self.too_many = true;
            return;
        }
        self.found.insert(id);
    }

    /// The references found (an empty name for "more than can be inline parts").
    pub(super) fn finish(mut self) -> BTreeSet<String> {
        if let Some(reading) = self.reading.take() {
            self.found_one(&reading);
        }
        if self.too_many {
            self.found.insert(String::new());
        }
        self.found
    }
}

/// The `cid:` references of HTML in memory.
pub(super) fn references(html: &[u8]) -> BTreeSet<String> {
    let mut scanner = Scanner::default();
    scanner.feed(html);
    scanner.finish()
}

/// `%XX` escapes decoded (RFC 2392); others left as they are.
pub(super) fn percent_decoded(text: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let hex = text
            .get(at + 1..at + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (text[at], hex) {
            (b'%', Some(byte)) => {
                bytes.push(byte);
                at += 3;
            }
            (byte, _) => {
                bytes.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every reference must be an inline part (65 otherwise: the message would show a broken
/// image); an inline part the HTML does not show is said on stderr (mail programs list it
/// as an attachment).
pub(super) fn check_references(
    references: &BTreeSet<String>,
    inline: &[FileEntry],
) -> anyhow::Result<()> {
    let provided = |id: &str| inline.iter().any(|entry| entry.cid.as_deref() == Some(id));
    if references.contains("") {
        return Err(fail(
            Kind::Data,
            format!("the HTML refers to more than {MOST_REFERENCES} different cid: parts"),
        ));
    }
    if let Some(missing) = references.iter().find(|id| !provided(id)) {
        return Err(fail(
            Kind::Data,
            format!(
                "the HTML shows cid:{missing}, which no inline part provides: give the image \
                 with --inline PATH (its Content-ID is its file name, or --attach-name NAME)"
            ),
        ));
    }
    for entry in inline {
        let Some(id) = &entry.cid else { continue };
        if !references.contains(id) {
            crate::say!(
                "smtpsend: warning: the HTML does not show the inline image {} (cid:{id}); \
                 mail programs list it as an attachment",
                entry.name
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(pieces: &[&str]) -> Vec<String> {
        let mut scanner = Scanner::default();
        for piece in pieces {
            scanner.feed(piece.as_bytes());
        }
        scanner.finish().into_iter().collect()
    }

    #[test]
    fn references_in_attributes_and_css_are_found_across_pieces() {
        let html = "<img src=\"cid:chart.png\"><td background='CID:bg.gif'>\
                    <div style=\"background:url(cid:logo%20one.png)\"><img src=cid:plain>\
                    see cid:prose here";
        let expected = ["bg.gif", "chart.png", "logo one.png", "plain"];
        assert_eq!(found(&[html]), expected);
        let bytes: Vec<String> = html.chars().map(String::from).collect();
        let pieces: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(found(&pieces), expected);
        assert_eq!(found(&["<img src=\"cid:last"]), ["last"]);
        assert!(found(&["<img src=\"cid:\">"]).is_empty());
    }

    #[test]
    fn content_ids_are_checked_and_made_from_names() {
        assert!(check_id("--inline x", "chart.png").is_ok());
        assert!(check_id("--inline x", "a@b.example").is_ok());
        for bad in ["", "my chart.png", "a%20b", "x\"y", ".png", "a..b", "ü.png"] {
            let err = check_id("--inline x", bad).unwrap_err();
            assert_eq!(crate::base::exit::code_for(&err), 64, "{bad:?}");
        }
        assert_eq!(id_from_name("my chart (1).png"), "my_chart__1_.png");
        assert_eq!(id_from_name("..."), "image");
    }
}
