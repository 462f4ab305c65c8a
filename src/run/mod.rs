//! Doing what the plan says: one runner per kind of plan, the one batch loop they share,
//! and the outbox. A runner reports through `report`; its error decides the exit code.
//!
//! May import `plan`, `report`, `smtp`, `message` and `base`; nothing imports it but
//! `main`.

pub mod batch;
pub mod bulk;
pub mod deliver;
pub mod entries;
pub mod flush;
pub mod journal;
pub mod login;
pub mod outbox;
pub mod prepare;
pub mod probe;
pub mod queue;
pub mod send;
pub mod setup;

use crate::plan::Plan;

/// Runs the plan; the error, if any, decides the exit code (see [`crate::report::conclude`]).
pub fn run(plan: Plan) -> anyhow::Result<()> {
    match plan {
        Plan::Candidates(values) => {
            let text: String = values.iter().map(|value| format!("{value}\n")).collect();
            crate::base::output::print_stdout(&text);
            Ok(())
        }
        Plan::Generate(crate::cli::generate::Target::QueueIds) => queue::print_ids(),
        Plan::Generate(target) => {
            let mut text = Vec::new();
            crate::cli::generate::write(target, crate::plan::config::account_keys(), &mut text)?;
            crate::base::output::print_stdout(&String::from_utf8_lossy(&text));
            Ok(())
        }
        Plan::ShowConfig { settings, json } => {
            if json {
                crate::base::output::print_json(&settings.show_json());
            } else {
                crate::base::output::print_stdout(&settings.show());
            }
            Ok(())
        }
        Plan::CheckAliases { settings } => check_aliases(&settings),
        Plan::ListQueue {
            place,
            reroute,
            json,
        } => queue::list(&place, reroute.as_ref(), json),
        Plan::DropQueue { place, ids } => queue::drop_entries(&place, &ids),
        Plan::Flush(plan) => flush::flush(plan),
        Plan::OAuth2Login(oauth) => login::run(&oauth),
        Plan::Probe(plan) => probe::run(*plan),
        Plan::Bulk(plan) => bulk::run(*plan),
        Plan::Send(plan) => send::run(*plan),
        Plan::Setup(setup) => setup::run(setup),
    }
}

/// `--check-aliases` (`newaliases`, `-bi`): reads the account's alias file, expands every
/// name (a loop is an error, 78) and prints what each stands for. Without an alias file
/// there is nothing to check, which is no failure (package scripts call `newaliases`).
fn check_aliases(settings: &crate::plan::Settings) -> anyhow::Result<()> {
    let Some(aliases) = settings.load_aliases()? else {
        crate::base::output::print_stdout(
            "no alias file is configured (aliases = \"/etc/aliases\" in the account), so \
             local names go as they are; nothing to check\n",
        );
        return Ok(());
    };
    let mut out = String::new();
    for entry in &aliases.entries {
        let addresses = aliases.expand(&entry.name)?;
        out.push_str(&format!("{}: {}\n", entry.name, addresses.join(", ")));
    }
    let count = aliases.entries.len();
    let noun = if count == 1 { "alias" } else { "aliases" };
    out.push_str(&format!(
        "{count} {noun} in {}, none loops\n",
        aliases.path.display()
    ));
    crate::base::output::print_stdout(&out);
    Ok(())
}
