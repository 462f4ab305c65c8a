//! The outbox commands as planned (`-q`, `--list-queue`, `--drop-queue`): where the outbox
//! is, and the way `-q` sends its entries. Each entry goes where it was queued for, with the
//! options it kept, unless `-q` is given `--server` or `--account`: then every entry goes
//! that way (with the other server options given). An option these commands have no use for
//! is refused (64), never silently ignored.

use std::path::PathBuf;

use crate::base::exit::{Kind, fail};
use crate::cli::Cli;
use crate::plan::{Flush, Output, Plan, SettingsResolver, StoredResolver, table};

/// Where the outbox is looked for: the home, else the system file's spool.
#[derive(Debug, Clone, Default)]
pub struct OutboxPlace {
    pub spool: Option<PathBuf>,
}

/// The plan of an outbox command.
pub(super) fn plan(cli: Cli, output: Output) -> anyhow::Result<Plan> {
    let command = if cli.flush_queue {
        "-q"
    } else if cli.list_queue {
        "--list-queue"
    } else {
        "--drop-queue"
    };
    if let Some(option) = message_option(&cli) {
        return Err(fail(
            Kind::Usage,
            format!(
                "{command} works on messages already queued, each as it was queued; {option} \
                 is for sending a new one"
            ),
        ));
    }
    let route = route_options(&cli);
    let rerouted = given(&cli, "server", cli.server.is_some())
        || given(&cli, "account", cli.account.is_some());
    match (route.first(), rerouted, command) {
        (Some(option), _, "--drop-queue") | (Some(option), false, _) => {
            return Err(fail(
                Kind::Usage,
                format!(
                    "{command} {option}: each queued message goes as it was queued; give \
                     --server or --account with -q (or --list-queue) to send them all another \
                     way"
                ),
            ));
        }
        _ => {}
    }
    if rerouted && command == "--drop-queue" {
        return Err(fail(
            Kind::Usage,
            "--drop-queue removes messages without sending them; --server and --account do \
             not apply",
        ));
    }
    let place = OutboxPlace {
        spool: crate::plan::config::Files::load(crate::plan::settings::config_location(&cli))?
            .spool()
            .map(PathBuf::from),
    };
    if !cli.drop_queue.is_empty() {
        return Ok(Plan::DropQueue {
            place,
            ids: cli.drop_queue,
        });
    }
    let stored = stored(&cli, output)?;
    let json = cli.json;
    let flush = cli.flush_queue;
    let reroute = rerouted.then_some(SettingsResolver { cli });
    if !flush {
        return Ok(Plan::ListQueue {
            place,
            reroute,
            json,
        });
    }
    Ok(Plan::Flush(Flush {
        output,
        place,
        stored,
        reroute,
    }))
}

/// How each entry's settings are resolved: from the options it kept, with this run's output
/// options, time bound and log file, and its `--parallel` and `--window` (checked here,
/// before the outbox is read).
fn stored(cli: &Cli, output: Output) -> anyhow::Result<StoredResolver> {
    for (row, value) in [
        (&table::PARALLEL, cli.parallel),
        (&table::WINDOW, cli.window),
    ] {
        if let Some(value) = value {
            (row.check)(&value, &table::option_source(cli, row.flag, row.variable))?;
        }
    }
    Ok(StoredResolver {
        output,
        max_time: cli.max_time,
        log_file: cli.log_file.clone(),
        parallel: cli.parallel,
        window: cli.window,
        from_env: ["parallel", "window"]
            .into_iter()
            .filter(|id| cli.is_from_env(id))
            .map(str::to_string)
            .collect(),
    })
}

/// True when the option with this id was given on the command line (not by its
/// `SMTPSEND_*` variable, which a CI job may set for every step).
fn given(cli: &Cli, id: &str, set: bool) -> bool {
    set && !cli.is_from_env(id)
}

/// The first option given that is about a new message, not queued ones.
fn message_option(cli: &Cli) -> Option<&'static str> {
    [
        ("--from", given(cli, "from", cli.from.is_some())),
        ("--from-name", cli.from_name.is_some()),
        ("--envelope-from", cli.envelope_from.is_some()),
        ("-B", cli.body_type.is_some()),
        ("-N", cli.dsn_notify.is_some()),
        ("-R", cli.dsn_return.is_some()),
        ("-V", cli.dsn_envid.is_some()),
        ("--partial", cli.partial),
        ("--queue", given(cli, "queue", cli.queue.is_some())),
        ("--retries", given(cli, "retries", cli.retries.is_some())),
        (
            "--max-input-size",
            given(cli, "max_input_size", cli.max_input_size.is_some()),
        ),
        (
            "--qualify-domain",
            given(cli, "qualify_domain", cli.qualify_domain.is_some()),
        ),
    ]
    .into_iter()
    .find_map(|(option, set)| set.then_some(option))
}

/// The options given on the command line that choose or reach the server (other than
/// `--server` itself), as `--name`.
fn route_options(cli: &Cli) -> Vec<String> {
    cli.server_options
        .iter()
        .filter_map(|option| {
            let name = option.split('=').next().unwrap_or(option);
            let id = name.trim_start_matches('-').replace('-', "_");
            (id != "server" && !cli.is_from_env(&id)).then(|| name.to_string())
        })
        .collect()
}
