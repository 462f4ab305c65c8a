//! Lists of option ids that go together: the options about the message (none goes with a
//! probe, and a queued message keeps none of them), the other commands, and what the outbox
//! commands cannot be combined with.

/// Options about the message itself: a probe (--verify, --expn, --server-info, --check),
/// which sends none, cannot be combined with them, and a queued message keeps its message,
/// not them. Options that also come from `SMTPSEND_*` variables (--from, --queue,
/// --retries) are not here, so a CI environment that sets them can still run a probe.
pub(super) const MESSAGE_OPTIONS: [&str; 30] = [
    "recipients",
    "from_name",
    "envelope_from",
    "to",
    "cc",
    "bcc",
    "reply_to",
    "subject",
    "headers",
    "body",
    "body_file",
    "html",
    "markdown",
    "markdown_allow_html",
    "attachments",
    "inline",
    "attach_name",
    "attach_type",
    "in_reply_to",
    "references",
    "priority",
    "message_id",
    "raw",
    "read_recipients",
    "bulk",
    "body_type",
    "dsn_notify",
    "dsn_return",
    "dsn_envid",
    "partial",
];

/// The other things a run can do instead of sending; none goes with a probe.
pub(super) const OTHER_COMMANDS: [&str; 5] = [
    "dry_run",
    "flush_queue",
    "list_queue",
    "drop_queue",
    "show_config",
];

/// What the outbox commands (-q, --list-queue, --drop-queue) cannot be combined with.
pub(super) const NOT_WITH_QUEUE_COMMANDS: [&str; 25] = [
    "recipients",
    "to",
    "cc",
    "bcc",
    "reply_to",
    "subject",
    "headers",
    "body",
    "body_file",
    "html",
    "markdown",
    "markdown_allow_html",
    "attachments",
    "inline",
    "attach_name",
    "attach_type",
    "in_reply_to",
    "references",
    "priority",
    "message_id",
    "raw",
    "read_recipients",
    "bulk",
    "dry_run",
    "show_config",
];
