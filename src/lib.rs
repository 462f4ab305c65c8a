//! smtpsend: compose a MIME message (or take one from stdin) and submit it over SMTP,
//! with an exact protocol transcript and sysexits.h exit codes.

pub mod address;
pub mod app;
pub mod bulk;
pub mod cli;
pub mod compose;
pub mod config;
pub mod credentials;
pub mod deliver;
pub mod escape;
pub mod exit;
pub mod flush;
pub mod generate;
pub mod input;
pub mod interrupt;
pub mod message;
pub mod outbox;
pub mod output;
pub mod probe;
pub mod progress;
pub mod raw;
pub mod report;
pub mod secret;
pub mod sendmail_args;
pub mod settings;
pub mod smtp;
pub mod stamp;
pub mod transfer;
