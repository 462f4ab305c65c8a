//! The committed man page and completion scripts match what the binary generates now.

use std::path::Path;

use crate::support::Run;

const GENERATED: [(&str, &str); 6] = [
    ("man", "man/smtpsend.1"),
    ("bash", "completions/smtpsend.bash"),
    ("zsh", "completions/_smtpsend"),
    ("fish", "completions/smtpsend.fish"),
    ("elvish", "completions/smtpsend.elv"),
    ("powershell", "completions/_smtpsend.ps1"),
];

fn generate(what: &str) -> Vec<u8> {
    let out = Run::new(["--generate", what]).output();
    assert_eq!(
        out.code, 0,
        "smtpsend --generate {what} failed: {}",
        out.stderr
    );
    out.stdout_bytes
}

#[test]
fn man_page_and_completions_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (what, file) in GENERATED {
        let committed = std::fs::read(root.join(file)).unwrap_or_default();
        if committed != generate(what) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {}. The options changed; rewrite these files with scripts/regenerate.sh \
         (or: cargo run -- --generate man > man/smtpsend.1, and likewise for each shell) \
         and commit them.",
        stale.join(", ")
    );
}

#[test]
fn the_man_page_has_every_section_and_no_date() {
    let page = String::from_utf8(generate("man")).expect("UTF-8 man page");
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            page.lines().any(
                |line| line == format!(".SH {section}") || line == format!(".SH \"{section}\"")
            ),
            "no {section} section"
        );
    }
    let title = page
        .lines()
        .find(|line| line.starts_with(".TH "))
        .expect(".TH line");
    let dated = title.split(['"', ' ']).any(|word| {
        let bytes = word.as_bytes();
        bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && word.chars().filter(char::is_ascii_digit).count() == 8
    });
    assert!(!dated, "the title line carries a date: {title}");
    assert_eq!(
        page.as_bytes(),
        generate("man"),
        "two runs give different pages"
    );
    for other in ["sendmail", "msmtp", "swaks"] {
        assert!(page.contains(other), "SEE ALSO lacks {other}");
    }
}

#[test]
fn completions_know_the_sendmail_options() {
    let bash = String::from_utf8(generate("bash")).expect("UTF-8");
    for option in [
        "--read-recipients",
        "--config",
        "--account",
        "--show-config",
    ] {
        assert!(bash.contains(option), "bash completion lacks {option}");
    }
}

/// `--generate` is hidden: for packagers, not offered when someone types `smtpsend --gen<TAB>`.
#[test]
fn completions_do_not_offer_the_hidden_generate_option() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(generate(shell)).expect("UTF-8");
        // Lines that run `smtpsend --generate accounts` (and so on) for candidates offer
        // no option; no other line may name it.
        let offers = script
            .lines()
            .filter(|line| !line.contains("smtpsend --generate "))
            .any(|line| line.contains("generate"));
        assert!(!offers, "{shell} completion offers --generate");
        assert!(
            script.contains("source-address"),
            "{shell} completion lacks options"
        );
    }
}

/// The man page is plain ASCII (groff reads bytes, and a UTF-8 ellipsis becomes a warning
/// and garbage); `.ci/run` also lints it with `groff -ww`.
#[test]
fn the_man_page_is_ascii() {
    let page = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/man/smtpsend.1")).unwrap();
    let line = page
        .split(|b| *b == b'\n')
        .position(|line| !line.is_ascii());
    assert_eq!(
        line, None,
        "man/smtpsend.1 has a non-ASCII byte on this line (from 0)"
    );
}

/// `-h` is a summary that fits an 80-column terminal in about 60 lines, options under
/// headings, examples at the end; `--help` has every option.
#[test]
fn short_help_is_a_summary_and_long_help_has_everything() {
    let short = Run::new(["-h"]).env("COLUMNS", "80").output();
    assert_eq!(short.code, 0, "{}", short.stderr);
    let lines: Vec<&str> = short.stdout.lines().collect();
    assert!(
        lines.len() <= 62,
        "{} lines:\n{}",
        lines.len(),
        short.stdout
    );
    assert!(
        lines.iter().all(|line| line.chars().count() <= 80),
        "{}",
        short.stdout
    );
    for heading in [
        "Message:",
        "Recipients:",
        "Server and TLS:",
        "Login:",
        "Examples:",
    ] {
        assert!(lines.contains(&heading), "{heading}\n{}", short.stdout);
    }
    let long = Run::new(["--help"]).env("COLUMNS", "80").output();
    assert_eq!(long.code, 0, "{}", long.stderr);
    for option in [
        "--dsn-notify",
        "--source-address",
        "--qualify-domain",
        "--max-input-size",
    ] {
        assert!(
            !short.stdout.contains(option),
            "{option} is for --help only"
        );
        assert!(long.stdout.contains(option), "{option} missing from --help");
    }
    assert!(
        long.stdout.contains("Exit status (sysexits.h):"),
        "{}",
        long.stdout
    );
}

/// Completes `words` with the bash completion script, in `home` (its configuration and
/// outbox), with this build of smtpsend first on PATH.
fn bash_completes(home: &crate::support::Home, words: &[&str]) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/completions/smtpsend.bash");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_smtpsend")).parent().unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source {script}; COMP_WORDS=({}); COMP_CWORD={}; \
         _smtpsend smtpsend '{}' '{}' 2>/dev/null; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.len() - 1,
        words.last().unwrap(),
        words[words.len() - 2],
    );
    let mut bash = std::process::Command::new("bash");
    bash.args(["-c", &program])
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()));
    for (name, value) in crate::support::Home::env_for(home.path()) {
        bash.env(name, value);
    }
    let out = bash.output().expect("run bash");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// The completions offer what this machine has: the configuration's account names for
/// --account, server forms and the accounts' servers for --server, the outbox's ids for
/// --drop-queue; and no file names where a file makes no sense.
#[test]
fn completions_offer_accounts_servers_and_queue_ids() {
    let home = crate::support::Home::with_config(
        "[accounts.work]\nserver = \"smtp.work.example:587\"\n\n[accounts.home]\n",
        0o600,
    );
    let mut accounts = bash_completes(&home, &["smtpsend", "--account", ""]);
    accounts.sort();
    assert_eq!(accounts, ["home", "work"]);
    let servers = bash_completes(&home, &["smtpsend", "--server", ""]);
    assert!(servers.contains(&"smtps://".to_string()), "{servers:?}");
    assert!(
        servers.contains(&"smtp.work.example:587".to_string()),
        "{servers:?}"
    );

    // One message queued: its id is offered for --drop-queue.
    let queued = home
        .run([
            "--server",
            &crate::support::refused_addr(),
            "--to",
            "b@example.com",
            "--body",
            "x",
        ])
        .args(["--from", "a@example.com", "--queue", "on-failure"])
        .output();
    assert_eq!(queued.code, 0, "{}", queued.stderr);
    let id = crate::support::queued_id(&queued.stderr);
    assert_eq!(
        bash_completes(&home, &["smtpsend", "--drop-queue", ""]),
        [id]
    );

    // A sender is no file: what was typed stays, no file name is offered.
    let from = bash_completes(&home, &["smtpsend", "--from", "Car"]);
    assert_eq!(from, ["Car"]);
}
