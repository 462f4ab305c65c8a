//! The `smtpsend` binary: parse, run, print `smtpsend: <error>`, exit with its code.

use std::process::ExitCode;

use smtpsend::{app, cli, exit, interrupt};

/// Keeps a password this process holds out of core files and away from other processes,
/// before any is read: the core file size limit is 0, soft and hard (children inherit it),
/// and the process is not dumpable (PR_SET_DUMPABLE 0: with the default fs.suid_dumpable
/// no core is written even when core_pattern hands cores to a program, which ignores the
/// limit; /proc/PID/mem and environ and ptrace are closed to processes of the same user).
/// Either call failing leaves the run as it was.
fn keep_secrets_in_memory() {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit(2) with a valid rlimit; prctl(2) PR_SET_DUMPABLE takes plain
    // integers. Neither touches memory of ours besides `none`.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    keep_secrets_in_memory();
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
    let code = match app::run(cli) {
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
