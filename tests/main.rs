//! The integration tests, as one test binary (`cargo test --test integration`): each module
//! was once a binary of its own, and each drives the smtpsend binary as a user would, against
//! the scripted servers of `support`. One binary links `support` and the dependencies once,
//! and its tests run side by side. Run one module with `cargo test --test integration
//! outbox::`, one test with its full name.

mod support;

mod addresses;
mod bad_input;
mod bulk;
mod chunking;
mod compose;
mod config;
mod crash;
mod dry_run;
mod faults;
mod generated;
mod golden;
mod hostile_message;
mod hostile_outbox;
mod hostile_secrets;
mod hostile_server;
mod lmtp;
mod machine;
mod machine_queue;
mod markdown;
mod oauth2;
mod outbox;
mod parallel;
mod pipelined_login;
mod probes;
mod progress;
mod properties;
mod protocol;
mod providers;
mod proxies;
mod readme;
mod send;
mod sendmail;
mod setup;
mod signals;
mod smtputf8;
mod structure;
mod support_selftest;
mod tls_auth;
mod tls_policy;
mod windows;
