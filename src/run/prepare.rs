//! A complete message as smtpsend takes it (from stdin, or a file for `--bulk`): read within
//! the input bound, its sender and recipients chosen, the few edits raw mode makes.

use std::io::{IsTerminal, Read};

use anyhow::Context;

use crate::base::exit::{Kind, fail};
use crate::message::address::Mailbox;
use crate::message::compose::{self, Sender};
use crate::message::local::LocalNames;
use crate::message::raw::{self, RawMessage};
use crate::message::stamp::Stamp;
use crate::message::{Content, Envelope};
use crate::plan::{SenderChoice, Settings};

/// Reads a complete message from stdin, at most `limit` bytes (`--max-input-size`).
pub fn read_message(stdin: &mut dyn Read, limit: u64) -> anyhow::Result<RawMessage> {
    if std::io::stdin().is_terminal() {
        crate::say!("smtpsend: reading the message from the terminal; end it with Ctrl-D");
    }
    let input = crate::base::input::read_to_limit(stdin, limit)
        .context("cannot read the message from stdin")?
        .ok_or_else(|| compose::too_large("the message on stdin", limit))?;
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(fail(Kind::Data, "no message on stdin: the input is empty"));
    }
    Ok(RawMessage::parse(&input))
}

/// With -t: the recipients the message's header names (see [`RawMessage::recipient_fields`]).
fn header_recipients(message: &RawMessage) -> anyhow::Result<Vec<Mailbox>> {
    let chosen = message.recipient_fields();
    let mut recipients = Vec::new();
    for field in &chosen.fields {
        let list = Mailbox::parse_list(&field.value()).map_err(|err| {
            fail(
                Kind::Data,
                format!(
                    "{} field: {}",
                    field.name,
                    crate::base::exit::one_line(&err)
                ),
            )
        })?;
        recipients.extend(list);
    }
    Ok(recipients)
}

/// A complete message ready to send.
pub struct Prepared {
    pub envelope: Envelope,
    pub content: Content,
    /// The envelope sender, when it was made from the login and host name (nothing named
    /// one): refusals that concern it say so.
    pub made_up_sender: Option<String>,
}

/// The sender a message names: the Resent-From of its most recent Resent-* block when it
/// has one (it is being resent), else its From; `None` when that does not parse.
pub fn header_from(message: &RawMessage) -> Option<Mailbox> {
    message
        .resent_from()
        .or_else(|| message.values("from").first().cloned())
        .and_then(|value| Mailbox::parse_list(&value).ok())
        .and_then(|list| list.into_iter().next())
}

/// Raw mode: a complete message. The sender is -f, else the message's From (when it has a
/// domain or one can be added), else the default; the recipients are the arguments, and
/// with `read_recipients` (-t) those of the message's header too, local names among them
/// replaced by their aliases and qualified.
pub fn prepare_raw(
    choice: &SenderChoice,
    settings: &Settings,
    sender: Option<Sender>,
    mut message: RawMessage,
    read_recipients: bool,
    arguments: &[String],
) -> anyhow::Result<Prepared> {
    if let Some(problem) = message.header_problem() {
        return Err(fail(Kind::Data, problem));
    }
    let aliases = settings.load_aliases()?;
    let local = LocalNames {
        aliases: aliases.as_ref(),
        qualify_domain: settings.qualify_domain.as_deref(),
    };
    let (sender, made_up) = raw_sender(choice, settings, sender, &message);
    let mut recipients = Vec::new();
    if read_recipients {
        recipients = header_recipients(&message)?;
    }
    recipients.extend(crate::message::address::parse_all(arguments)?);
    let recipients = local.resolve(&recipients)?;
    if read_recipients && recipients.is_empty() {
        let why = if message.recipient_fields().resent {
            "its most recent Resent-* block has no Resent-To, Resent-Cc or Resent-Bcc address"
        } else {
            "it has no To, Cc or Bcc address"
        };
        return Err(fail(
            Kind::Data,
            format!(
                "no recipients: with -t the message names the recipients, but {why}, and no recipient arguments were given"
            ),
        ));
    }
    if settings.mail.rewrite_local_headers {
        local.rewrite_header(&mut message, &sender.mailbox)?;
    }
    let mut from_field = Vec::new();
    {
        use mail_builder::headers::Header;
        from_field.extend_from_slice(b"From: ");
        compose::address_header(&[&sender.mailbox]).write_header(&mut from_field, 6);
    }
    let stamp = Stamp::new();
    let domain = crate::message::compose::message_id_domain(&sender.mailbox.address);
    raw::prepare(
        &mut message,
        (&from_field, settings.mail.set_from_header),
        &stamp.date(),
        &stamp.message_id(&domain),
    );
    let envelope = Envelope {
        from: sender.envelope,
        recipients: compose::unique_addresses(recipients.iter()),
    };
    let bytes = message.to_bytes();
    let content = match message.binary {
        Some(why) => Content::binary_from_bytes(bytes, why),
        None => Content::from_bytes(bytes),
    };
    Ok(Prepared {
        made_up_sender: made_up.then(|| envelope.from.clone()),
        envelope,
        content,
    })
}

/// The sender of a complete message: as given, else its From (a bare user name only when
/// there is a domain to qualify it with: servers refuse unqualified senders, and the
/// account's `from` or login@host is a deliverable one), else the default; bare user names
/// are qualified in the envelope (and in a From field smtpsend adds), the message's own
/// header is left as it is (but with `set-from-header = always`, whose From is replaced and
/// names no sender). True with it when it was made from the login and host name.
fn raw_sender(
    choice: &SenderChoice,
    settings: &Settings,
    sender: Option<Sender>,
    message: &RawMessage,
) -> (Sender, bool) {
    let qualify_domain = settings.qualify_domain.as_deref();
    // With set-from-header = always the message's From is replaced: it names no sender.
    let replaced = settings.mail.set_from_header == crate::message::raw::FromHeader::Always;
    let header_sender = header_from(message).filter(|mailbox| {
        !replaced
            && (qualify_domain.is_some()
                || !crate::message::address::is_unqualified(&mailbox.address))
    });
    let made_up = sender.is_none() && header_sender.is_none() && settings.sender_is_made_up();
    let sender = sender.unwrap_or_else(|| match header_sender {
        Some(mailbox) => Sender {
            envelope: mailbox.address.clone(),
            mailbox,
        },
        None => choice.default_sender(settings),
    });
    let sender = Sender {
        envelope: crate::message::address::qualify(&sender.envelope, qualify_domain),
        mailbox: sender.mailbox.qualified(qualify_domain),
    };
    (sender, made_up)
}
