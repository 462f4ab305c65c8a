//! The header fields of a composed message: the generated ones (From, To, Cc, Reply-To,
//! Subject, Date, Message-ID, the thread's In-Reply-To and References, the priority) and
//! the `--header` fields, which replace generated fields of their name.

use super::*;

/// Headers `--header` may not set, and why: they would break the MIME structure or leak Bcc.
/// Any other header it names (From, To, Subject, Date, …) replaces the generated one.
const RESERVED: [(&str, &str); 5] = [
    ("bcc", "blind copies never appear in the header; use --bcc"),
    (
        "resent-bcc",
        "blind copies never appear in the header; use --bcc",
    ),
    (
        "mime-version",
        "it is written by smtpsend with the MIME structure",
    ),
    (
        "content-type",
        "it is written by smtpsend from the parts (use --html for an HTML part, --attach for \
         files, or --raw to send a message you wrote yourself)",
    ),
    (
        "content-transfer-encoding",
        "it is written by smtpsend for each part (send a message you wrote yourself with --raw)",
    ),
];

/// Header fields `--header` may give that hold addresses: they are parsed as address lists
/// and written as addresses (display names RFC 2047-encoded, addresses as they are).
const ADDRESS_FIELDS: [&str; 12] = [
    "from",
    "sender",
    "to",
    "cc",
    "reply-to",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "mail-followup-to",
    "mail-reply-to",
    "disposition-notification-to",
];

/// The value of one `--header`.
pub(super) enum ExtraValue {
    /// Free text, RFC 2047-encoded when it is not ASCII.
    Text(String),
    /// An address list (bare user names qualified like the other addresses).
    Addresses(Vec<Mailbox>),
}

/// The flag given that writes the field `lower` (a lower-case name), if any: `--header`
/// may not give that field as well.
fn written_by_flag(given: &ComposeInput, lower: &str) -> Option<&'static str> {
    let thread = &given.thread;
    match lower {
        "message-id" if thread.message_id.is_some() => Some("--message-id"),
        "in-reply-to" if thread.in_reply_to.is_some() => Some("--in-reply-to"),
        "references" if !thread.references_field().is_empty() => {
            Some("--references (or --in-reply-to)")
        }
        "x-priority" | "importance" if given.priority.is_some() => Some("--priority"),
        _ => None,
    }
}

/// X-Priority and Importance for a `--priority`.
fn priority_fields(priority: Priority) -> (&'static str, &'static str) {
    match priority {
        Priority::High => ("1 (Highest)", "high"),
        Priority::Normal => ("3 (Normal)", "normal"),
        Priority::Low => ("5 (Lowest)", "low"),
    }
}

/// The header fields of a composed message.
pub(super) struct Heads<'a> {
    pub(super) sender: &'a Sender,
    pub(super) to: &'a [&'a Mailbox],
    pub(super) cc: &'a [Mailbox],
    pub(super) reply_to: &'a [Mailbox],
    pub(super) subject: Option<&'a str>,
    /// `--message-id`, `--in-reply-to`, `--references`.
    pub(super) thread: &'a Thread,
    pub(super) priority: Option<Priority>,
    /// `--header` fields: each replaces the generated field of its name.
    pub(super) extra: &'a [(String, ExtraValue)],
}

impl<'a> Heads<'a> {
    /// A message builder holding the fields: From, To, Cc, Reply-To, Subject, Date and
    /// Message-ID (from `stamp`, or `--message-id`) unless a `--header` gives them, the
    /// thread and the priority, then the `--header` fields.
    pub(super) fn builder(&self, stamp: &mut Stamp) -> MessageBuilder<'a> {
        let overridden = |name: &str| {
            self.extra
                .iter()
                .any(|(header, _)| header.eq_ignore_ascii_case(name))
        };
        let list = |mailboxes: &'a [Mailbox]| address_header(&mailboxes.iter().collect::<Vec<_>>());
        let domain = message_id_domain(&self.sender.mailbox.address);
        let mut builder = MessageBuilder::new();
        if !overridden("from") {
            builder = builder.from(address_header(&[&self.sender.mailbox]));
        }
        if !self.to.is_empty() && !overridden("to") {
            builder = builder.to(address_header(self.to));
        }
        if !self.cc.is_empty() && !overridden("cc") {
            builder = builder.cc(list(self.cc));
        }
        if !self.reply_to.is_empty() && !overridden("reply-to") {
            builder = builder.reply_to(list(self.reply_to));
        }
        if let Some(subject) = self.subject
            && !overridden("subject")
        {
            builder = builder.subject(Text::new(subject.to_string()));
        }
        if !overridden("date") {
            builder = builder.header("Date", Raw::new(stamp.date()));
        }
        if !overridden("message-id") {
            let id = match &self.thread.message_id {
                Some(id) => id.clone(),
                None => stamp.message_id(&domain),
            };
            builder = builder.message_id(MessageId::new(id));
        }
        builder = self.thread_and_priority(builder);
        for (name, value) in self.extra {
            builder = match value {
                ExtraValue::Text(text) => builder.header(name.clone(), Text::new(text.clone())),
                ExtraValue::Addresses(list) => builder.header(
                    name.clone(),
                    address_header(&list.iter().collect::<Vec<_>>()),
                ),
            };
        }
        builder
    }

    /// In-Reply-To and References (the parent last), X-Priority and Importance.
    fn thread_and_priority(&self, mut builder: MessageBuilder<'a>) -> MessageBuilder<'a> {
        if let Some(parent) = &self.thread.in_reply_to {
            builder = builder.in_reply_to(MessageId::new(parent.clone()));
        }
        let references = self.thread.references_field();
        if !references.is_empty() {
            builder = builder.references(MessageId::new_list(references.iter().cloned()));
        }
        if let Some(priority) = self.priority {
            let (x_priority, importance) = priority_fields(priority);
            builder = builder
                .header("X-Priority", Raw::new(x_priority))
                .header("Importance", Raw::new(importance));
        }
        builder
    }
}

/// The domain for a Message-ID: the sender's, or this host's name for a bare user name.
pub fn message_id_domain(sender: &str) -> String {
    match sender.rsplit_once('@') {
        Some((_, domain)) if !crate::message::address::is_unqualified(sender) => domain.to_string(),
        _ => crate::base::host::hostname(),
    }
}

/// The `--header` values, checked: `Name: value` on one line, a valid name, not a field
/// smtpsend writes itself, nor one a flag given too writes (`--message-id` and `-H
/// 'Message-ID: …'`).
pub(super) fn parse_extra_headers(
    given: &ComposeInput,
    qualify_domain: Option<&str>,
) -> anyhow::Result<Vec<(String, ExtraValue)>> {
    given
        .headers
        .iter()
        .map(|value| {
            reject_line_breaks("--header", value)?;
            let (name, field) = value.split_once(':').ok_or_else(|| {
                fail(
                    Kind::Usage,
                    format!("--header {value:?} is not of the form 'Name: value'"),
                )
            })?;
            let valid_name = !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b));
            if !valid_name {
                return Err(fail(
                    Kind::Usage,
                    format!("--header {value:?}: invalid header name {name:?}"),
                ));
            }
            let lower = name.to_ascii_lowercase();
            if let Some((_, why)) = RESERVED.iter().find(|(reserved, _)| *reserved == lower) {
                return Err(fail(
                    Kind::Usage,
                    format!("--header cannot set {name}: {why}"),
                ));
            }
            if let Some(flag) = written_by_flag(given, &lower) {
                return Err(fail(
                    Kind::Usage,
                    format!("--header {name} and {flag} both set {name}: give one"),
                ));
            }
            let field = field.trim();
            if !ADDRESS_FIELDS.contains(&lower.as_str()) {
                return Ok((name.to_string(), ExtraValue::Text(field.to_string())));
            }
            let list = Mailbox::parse_list(field).map_err(|err| {
                fail(
                    Kind::Usage,
                    format!("--header {name}: {}", crate::base::exit::one_line(&err)),
                )
            })?;
            if list.is_empty() {
                // A group without members (`undisclosed-recipients:;`) is kept as given.
                return Ok((name.to_string(), ExtraValue::Text(field.to_string())));
            }
            let list = list
                .iter()
                .map(|mailbox| mailbox.qualified(qualify_domain))
                .collect();
            Ok((name.to_string(), ExtraValue::Addresses(list)))
        })
        .collect()
}
