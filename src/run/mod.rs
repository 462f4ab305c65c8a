//! Doing what the plan says: one runner per kind of plan, the one batch loop they share,
//! and the outbox. A runner reports through `report`; its error decides the exit code.
//!
//! May import `plan`, `report`, `smtp`, `message` and `base`; nothing imports it but
//! `main`.

pub mod batch;
pub mod bulk;
pub mod deliver;
pub mod flush;
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
        Plan::ListQueue { json } => queue::list(json),
        Plan::DropQueue { ids } => queue::drop_entries(&ids),
        Plan::Flush(plan) => flush::flush(plan),
        Plan::OAuth2Login(oauth) => login::run(&oauth),
        Plan::Probe(plan) => probe::run(*plan),
        Plan::Bulk(plan) => bulk::run(*plan),
        Plan::Send(plan) => send::run(*plan),
        Plan::Setup(setup) => setup::run(setup),
    }
}
