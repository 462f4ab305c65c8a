//! The help as people read it: the options under headings (message, recipients, server and
//! TLS, …) in `-h` and `--help` alike; `-h` short, one line an option, the rarely needed
//! ones left to `--help`, four examples at the end; `--help` the full text.

use clap::Command;

/// Each option's heading, in the order the headings are shown.
const HEADINGS: [(&str, &[&str]); 8] = [
    (
        "Message",
        &[
            "from",
            "from_name",
            "subject",
            "headers",
            "body",
            "body_file",
            "html",
            "markdown",
            "markdown_allow_html",
            "attachments",
            "inline",
            "attach_name",
            "attach_type",
            "in_reply_to",
            "references",
            "priority",
            "message_id",
            "raw",
            "bulk",
            "max_input_size",
        ],
    ),
    (
        "Recipients",
        &[
            "recipients",
            "to",
            "cc",
            "bcc",
            "reply_to",
            "read_recipients",
            "envelope_from",
        ],
    ),
    (
        "Server and TLS",
        &[
            "server",
            "lmtp",
            "tls",
            "tls_ca_file",
            "tls_cert",
            "tls_key",
            "insecure_skip_verify",
            "tls_fingerprint",
            "tls_min_version",
            "tls_server_name",
            "proxy",
            "ehlo_name",
            "source_address",
            "timeout",
            "no_chunking",
        ],
    ),
    (
        "Login",
        &[
            "user",
            "auth",
            "password_file",
            "password_command",
            "oauth2_login",
        ],
    ),
    (
        "Delivery and outbox",
        &[
            "partial",
            "retries",
            "max_time",
            "parallel",
            "window",
            "queue",
            "flush_queue",
            "list_queue",
            "drop_queue",
            "dsn_notify",
            "dsn_return",
            "dsn_envid",
        ],
    ),
    ("Probes", &["verify", "expn", "server_info", "check"]),
    (
        "Output and configuration",
        &[
            "debug",
            "dry_run",
            "json",
            "config",
            "account",
            "setup",
            "show_config",
            "log_file",
            "version",
            "help",
        ],
    ),
    (
        "Sendmail compatibility",
        &["body_type", "qualify_domain", "check_aliases"],
    ),
];

/// What `-h` shows of an option (`--help` shows its whole text); options not here are shown
/// by `--help` only.
const SHORT: [(&str, &str); 36] = [
    ("from", "Sender, for the envelope and From:"),
    ("subject", "Subject: line"),
    ("headers", "Extra header field; repeatable"),
    ("body", "Body text (else stdin)"),
    ("body_file", "Body text from a file"),
    ("html", "HTML part from a file"),
    ("markdown", "HTML part made from Markdown"),
    ("attachments", "Attach a file; repeatable"),
    ("raw", "Stdin is a complete message"),
    ("bulk", "Send each message file over one connection"),
    (
        "recipients",
        "Recipients (envelope, and To: when composing)",
    ),
    ("to", "To: recipient; repeatable"),
    ("cc", "Cc: recipient; repeatable"),
    ("bcc", "Blind copy (envelope only); repeatable"),
    ("read_recipients", "Recipients from the message's header"),
    (
        "server",
        "Server: HOST[:PORT], smtps://HOST, lmtp://, /socket",
    ),
    ("tls", "When to use TLS"),
    ("tls_ca_file", "Trust only these CA certificates"),
    ("timeout", "Deadline for each wait, in seconds"),
    ("user", "Log in as this user"),
    ("auth", "SASL mechanism (default: the strongest)"),
    ("password_file", "Password from the first line of a file"),
    ("password_command", "Password from a command's first line"),
    ("partial", "Send when some recipients are accepted"),
    ("retries", "Try again after a temporary failure"),
    ("queue", "Keep messages that cannot go now"),
    ("flush_queue", "Deliver the outbox"),
    ("list_queue", "List the outbox"),
    ("server_info", "Show what the server offers"),
    ("check", "Connect, log in, quit: a health check"),
    ("debug", "Protocol transcript on stderr (-dd, -ddd)"),
    ("dry_run", "Show the message; send nothing"),
    ("json", "The outcome as JSON on stdout"),
    ("account", "Use this account of the config file"),
    ("setup", "Set up an account here, step by step"),
    ("help", "Print help (--help for all options)"),
];

/// The examples at the end of `-h`.
const EXAMPLES: &str = "\
Examples:
  echo failed | smtpsend --to ops@example.com -s 'CI: failed' -a build.log
  smtpsend --server smtp.example.com:587 --user me --to you@x.org --body hi
  smtpsend -t < message.eml                      # as sendmail does
  smtpsend --setup me@example.com                # a first account, step by step";

/// The command with every option under its heading (for `--help` and the man page).
pub fn with_headings(mut command: Command) -> Command {
    for (heading, ids) in HEADINGS {
        for id in ids {
            command = command.mut_arg(*id, |arg| arg.help_heading(heading));
        }
    }
    command
}

/// The command as `-h` shows it: one short line an option, the rare ones and the
/// environment variables left to `--help`, examples at the end.
pub fn short(command: Command) -> Command {
    let mut command = command;
    let ids: Vec<String> = command
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    for id in ids {
        let short = SHORT.iter().find(|(known, _)| *known == id);
        command = command.mut_arg(&id, |arg| match short {
            Some((_, text)) => {
                let takes_value = arg.get_action().takes_values();
                arg.help(*text)
                    .hide_env(true)
                    .hide_possible_values(takes_value)
            }
            None => arg.hide_short_help(true),
        });
    }
    command.after_help(EXAMPLES)
}

/// True when the command line asks for the short help (`-h`, alone or among other options).
pub fn wants_short(args: &[std::ffi::OsString]) -> bool {
    args.iter().skip(1).any(|arg| arg == "-h")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option is under a heading: an option added without one would be shown apart.
    #[test]
    fn every_option_has_a_heading() {
        let command = crate::cli::command();
        let placed: Vec<&str> = HEADINGS
            .iter()
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
            let id = arg.get_id().as_str();
            assert!(placed.contains(&id), "{id} has no heading in cli/help.rs");
        }
        for (id, _) in SHORT {
            assert!(
                placed.contains(&id),
                "{id} in SHORT is no option with a heading"
            );
        }
    }
}
