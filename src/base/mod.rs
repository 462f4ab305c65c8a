//! What every layer may use, and which imports no layer: error kinds and exit codes, the
//! secrets of the run and the scrubber, the one way out to the terminal, escaping, this host's name,
//! the user running smtpsend, private directories of smtpsend's own (the outbox, the token
//! store), safe local input, and what stops a run from outside (signals, `--max-time`).

pub mod escape;
pub mod exit;
pub mod host;
pub mod input;
pub mod interrupt;
pub mod output;
pub mod private_dir;
pub mod secret;
pub mod user;
