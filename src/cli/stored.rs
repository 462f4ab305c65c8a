//! The options a queued message keeps (those that choose and reach the server), and parsing them back when the message is sent from the outbox.

use super::*;

/// Options about this run, which a queued message does not keep (besides the message
/// options and the other commands). Every other option given is kept, so options added
/// later for reaching the server go with queued messages without a change here. The account
/// is kept by name separately.
pub(super) const RUN_OPTIONS: [&str; 20] = [
    "from",
    "parallel",
    "window",
    "max_time",
    "max_input_size",
    "debug",
    "json",
    "generate",
    "version",
    "help",
    "queue",
    "retries",
    "account",
    "verify",
    "expn",
    "server_info",
    "check",
    "log_file",
    "check_aliases",
    "oauth2_login",
];

/// True for an option a queued message does not keep.
pub(super) fn not_kept(id: &str) -> bool {
    [&MESSAGE_OPTIONS[..], &OTHER_COMMANDS, &RUN_OPTIONS]
        .iter()
        .any(|ids| ids.contains(&id))
}

/// The options given on the command line or through `SMTPSEND_*` that a queued message
/// keeps, as `--name=value` (a flag as `--name`). Never a secret: an option whose name
/// says password, other than a file or command that yields one, is left out.
pub(super) fn server_options(command: &clap::Command, matches: &clap::ArgMatches) -> Vec<String> {
    use clap::parser::ValueSource;
    let mut options = Vec::new();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        let secret = ["password", "secret", "token"]
            .iter()
            .any(|word| id.contains(word))
            && !(id.ends_with("_file") || id.ends_with("_command"));
        let (Some(long), false, false) = (arg.get_long(), not_kept(id), secret) else {
            continue;
        };
        if !matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        match arg.get_action() {
            ArgAction::SetTrue => options.push(format!("--{long}")),
            ArgAction::Count => {
                for _ in 0..matches.get_count(id) {
                    options.push(format!("--{long}"));
                }
            }
            _ => {
                for value in matches.get_raw(id).into_iter().flatten() {
                    options.push(format!("--{long}={}", value.to_string_lossy()));
                }
            }
        }
    }
    options
}

/// Parses options a queued message kept ([`Cli::server_options`] plus `--account=NAME`).
/// `SMTPSEND_*` variables are not read: the options already hold those that applied.
pub fn parse_stored(options: &[String]) -> Result<Cli, clap::Error> {
    let mut command = command().mut_args(|arg| arg.env(None::<&str>));
    command.build();
    let args = std::iter::once("smtpsend".to_string()).chain(options.iter().cloned());
    let matches = command.try_get_matches_from_mut(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.server_options = options.to_vec();
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-kept lists of option ids name real options: a typo would otherwise make an
    /// option silently kept with a queued message (or not).
    #[test]
    fn every_listed_id_is_an_option() {
        let mut command = crate::cli::command();
        command.build();
        let ids: Vec<&str> = command
            .get_arguments()
            .map(|arg| arg.get_id().as_str())
            .collect();
        for id in RUN_OPTIONS
            .iter()
            .chain(&crate::cli::MESSAGE_OPTIONS)
            .chain(&crate::cli::OTHER_COMMANDS)
        {
            assert!(ids.contains(id), "{id} is no option");
        }
    }
}
