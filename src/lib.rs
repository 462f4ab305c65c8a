//! smtpsend: compose a MIME message (or take one from stdin) and submit it over SMTP,
//! with an exact protocol transcript and sysexits.h exit codes.

pub mod base;
pub mod cli;
mod layers;
pub mod message;
pub mod plan;
pub mod report;
pub mod run;
pub mod smtp;
