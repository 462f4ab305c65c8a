//! Writing to stdout without panicking when the reader has gone (`| head`).

use std::io::Write;

/// Writes bytes to stdout; a closed pipe is ignored (the reader chose to stop).
pub fn print_stdout(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}
