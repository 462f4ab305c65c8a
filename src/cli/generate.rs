//! The man page and shell completion scripts, generated from the clap definition
//! (`--generate man|bash|zsh|fish|elvish|powershell`). The output carries no date, so the
//! committed copies in man/ and completions/ can be checked for drift by a test.

use std::io::{self, Write};

use clap_complete::Shell;
use clap_mangen::Man;
use roff::{Roff, bold, italic, roman};

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The man page, smtpsend(1), in roff
    Man,
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    /// The names of the configuration file's accounts, one a line (what the completions
    /// offer for --account)
    Accounts,
    /// The ids in the outbox, one a line (for --drop-queue)
    QueueIds,
    /// Server forms and the accounts' servers, one a line (for --server)
    Servers,
}

/// The options whose values the completions ask smtpsend for when the user presses Tab, and
/// the `--generate` target that prints them.
const ASKED: [(&str, &str); 3] = [
    ("account", "accounts"),
    ("drop-queue", "queue-ids"),
    ("server", "servers"),
];

/// Options whose value is no file: the completions offer nothing (or what smtpsend prints,
/// see [`ASKED`]) rather than file names.
const NOT_FILES: [&str; 31] = [
    "from",
    "from_name",
    "envelope_from",
    "to",
    "cc",
    "bcc",
    "reply_to",
    "subject",
    "headers",
    "body",
    "dsn_envid",
    "server",
    "user",
    "password_command",
    "qualify_domain",
    "ehlo_name",
    "source_address",
    "drop_queue",
    "verify",
    "expn",
    "account",
    "recipients",
    "setup",
    "attach_name",
    "attach_type",
    "in_reply_to",
    "references",
    "message_id",
    "tls_fingerprint",
    "tls_server_name",
    "proxy",
];

/// Writes the man page or a completion script; the man page lists `account_keys`, the keys
/// an account of the configuration file may have.
pub fn write(target: Target, account_keys: &[&str], out: &mut dyn Write) -> io::Result<()> {
    let mut command = completion_command();
    let shell = match target {
        Target::Man => return man_page(account_keys, out),
        Target::Bash => Shell::Bash,
        Target::Zsh => Shell::Zsh,
        Target::Fish => Shell::Fish,
        Target::Elvish => Shell::Elvish,
        Target::Powershell => Shell::PowerShell,
        Target::Accounts | Target::QueueIds | Target::Servers => {
            return Err(io::Error::other("the candidates are printed by the runner"));
        }
    };
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut command, "smtpsend", &mut buffer);
    let script = String::from_utf8_lossy(&buffer);
    out.write_all(ask_smtpsend(shell, &script).as_bytes())
}

/// The script with the values of [`ASKED`] options read from `smtpsend --generate …` when
/// the user completes them (account names, outbox ids, servers differ from one machine to
/// the next, so no script could hold them).
fn ask_smtpsend(shell: Shell, script: &str) -> String {
    let mut script = script.to_string();
    for (long, what) in ASKED {
        let values = format!("smtpsend --generate {what} 2>/dev/null");
        script = match shell {
            Shell::Bash => script.replace(
                &format!("--{long})\n                    COMPREPLY=(\"${{cur}}\")"),
                &format!(
                    "--{long})\n                    COMPREPLY=($(compgen -W \"$({values})\" -- \"${{cur}}\"))"
                ),
            ),
            Shell::Zsh => rewrite_lines(&script, &format!("--{long}=["), |line| {
                line.replacen(":'", &format!(":{{compadd -- $({values})}}'"), 1)
            }),
            Shell::Fish => rewrite_lines(&script, &format!("-l {long} "), |line| {
                line.replacen(" -r -f", &format!(" -r -f -a \"({values})\""), 1)
            }),
            _ => script,
        };
    }
    script
}

/// `script` with `change` applied to each line that contains `marker`.
fn rewrite_lines(script: &str, marker: &str, change: impl Fn(&str) -> String) -> String {
    script
        .split_inclusive('\n')
        .map(|line| match line.contains(marker) {
            true => change(line),
            false => line.to_string(),
        })
        .collect()
}

/// The command as completions offer it: without the hidden `--generate` (clap_complete
/// offers hidden options too), which is for packagers, not for typing.
fn completion_command() -> clap::Command {
    let full = super::command();
    let mut command = clap::Command::new("smtpsend")
        .disable_version_flag(true)
        .disable_help_flag(true)
        .version(env!("CARGO_PKG_VERSION"));
    if let Some(about) = full.get_about() {
        command = command.about(about.clone());
    }
    // The derive's own group (named after the struct) lists every argument, `generate`
    // too; completions do not need it.
    for group in full.get_groups().filter(|group| group.get_id() != "Cli") {
        command = command.group(group.clone());
    }
    for arg in full.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "generate" {
            continue;
        }
        let mut arg = arg.clone();
        if NOT_FILES.contains(&id) {
            arg = arg.value_hint(clap::ValueHint::Other);
        }
        command = command.arg(arg);
    }
    command
}

/// Variables read directly rather than through an option's `env`.
const OTHER_ENVIRONMENT: &[(&str, &str)] = &[
    (
        "SMTPSEND_PASSWORD",
        "The password (or OAuth token) for --user, unless --password-file or \
         --password-command is given. No option takes a password: argv is visible to every user.",
    ),
    (
        "XDG_CONFIG_HOME",
        "Where the configuration file is looked for: $XDG_CONFIG_HOME/smtpsend/config.toml \
         (default ~/.config/smtpsend/config.toml).",
    ),
    (
        "XDG_STATE_HOME",
        "Where the outbox is kept: $XDG_STATE_HOME/smtpsend/queue (default \
         ~/.local/state/smtpsend/queue).",
    ),
    (
        "HOME",
        "Used for the configuration file and outbox paths when XDG_CONFIG_HOME or \
         XDG_STATE_HOME is unset.",
    ),
    (
        "LOGNAME, USER",
        "The login name for the default sender, login@host, when no sender is given.",
    ),
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "Compose a message with an attachment:",
        "echo \"build 1432 failed\" | smtpsend --server relay.internal --from ci@example.com \
         --to ops@example.com --subject \"CI: failed\" --attach build.log",
    ),
    (
        "Send a complete message, recipients taken from its headers:",
        "smtpsend -t < message.eml",
    ),
    (
        "Called as sendmail, the way cron calls it:",
        "sendmail -FCronDaemon -i -B8BITMIME -oem user@example.com < report",
    ),
    (
        "Use the account named work from the configuration file:",
        "smtpsend --account work --to you@example.com --body hi",
    ),
    (
        "See the effective settings and the protocol exchange:",
        "smtpsend --show-config; smtpsend -d --to you@example.com --body hi",
    ),
    (
        "What a server offers: its extensions explained and its TLS certificate:",
        "smtpsend --server smtp.example.com:587 --server-info",
    ),
    (
        "A health check for CI (connect, EHLO, NOOP, QUIT; exit 0 when all worked):",
        "smtpsend --server relay.internal --check || echo \"relay down: exit $?\"",
    ),
    (
        "Ask whether the server knows an address (exit 0, 67 unknown, 69 VRFY refused):",
        "smtpsend --server mx.example.com --verify jane@example.com",
    ),
];

fn man_page(account_keys: &[&str], out: &mut dyn Write) -> io::Result<()> {
    let command = super::plain_command();
    let env_options: Vec<(String, String)> = command
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .filter_map(|arg| {
            let env = arg.get_env()?.to_string_lossy().into_owned();
            let long = arg.get_long()?;
            Some((env, format!("Same as --{long}.")))
        })
        .collect();
    let man = Man::new(command).date("");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    synopsis(&command_for_synopsis()).to_writer(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let mut roff = Roff::new();
    sendmail_section(&mut roff);
    exit_status_section(&mut roff);
    environment_section(&mut roff, &env_options);
    files_section(&mut roff, account_keys);
    examples_section(&mut roff);
    roff.to_writer(&mut page)?;
    out.write_all(single_preamble(&String::from_utf8_lossy(&page)).as_bytes())
}

fn sendmail_section(roff: &mut Roff) {
    roff.control("SH", ["SENDMAIL COMPATIBILITY"]);
    roff.text([roman(
        "smtpsend can be installed as sendmail (ln -s /usr/bin/smtpsend /usr/sbin/sendmail); \
         the name it is called by does not change what it does. sendmail's options are read \
         as sendmail reads them: letters may be grouped (-ti) and a value may be attached \
         (-FName, -faddr) or follow as the next word. -t, -f, -r, -F, -B, -N, -R, -V and -v \
         work as in sendmail; -i, -oi, -oem, -odi and every other -o option, -bm, -m, -n, -U, \
         -G, -O, -L, -X and -hN are accepted and ignored; -bp lists the outbox (as \
         --list-queue) and -q delivers it (as --flush-queue); -bs, -bd, -bi and -I are \
         refused with exit status 64. -- ends the options.",
    )]);
    roff.control("PP", []);
    roff.text([roman(
        "With -t the recipients are those of the To, Cc and Bcc fields, or of the most recent \
         Resent-* block when the message has one; recipient arguments are added to them. Bcc \
         and Resent-Bcc fields are removed before the message is sent.",
    )]);
}

/// The exit codes, from their one source.
fn exit_status_section(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in crate::base::exit::table() {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(format!("{}.", capitalised(meaning)))]);
    }
}

/// Every option's variable, and the variables read directly.
fn environment_section(roff: &mut Roff, env_options: &[(String, String)]) {
    roff.control("SH", ["ENVIRONMENT"]);
    roff.text([roman(
        "Settings are taken from options first, then SMTPSEND_* variables, then the selected \
         account of the configuration file, then built-in defaults (server localhost:25).",
    )]);
    for (name, meaning) in env_options
        .iter()
        .map(|(name, meaning)| (name.as_str(), meaning.as_str()))
        .chain(OTHER_ENVIRONMENT.iter().copied())
    {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(meaning)]);
    }
}

fn files_section(roff: &mut Roff, account_keys: &[&str]) {
    roff.control("SH", ["FILES"]);
    roff.control("TP", []);
    roff.text([italic("$XDG_CONFIG_HOME/smtpsend/config.toml")]);
    roff.text([roman(format!(
        "The configuration file (~/.config/smtpsend/config.toml when XDG_CONFIG_HOME is \
         unset): a default account name and named accounts with the keys {}. An \
         account is used when named by --account, when the sender matches its from \
         (wildcards such as *@example.com allowed), or when it is the default. A file \
         holding a password must be readable by its owner only (mode 0600).",
        english_list(account_keys)
    ))]);
    roff.control("TP", []);
    roff.text([italic("$XDG_STATE_HOME/smtpsend/queue")]);
    roff.text([roman(
        "The outbox (~/.local/state/smtpsend/queue when XDG_STATE_HOME is unset), mode \
         0700: messages kept by --queue, each as ID.eml (the exact bytes to send) and \
         ID.json (envelope, options, attempts, last error). smtpsend -q sends them, \
         --list-queue (-bp) lists them, --drop-queue ID removes one.",
    )]);
    roff.control("SS", ["Example configuration"]);
    roff.control("nf", []);
    roff.control("RS", ["4"]);
    for line in EXAMPLE_CONFIG.lines() {
        roff.text([roman(line)]);
    }
    roff.control("RE", []);
    roff.control("fi", []);
}

/// The example configuration file the man page shows (a test checks that it is valid).
pub const EXAMPLE_CONFIG: &str = include_str!("../../docs/config.example.toml");

fn examples_section(roff: &mut Roff) {
    roff.control("SH", ["EXAMPLES"]);
    for (what, example) in EXAMPLES {
        roff.control("PP", []);
        roff.text([roman(*what)]);
        roff.control("RS", ["4"]);
        roff.text([bold(*example)]);
        roff.control("RE", []);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("sendmail"),
        roman("(8), "),
        bold("msmtp"),
        roman("(1), "),
        bold("swaks"),
        roman("(1)"),
    ]);
}

/// `a, b and c`.
fn english_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Each rendered piece starts with roff's apostrophe preamble; the page needs it once.
fn single_preamble(page: &str) -> String {
    let preamble = Roff::new().render();
    match page.split_once(preamble.as_str()) {
        Some((before, after)) => format!("{before}{preamble}{}", after.replace(&preamble, "")),
        None => page.to_string(),
    }
}

/// The forms of the command, then every option with its value: `[-f|--from ADDR]`.
fn synopsis(command: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    for (form, what) in FORMS {
        let (form, what) = (form.to_string(), what.to_string());
        roff.text([bold("smtpsend"), roman(" "), roman(form)]);
        roff.control("br", []);
        roff.text([italic(what)]);
        roff.control("PP", []);
    }
    roff.text([roman("Options:")]);
    roff.control("br", []);
    let mut line = Vec::new();
    for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
        let Some(long) = arg.get_long() else { continue };
        let names = match arg.get_short() {
            Some(short) => format!("-{short}|--{long}"),
            None => format!("--{long}"),
        };
        line.push(roman("["));
        line.push(bold(names));
        if arg.get_action().takes_values() {
            let value = arg
                .get_value_names()
                .and_then(|names| names.first())
                .map_or("VALUE".to_string(), |name| name.to_string());
            line.push(roman(" "));
            line.push(italic(value));
        }
        line.push(roman("] "));
    }
    roff.text(line);
    roff
}

/// The command the synopsis describes (help and version included).
fn command_for_synopsis() -> clap::Command {
    let mut command = super::command();
    command.build();
    command
}

/// The ways smtpsend is called, for the synopsis.
const FORMS: [(&str, &str); 5] = [
    (
        "[OPTIONS] --to ADDR... [--subject TEXT] [--body TEXT | --body-file PATH] [-a PATH]...",
        "compose a message (the body from stdin unless given)",
    ),
    (
        "[OPTIONS] [-t] RECIPIENT... < message",
        "send a complete message, as sendmail does",
    ),
    (
        "[OPTIONS] --bulk PATH...",
        "send the complete messages in files over one connection",
    ),
    (
        "-q | --list-queue | --drop-queue ID",
        "deliver, list or remove what the outbox keeps",
    ),
    (
        "--server-info | --check | --verify ADDR | --expn LIST [OPTIONS]",
        "ask the server, send nothing",
    ),
];

/// `text` with its first letter in upper case, as a sentence in the man page starts.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
