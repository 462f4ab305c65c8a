//! Which password source a run uses: the command line's, the environment's, the account's
//! or the terminal.

use super::*;

/// Where the password comes from, and the setting that said so: `--password-file` or
/// `--password-command`, else `SMTPSEND_PASSWORD` (an error when it is not UTF-8), else the
/// account, else the terminal.
pub(in crate::plan) fn password_choice(
    cli: &crate::cli::Cli,
    account: &crate::plan::config::Account,
    from_account: &dyn Fn() -> crate::plan::table::Source,
) -> anyhow::Result<(PasswordSource, String)> {
    if let Some(path) = &cli.password_file {
        return Ok((PasswordSource::File(path.clone()), "--password-file".into()));
    }
    if let Some(command) = &cli.password_command {
        return Ok((
            PasswordSource::Command(command.clone()),
            "--password-command".into(),
        ));
    }
    if let Some(source) = password_from_env()? {
        return Ok((source, PASSWORD_VAR.into()));
    }
    Ok(match password_source(account) {
        Some(source) => (source, from_account().to_string()),
        None => (
            PasswordSource::Prompt,
            crate::plan::table::Source::Default.to_string(),
        ),
    })
}

/// The account's password source (the file allows at most one of the three keys).
fn password_source(account: &crate::plan::config::Account) -> Option<PasswordSource> {
    if let Some(secret) = &account.password {
        return Some(PasswordSource::Clear(secret.get_ref().clone()));
    }
    if let Some(path) = &account.password_file {
        return Some(PasswordSource::File(expand_home(path.get_ref())));
    }
    account
        .password_command
        .as_ref()
        .map(|command| PasswordSource::Command(command.get_ref().clone()))
}

/// `~/…` in a path from the configuration file is the home directory.
pub(in crate::plan) fn expand_home(path: &std::path::Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) if !home.is_empty() => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}
