//! Where the settings come from besides the command line: the configuration files (the
//! user's, and the system file beneath it) and the account chosen in them, each shown by
//! `--show-config` with what named it.

use super::*;

/// The configuration files of a run and the account chosen in them.
pub(in crate::plan) struct Sourced {
    pub files: Files,
    pub chosen: Option<Chosen>,
}

impl Sourced {
    /// Loads both files and chooses the account (`sender` may pick it by its `from`).
    pub fn load(cli: &Cli, sender: Option<&str>) -> anyhow::Result<Sourced> {
        let files = Files::load(config_location(cli))?;
        let chosen = choose_account(cli, &files, sender)?;
        Ok(Sourced { files, chosen })
    }

    /// The `--show-config` lines of the files and the account.
    pub fn show(&self, picker: &mut Picker) {
        let files = &self.files;
        match &files.user_location {
            Some((location, source)) => {
                let state = if files.user.is_some() {
                    ""
                } else {
                    ", not found"
                };
                let path = location.path.display().to_string();
                let typed = path.clone().into();
                picker.show("config", path, typed, format!("{source}{state}"));
            }
            None => picker.show("config", "(none)".into(), Value::Null, "no HOME".into()),
        }
        let (location, source) = &files.system_location;
        let state = if files.system.is_some() {
            ""
        } else {
            ", not found"
        };
        let path = location.path.display().to_string();
        let typed = path.clone().into();
        picker.show("system-config", path, typed, format!("{source}{state}"));
        match &self.chosen {
            Some(chosen) => picker.show(
                "account",
                chosen.name.clone(),
                chosen.name.as_str().into(),
                chosen.reason.clone(),
            ),
            None => picker.show("account", "(none)".into(), Value::Null, "default".into()),
        }
        if let Some(spool) = files.spool() {
            let path = spool.display().to_string();
            let typed = path.clone().into();
            let source = format!("{}: for users without a home", location.path.display());
            picker.show("spool", path, typed, source);
        }
    }
}

/// The configuration file's account for this run: named by `--account` (or
/// `SMTPSEND_ACCOUNT`), else picked by the sender, else the default; an account named when
/// neither file exists is an error (78).
fn choose_account(
    cli: &Cli,
    files: &Files,
    sender: Option<&str>,
) -> anyhow::Result<Option<Chosen>> {
    let account_source = table::option_source(cli, "--account", "SMTPSEND_ACCOUNT").label();
    let named = cli.account.as_deref();
    if let (true, Some(name)) = (files.none(), named) {
        let user = files.user_location.as_ref().map_or_else(
            || "HOME is not set".to_string(),
            |(location, _)| format!("{} does not exist", location.path.display()),
        );
        let system = files.system_location.0.path.display();
        return Err(fail(
            Kind::Config,
            format!("{account_source} {name:?}: no configuration file ({user}, nor does {system})"),
        ));
    }
    files.choose(named.map(|name| (name, account_source)), sender)
}

/// The user's configuration file to read, and what named it.
pub(in crate::plan) fn config_location(cli: &Cli) -> Option<(Location, &'static str)> {
    match &cli.config {
        Some(path) => Some((
            Location {
                path: path.clone(),
                explicit: true,
                system: false,
            },
            table::option_source(cli, "--config", "SMTPSEND_CONFIG").label(),
        )),
        None => config::default_path().map(|path| {
            (
                Location {
                    path,
                    explicit: false,
                    system: false,
                },
                "default location",
            )
        }),
    }
}
