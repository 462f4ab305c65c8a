//! What to do, resolved once from the command line, the environment and the configuration
//! file: the settings, the configuration file, the password sources.

pub mod config;
pub mod credentials;
pub mod settings;
