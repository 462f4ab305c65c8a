//! The `smtpsend` binary: parse, run, print `smtpsend: <error>`, exit with its code.

use std::process::ExitCode;

use smtpsend::{base::exit, base::interrupt, cli, run};

fn main() -> ExitCode {
    smtpsend::base::secret::keep_out_of_dumps();
    interrupt::mark_start();
    smtpsend::base::output::route_panics();
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            smtpsend::say!("smtpsend: {} (see --help)", cli::one_line(&err));
            return ExitCode::from(exit::Kind::Usage.code());
        }
    };
    let code = match run::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            smtpsend::say!("smtpsend: {}", exit::one_line(&err));
            ExitCode::from(exit::code_for(&err))
        }
    };
    // A send stopped by Ctrl-C or SIGTERM (its message kept in the outbox) dies of it.
    interrupt::die_if_stopped();
    code
}
