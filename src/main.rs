//! The `smtpsend` binary: parse what was typed, plan, run, exit with the code the outcome
//! decides (see docs/ARCHITECTURE.md).

use std::process::ExitCode;

use smtpsend::base::{interrupt, output, secret};
use smtpsend::{cli, plan, report, run};

fn main() -> ExitCode {
    secret::keep_out_of_dumps();
    interrupt::mark_start();
    output::route_panics();
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => return ExitCode::from(cli::conclude(&err)),
    };
    let json = cli.json;
    let code = report::conclude(plan::plan(cli).and_then(run::run), json);
    // A send stopped by Ctrl-C or SIGTERM (its message kept in the outbox) dies of it.
    interrupt::die_if_stopped();
    ExitCode::from(code)
}
