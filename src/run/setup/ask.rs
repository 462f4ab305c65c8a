//! Questions on the terminal for `--setup`: a prompt on stderr, an answer read from stdin
//! (a terminal, or `--setup` refuses to start), an empty answer taking the default.

use std::io::{BufRead, Read};

use crate::base::exit::{Kind, fail};

/// The longest answer read; a longer line is refused rather than kept in memory.
const MAX_ANSWER: usize = 4096;

/// Asks `question`, showing `default` in brackets; the answer, trimmed, or the default
/// when it is empty. End of input (Ctrl-D) stops the setup with nothing written.
pub fn ask(question: &str, default: Option<&str>) -> anyhow::Result<String> {
    let prompt = match default {
        Some(default) if !default.is_empty() => format!("{question} [{default}]: "),
        _ => format!("{question}: "),
    };
    crate::base::output::prompt(&prompt);
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .take(MAX_ANSWER as u64 + 1)
        .read_line(&mut line)
        .map_err(|err| {
            fail(
                Kind::LocalIo,
                format!("--setup: cannot read the answer: {err}"),
            )
        })?;
    if read == 0 {
        return Err(fail(
            Kind::Usage,
            "--setup: stopped (end of input); nothing was written",
        ));
    }
    if line.len() > MAX_ANSWER {
        return Err(fail(Kind::Usage, "--setup: that answer is too long"));
    }
    let answer = line.trim();
    Ok(match (answer.is_empty(), default) {
        (true, Some(default)) => default.to_string(),
        _ => answer.to_string(),
    })
}

/// Asks until the answer passes `check`, which returns the value or why it is not one.
pub fn ask_until<T>(
    question: &str,
    default: Option<&str>,
    check: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<T> {
    loop {
        let answer = ask(question, default)?;
        match check(&answer) {
            Ok(value) => return Ok(value),
            Err(why) => crate::say!("  {why}"),
        }
    }
}

/// Asks to pick one of `choices` (key, what it means) by its key.
pub fn choose(question: &str, choices: &[(&str, &str)], default: &str) -> anyhow::Result<String> {
    for (key, meaning) in choices {
        crate::say!("  {key}) {meaning}");
    }
    ask_until(question, Some(default), |answer| {
        choices
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(answer))
            .map(|(key, _)| key.to_string())
            .ok_or_else(|| {
                let keys: Vec<&str> = choices.iter().map(|(key, _)| *key).collect();
                format!("answer one of {}", keys.join(", "))
            })
    })
}

/// A yes-or-no question.
pub fn yes(question: &str, default: bool) -> anyhow::Result<bool> {
    let shown = if default { "Y/n" } else { "y/N" };
    ask_until(
        &format!("{question} ({shown})"),
        Some(""),
        |answer| match answer.to_ascii_lowercase().as_str() {
            "" => Ok(default),
            "y" | "yes" => Ok(true),
            "n" | "no" => Ok(false),
            _ => Err("answer y or n".to_string()),
        },
    )
}
