//! Command-line errors as one complete line: clap's error folded into it, a bad value from an SMTPSEND_* variable named as such; how a run whose command line did not parse ends.

use super::*;

/// Ends a run whose command line did not parse: `--help` and `--version` are printed on
/// stdout (exit 0); an error is one line on stderr (exit 64).
pub fn conclude(err: &clap::Error) -> u8 {
    if !err.use_stderr() {
        let _ = err.print();
        return 0;
    }
    crate::say!("smtpsend: {} (see --help)", one_line(err));
    crate::base::exit::Kind::Usage.code()
}

/// A bad value that came from an `SMTPSEND_*` variable (the option is not on the command
/// line) is said to come from that variable, which is where the user must fix it.
pub(super) fn name_the_variable(
    err: clap::Error,
    command: &mut clap::Command,
    args: &[OsString],
) -> clap::Error {
    use clap::error::ErrorKind;
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return err;
    }
    let Some(shown) = context(&err, ContextKind::InvalidArg).map(|shown| shown.join("")) else {
        return err;
    };
    let from_env = command.get_arguments().find_map(|arg| {
        let long = format!("--{}", arg.get_long()?);
        let named = shown == long || shown.starts_with(&format!("{long} "));
        let on_command_line = args.iter().skip(1).any(|given| {
            let given = given.to_string_lossy();
            given == long
                || given.starts_with(&format!("{long}="))
                || arg.get_short().is_some_and(|short| {
                    given.starts_with('-') && !given.starts_with("--") && given.contains(short)
                })
        });
        let variable = arg.get_env()?.to_str()?.to_string();
        (named && !on_command_line && std::env::var_os(&variable).is_some()).then_some(variable)
    });
    match from_env {
        Some(variable) => {
            let line = one_line(&err).replacen(
                &format!("for '{shown}'"),
                &format!("in {variable} (the variable for {shown})"),
                1,
            );
            command.error(ErrorKind::ValueValidation, line)
        }
        None => err,
    }
}

/// A clap error as one complete line, without the usage block that follows it: what clap
/// lists on further lines (the conflicting option, the missing one, the possible values, a
/// similar option's name) is folded into that line.
pub fn one_line(err: &clap::Error) -> String {
    use clap::error::ErrorKind;
    let argument = context(err, ContextKind::InvalidArg);
    let line = match err.kind() {
        ErrorKind::ArgumentConflict => {
            let argument = argument.unwrap_or_default().join("");
            context(err, ContextKind::PriorArg).map(|prior| {
                if prior == [argument.clone()] {
                    format!("the argument '{argument}' cannot be used multiple times")
                } else {
                    format!(
                        "the argument '{argument}' cannot be used with '{}'",
                        prior.join("', '")
                    )
                }
            })
        }
        ErrorKind::MissingRequiredArgument => argument.map(|missing| {
            missing
                .iter()
                .map(|name| match required_with(name) {
                    Some(by) => format!("{name} is required with {by}"),
                    None => format!("{name} is required"),
                })
                .collect::<Vec<_>>()
                .join("; ")
        }),
        ErrorKind::InvalidValue => argument.map(|argument| {
            let argument = argument.join("");
            let value = context(err, ContextKind::InvalidValue)
                .map(|value| value.join(""))
                .unwrap_or_default();
            let mut line = if value.is_empty() {
                format!("a value is required for '{argument}' but none was supplied")
            } else {
                format!("invalid value '{value}' for '{argument}'")
            };
            if let Some(valid) = context(err, ContextKind::ValidValue) {
                line.push_str(&format!(" (possible values: {})", valid.join(", ")));
            }
            if let Some(suggested) = context(err, ContextKind::SuggestedValue) {
                line.push_str(&format!(" (did you mean '{}'?)", suggested.join("")));
            }
            line
        }),
        ErrorKind::UnknownArgument => argument.map(|argument| {
            let argument = argument.join("");
            let mut line = format!("unexpected argument '{argument}'");
            if let Some(hint) = foreign_hint(&argument) {
                line.push_str(&format!(": {hint}"));
            } else if let Some(similar) = context(err, ContextKind::SuggestedArg) {
                line.push_str(&format!(" (did you mean '{}'?)", similar.join("")));
            }
            // clap's other tip, "to pass '--x' as a value, use '-- --x'", would make the
            // option a recipient: never given.
            line
        }),
        _ => None,
    };
    line.unwrap_or_else(|| rendered_lines(err))
}

/// A context value of a clap error as text (a list gives one item per element).
pub(super) fn context(err: &clap::Error, kind: ContextKind) -> Option<Vec<String>> {
    match err.get(kind)? {
        ContextValue::String(text) => Some(vec![text.clone()]),
        ContextValue::Strings(list) if !list.is_empty() => Some(list.clone()),
        ContextValue::StyledStr(text) => Some(vec![text.to_string()]),
        ContextValue::StyledStrs(list) if !list.is_empty() => {
            Some(list.iter().map(ToString::to_string).collect())
        }
        ContextValue::Number(number) => Some(vec![number.to_string()]),
        _ => None,
    }
}

/// The option that requires this missing one (`--tls-cert` and `--tls-key` go together).
pub(super) fn required_with(missing: &str) -> Option<&'static str> {
    let name = missing.split_whitespace().next()?;
    REQUIRED_TOGETHER
        .iter()
        .find_map(|&(one, other)| match name {
            _ if name == one => Some(other),
            _ if name == other => Some(one),
            _ => None,
        })
}

/// Options that must be given together (`requires` in the definitions above).
pub(super) const REQUIRED_TOGETHER: [(&str, &str); 1] = [("--tls-cert", "--tls-key")];

/// Every line clap wrote before the usage block, joined into one.
pub(super) fn rendered_lines(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let line = text
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

/// Options people bring from msmtp, swaks, curl and mailx, each with the smtpsend way of
/// saying it. Only equivalents: never an option that changes what is sent.
const FOREIGN: [(&[&str], &str); 19] = [
    (
        &["--port"],
        "the port goes with the server: --server HOST:PORT",
    ),
    (&["--host"], "the server is --server HOST[:PORT]"),
    (
        &["--url"],
        "the server is --server smtp://HOST[:PORT] (smtps:// for implicit TLS)",
    ),
    (&["-C", "--file"], "the configuration file is --config PATH"),
    (
        &["-P", "--pretend"],
        "--show-config prints the settings a send would use",
    ),
    (&["--serverinfo"], "--server-info"),
    (&["--auth-user", "-au"], "log in as a user with --user NAME"),
    (
        &[
            "--auth-password",
            "--password",
            "--passwd",
            "--pass",
            "--pw",
            "-ap",
        ],
        "no option takes a password: use SMTPSEND_PASSWORD, --password-file or --password-command",
    ),
    (&["--passwordeval"], "--password-command COMMAND"),
    (
        &["--mail-from"],
        "the envelope sender alone is --envelope-from ADDR (--from sets From: too)",
    ),
    (
        &["--mail-rcpt"],
        "envelope recipients are arguments: smtpsend ADDR… < message.eml",
    ),
    (
        &["--upload-file", "-T"],
        "a complete message is read from stdin: smtpsend ADDR… < message.eml",
    ),
    (
        &["-S"],
        "mailx's -S sets a variable; smtpsend takes options",
    ),
    (
        &["--tls-on-connect", "--tlsc"],
        "implicit TLS is --tls implicit (or smtps://)",
    ),
    (
        &["--ssl-reqd", "--ssl"],
        "STARTTLS, required, is --tls starttls",
    ),
    (
        &["--insecure", "-k"],
        "--insecure-skip-verify (prints a warning)",
    ),
    (&["--ehlo"], "the EHLO name is --ehlo-name NAME"),
    (
        &["--quit-after"],
        "--check connects, says EHLO, logs in if asked, and quits",
    ),
    (
        &["--protocol"],
        "LMTP is --lmtp; otherwise the protocol follows --server (smtp://, smtps://, lmtp://)",
    ),
];

/// The smtpsend way of saying an option of another mail tool, when `argument` is one.
fn foreign_hint(argument: &str) -> Option<&'static str> {
    let name = argument.split('=').next().unwrap_or(argument);
    FOREIGN
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(_, hint)| *hint)
}
