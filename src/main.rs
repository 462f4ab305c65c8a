//! The `smtpsend` binary: parse, run, print `smtpsend: <error>`, exit with its code.

use std::process::ExitCode;

use clap::Parser;
use smtpsend::{app, cli::Cli, exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::Kind::Usage.code()
            } else {
                0
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match app::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("smtpsend: {}", exit::one_line(&err));
            ExitCode::from(exit::code_for(&err))
        }
    }
}
