//! The values of the options that take one of a list: -B, --queue, -R, --priority.

use super::*;

/// What `-B` declares about the message body (RFC 6152 BODY=).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BodyType {
    /// Declare BODY=8BITMIME when the server offers it
    #[value(name = "8BITMIME")]
    EightBitMime,
    /// Plain 7-bit data: declare nothing, refuse a message with 8-bit bytes
    #[value(name = "7BIT")]
    SevenBit,
}

/// When a message goes through the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueueMode {
    /// A temporary failure exits 75
    Never,
    /// Keep the message after a temporary failure and exit 0
    OnFailure,
    /// Write the message to the outbox first, send it, remove it once the server took it
    Always,
}

impl QueueMode {
    /// The spelling used on the command line and in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            QueueMode::Never => "never",
            QueueMode::OnFailure => "on-failure",
            QueueMode::Always => "always",
        }
    }

    pub fn from_name(name: &str) -> Option<QueueMode> {
        QueueMode::value_variants()
            .iter()
            .copied()
            .find(|mode| mode.name().eq_ignore_ascii_case(name))
    }
}

/// What a DSN failure report returns (RFC 3461 RET=).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DsnReturn {
    /// The whole message
    Full,
    /// The headers only
    Hdrs,
}

/// `--priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Priority {
    /// X-Priority: 1 (Highest), Importance: high
    High,
    /// X-Priority: 3 (Normal), Importance: normal
    Normal,
    /// X-Priority: 5 (Lowest), Importance: low
    Low,
}

impl From<Priority> for crate::message::compose::Priority {
    fn from(priority: Priority) -> Self {
        match priority {
            Priority::High => Self::High,
            Priority::Normal => Self::Normal,
            Priority::Low => Self::Low,
        }
    }
}
