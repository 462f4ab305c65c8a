//! The README's commands work as written: every `smtpsend` command in its code blocks is run
//! (with `--dry-run` where it would send, against a closed local port where it would
//! connect) and must be understood; none may be a usage error.

use std::path::Path;

use crate::support::{Home, refused_addr};

/// One `smtpsend` command of the README: the variables set before it, its arguments, and
/// whether a message comes on stdin.
#[derive(Debug)]
struct Command {
    env: Vec<(String, String)>,
    args: Vec<String>,
    line: String,
}

/// Options that do something other than send a message (they take no `--dry-run`).
const NOT_SENDING: [&str; 11] = [
    "--check",
    "--server-info",
    "--verify",
    "--expn",
    "--show-config",
    "-q",
    "--flush-queue",
    "--list-queue",
    "--drop-queue",
    "--setup",
    "--oauth2-login",
];

/// The shell commands of a document's ```sh, ```yaml and ```console blocks, continuation
/// lines joined, here-documents and comments left out.
fn shell_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_block = false;
    let mut here_end: Option<String> = None;
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_block = !in_block && ["```sh", "```yaml", "```console"].contains(&line.trim());
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(end) = &here_end {
            if line.trim() == end {
                here_end = None;
            }
            continue;
        }
        if let Some((_, end)) = line.split_once("<<'") {
            here_end = end.split('\'').next().map(str::to_string);
        }
        let line = line
            .trim()
            .trim_start_matches("- ")
            .trim_start_matches("$ ");
        match line.strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => {
                pending.push_str(line);
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    lines
}

/// The `smtpsend` commands on a shell line: split at `|`, `&&`, `;` and `&`, up to a
/// redirection or a comment.
fn commands(line: &str) -> Vec<Command> {
    let Ok(words) = shell_words::split(line) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for part in words.split(|w| ["|", "||", "&&", ";", "&"].contains(&w.as_str())) {
        let mut env = Vec::new();
        let mut words = part.iter().peekable();
        while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
            if !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                break;
            }
            env.push((name.to_string(), value.to_string()));
            words.next();
        }
        if words.next().map(String::as_str) != Some("smtpsend") {
            continue;
        }
        let args = words
            .take_while(|w| !w.starts_with('#') && !is_redirection(w))
            .cloned()
            .collect();
        found.push(Command {
            env,
            args,
            line: line.to_string(),
        });
    }
    found
}

/// `<`, `< file`, `>`, `2>&1`: a redirection, not an argument (`"<id@host>"` is one).
fn is_redirection(word: &str) -> bool {
    let word = word.trim_start_matches(|c: char| c.is_ascii_digit());
    word.starts_with('>') || (word.starts_with('<') && !word.ends_with('>'))
}

/// The text outside code: fenced blocks and `inline code` left out.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            let spans: Vec<&str> = line.split('`').collect();
            out.extend(spans.iter().step_by(2).copied());
            out.push('\n');
        }
    }
    out
}

/// Runs one command in `home` as the README's reader would: files it names made there, no
/// traffic beyond this machine.
fn run(home: &Home, command: &Command) -> (i32, String) {
    let closed = refused_addr();
    let sending = !command
        .args
        .iter()
        .any(|a| NOT_SENDING.contains(&a.as_str()));
    let mut args = Vec::new();
    let mut after_server = false;
    for arg in &command.args {
        if after_server {
            args.push(closed.clone());
            after_server = false;
            continue;
        }
        after_server = arg == "--server";
        let arg = arg.replace("~/", &format!("{}/", home.path().display()));
        args.push(arg);
    }
    for pair in command.args.windows(2) {
        let file_option = [
            "--attach",
            "-a",
            "--body-file",
            "--html",
            "--markdown",
            "--inline",
        ];
        if file_option.contains(&pair[0].as_str()) && !Path::new(&pair[1]).is_absolute() {
            let path = home.join(&pair[1]);
            if pair[1].ends_with('/') {
                std::fs::create_dir_all(&path).unwrap();
                std::fs::write(path.join("summary.txt"), "ok\n").unwrap();
            } else {
                std::fs::write(&path, "<p>ok</p>\n").unwrap();
            }
        }
    }
    if sending && !args.iter().any(|a| a == "--dry-run") {
        args.push("--dry-run".to_string());
    }
    let mut run = home.run(&args).cwd(home.path()).stdin("backup done\n");
    for (name, value) in &command.env {
        let value = if name == "SMTPSEND_SERVER" {
            closed.as_str()
        } else {
            value
        };
        run = run.env(name, value);
    }
    let out = run.output();
    (out.code, out.stderr)
}

#[test]
fn every_command_in_the_readme_is_understood() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let commands: Vec<Command> = shell_lines(&readme)
        .iter()
        .flat_map(|line| commands(line))
        .collect();
    assert!(
        commands.len() >= 10,
        "the README's smtpsend commands were not found: {commands:?}"
    );
    for command in &commands {
        let home = Home::new();
        let (code, stderr) = run(&home, command);
        assert_ne!(code, 64, "{}\n{stderr}", command.line);
        assert!(
            [0, 66, 75, 78].contains(&code),
            "exit {code}: {}\n{stderr}",
            command.line
        );
        if code == 66 || code == 78 {
            // Only a file or account the reader has and the test cannot make.
            assert!(
                stderr.contains("/etc/ssl/")
                    || stderr.contains("pass show")
                    || stderr.contains("account"),
                "exit {code}: {}\n{stderr}",
                command.line
            );
        }
    }
}

/// The README's first command is the dry run of the quick start, and it works on a machine
/// with nothing set up: exit 0, the message on stdout.
#[test]
fn the_readme_starts_with_a_dry_run_that_needs_nothing() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let quick_start = readme
        .split("## Quick start")
        .nth(1)
        .expect("a Quick start section");
    let first = shell_lines(quick_start)
        .into_iter()
        .next()
        .expect("a command");
    let command = commands(&first).pop().expect("an smtpsend command");
    assert!(command.args.contains(&"--dry-run".to_string()));
    let out = Home::new().run(&command.args).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("it works"), "{}", out.stdout);
    let lines_before = readme
        .split("## Quick start")
        .next()
        .unwrap()
        .lines()
        .count();
    assert!(
        lines_before < 30,
        "the quick start is at line {lines_before}"
    );
    assert!(
        readme.lines().count() <= 250,
        "README.md has {} lines",
        readme.lines().count()
    );
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every link between the README and docs/ leads somewhere: the file exists and, when the
/// link names a heading, the file has it.
#[test]
fn links_between_the_readme_and_docs_lead_somewhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut checked = 0;
    for page in &pages {
        let text = prose(&std::fs::read_to_string(page).unwrap());
        for (at, _) in text.match_indices("](") {
            let target = text[at + 2..].split(')').next().unwrap_or_default();
            if target.starts_with("http") || target.contains(' ') || target.is_empty() {
                continue;
            }
            let (file, heading) = target.split_once('#').unwrap_or((target, ""));
            let file = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            assert!(file.exists(), "{}: {target}: no such file", page.display());
            if !heading.is_empty() {
                let linked = std::fs::read_to_string(&file).unwrap();
                let found = linked
                    .lines()
                    .filter_map(|l| l.strip_prefix('#'))
                    .map(|l| anchor(l.trim_start_matches('#')))
                    .any(|a| a == heading);
                assert!(found, "{}: {target}: no such heading", page.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}
