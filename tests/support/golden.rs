//! Golden files: whole outputs that are an interface (the `--dry-run` text, `--json`
//! reports, `--server-info`, the `-d` transcript), compared in full with the copies under
//! tests/golden/, so that any change to them shows in review as a change to those files.
//!
//! After an intended change, rewrite them and review the diff:
//!
//! ```text
//! SMTPSEND_REGENERATE_GOLDEN=1 cargo test --test integration golden::
//! git diff tests/golden/
//! ```
//!
//! What differs between runs (the server's port, temporary paths, certificate dates and
//! fingerprints) is masked first with [`mask`].

use std::path::{Path, PathBuf};

/// The variable that makes [`assert_golden`] write the golden files instead of comparing.
pub const REGENERATE: &str = "SMTPSEND_REGENERATE_GOLDEN";

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Asserts that `actual` is exactly the text of tests/golden/`name` (or writes it there when
/// SMTPSEND_REGENERATE_GOLDEN is set). On a difference it shows the lines that differ.
#[track_caller]
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os(REGENERATE).is_some() {
        std::fs::create_dir_all(path.parent().expect("tests/golden")).expect("tests/golden");
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "tests/golden/{name}: {err}; write it with {REGENERATE}=1 cargo test --test \
             integration golden:: and review it. This run gave:\n{actual}"
        )
    });
    if expected != actual {
        panic!(
            "the output differs from tests/golden/{name} (- golden, + now). If the change \
             is intended, rewrite the golden files with {REGENERATE}=1 cargo test --test \
             integration golden:: and commit the diff.\n{}",
            diff(&expected, actual)
        );
    }
}

/// `text` with each `(this, that)` replaced, in order: the port of a test server, a
/// temporary path, a fingerprint.
pub fn mask(text: &str, replacements: &[(&str, &str)]) -> String {
    let mut masked = text.to_owned();
    for (this, that) in replacements {
        assert!(!this.is_empty(), "nothing to mask");
        masked = masked.replace(this, that);
    }
    masked
}

/// A line diff of two texts (longest common subsequence), with line ends shown.
fn diff(expected: &str, actual: &str) -> String {
    let old: Vec<&str> = expected.split_inclusive('\n').collect();
    let new: Vec<&str> = actual.split_inclusive('\n').collect();
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    // Each line as (' ' | '-' | '+', text).
    let (mut i, mut j, mut lines) = (0, 0, Vec::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push((' ', old[i]));
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            lines.push(('-', old[i]));
            i += 1;
        } else {
            lines.push(('+', new[j]));
            j += 1;
        }
    }
    // The changed lines with two lines of context, as a unified diff shows them.
    let near_change = |at: usize| {
        lines[at.saturating_sub(2)..(at + 3).min(lines.len())]
            .iter()
            .any(|(mark, _)| *mark != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (at, (mark, line)) in lines.iter().enumerate() {
        if near_change(at) {
            out.push_str(&format!("{mark} {line:?}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("  …\n");
            skipped = true;
        }
    }
    out
}
