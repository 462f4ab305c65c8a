//! Writing to stdout and stderr without panicking when the reader has gone (`| head`,
//! `2>&1 | head -c1`): the exit code must tell what happened to the mail, not to the output.

use std::io::Write;

/// Writes bytes to stdout; a closed pipe is ignored (the reader chose to stop).
pub fn print_stdout(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}

/// Writes one line to stderr; a closed pipe is ignored. Use through [`say!`](crate::say).
pub fn print_stderr_line(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `eprintln!` that does not panic when stderr is a pipe whose reader has gone.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::print_stderr_line(format_args!($($arg)*))
    };
}
