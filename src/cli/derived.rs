//! What the parsed command line says beyond its fields: whether it composes, whether stdin
//! is a complete message, the DSN asked for, the input bound.

use super::*;

impl Cli {
    /// True when the option with this id got its value from its `SMTPSEND_*` variable.
    pub fn is_from_env(&self, id: &str) -> bool {
        self.from_env.iter().any(|known| known == id)
    }

    /// True when any flag that composes a message was given.
    pub fn composes(&self) -> bool {
        self.subject.is_some()
            || !self.headers.is_empty()
            || self.body.is_some()
            || self.body_file.is_some()
            || self.html.is_some()
            || self.markdown.is_some()
            || !self.attachments.is_empty()
            || !self.inline.is_empty()
            || self.in_reply_to.is_some()
            || !self.references.is_empty()
            || self.priority.is_some()
            || self.message_id.is_some()
            || !self.to.is_empty()
            || !self.cc.is_empty()
            || !self.bcc.is_empty()
            || !self.reply_to.is_empty()
    }

    /// The delivery status notifications asked for with -N, -R and -V.
    pub fn dsn(&self) -> crate::smtp::dsn::Dsn {
        crate::smtp::dsn::Dsn {
            notify: self.dsn_notify.clone(),
            ret: self.dsn_return.map(|ret| match ret {
                DsnReturn::Full => "FULL".to_string(),
                DsnReturn::Hdrs => "HDRS".to_string(),
            }),
            envid: self.dsn_envid.clone(),
        }
    }

    /// The most bytes read from stdin or a piped body file (`--max-input-size`).
    pub fn max_input(&self) -> u64 {
        self.max_input_size
            .unwrap_or(crate::base::input::DEFAULT_MAX_INPUT)
    }

    /// True when stdin holds a complete message rather than body text.
    pub fn stdin_is_message(&self) -> bool {
        self.raw || self.read_recipients || (!self.recipients.is_empty() && !self.composes())
    }
}
