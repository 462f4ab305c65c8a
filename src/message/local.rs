//! Local names (bare user names such as `root`, as cron and daemons address mail): in the
//! envelope each is replaced by what its alias stands for, then whatever is still bare gets
//! the qualify domain. With `rewrite-local-headers` the To, Cc and From fields of a complete
//! message are rewritten the same way (From's bare name becomes the envelope sender), so
//! that a relay refusing `To: root` takes the message.

use mail_builder::headers::Header;

use crate::message::address::{Mailbox, is_unqualified};
use crate::message::aliases::Aliases;
use crate::message::raw::RawMessage;

/// What is done to local names.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalNames<'a> {
    pub aliases: Option<&'a Aliases>,
    pub qualify_domain: Option<&'a str>,
}

impl LocalNames<'_> {
    /// The mailboxes with each local name replaced by its aliases' addresses, each bare one
    /// left then qualified; a display name stays with a name that stands for one address.
    pub fn resolve(&self, mailboxes: &[Mailbox]) -> anyhow::Result<Vec<Mailbox>> {
        let mut out = Vec::with_capacity(mailboxes.len());
        for mailbox in mailboxes {
            let (Some(aliases), true) = (self.aliases, is_unqualified(&mailbox.address)) else {
                out.push(mailbox.qualified(self.qualify_domain));
                continue;
            };
            let addresses = aliases.expand(&mailbox.address)?;
            let name = (addresses.len() == 1)
                .then(|| mailbox.name.clone())
                .flatten();
            out.extend(addresses.into_iter().map(|address| {
                Mailbox {
                    name: name.clone(),
                    address,
                }
                .qualified(self.qualify_domain)
            }));
        }
        Ok(out)
    }

    /// `rewrite-local-headers`: the To and Cc fields that name a local name get what
    /// [`LocalNames::resolve`] makes of them, and a From naming one gets `sender`'s address
    /// (keeping its display name, or taking the sender's). Other fields, and fields naming
    /// no local name, are left as they are.
    pub fn rewrite_header(&self, message: &mut RawMessage, sender: &Mailbox) -> anyhow::Result<()> {
        for field in &mut message.fields {
            let is_from = field.is("from");
            if !(is_from || field.is("to") || field.is("cc")) {
                continue;
            }
            let Ok(list) = Mailbox::parse_list(&field.value()) else {
                continue;
            };
            if !list.iter().any(|mailbox| is_unqualified(&mailbox.address)) {
                continue;
            }
            let rewritten = if is_from {
                list.iter()
                    .map(|mailbox| match is_unqualified(&mailbox.address) {
                        true => Mailbox {
                            name: mailbox.name.clone().or_else(|| sender.name.clone()),
                            address: sender.address.clone(),
                        },
                        false => mailbox.clone(),
                    })
                    .collect()
            } else {
                self.resolve(&list)?
            };
            let refs: Vec<&Mailbox> = rewritten.iter().collect();
            let mut raw = format!("{}: ", field.name).into_bytes();
            let written = field.name.len() + 2;
            crate::message::address::address_header(&refs).write_header(&mut raw, written);
            field.raw = raw;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_envelope_and_the_header_get_the_alias_targets() {
        let aliases = Aliases::parse(
            Path::new("/etc/aliases"),
            "root: admin@example.com\nops: a@example.com, b@example.com\n",
        )
        .unwrap();
        let local = LocalNames {
            aliases: Some(&aliases),
            qualify_domain: Some("example.org"),
        };
        let given = Mailbox::parse_list("Root <root>, ops, backup, x@example.net").unwrap();
        let resolved: Vec<String> = local
            .resolve(&given)
            .unwrap()
            .iter()
            .map(Mailbox::to_text)
            .collect();
        assert_eq!(
            resolved,
            [
                "Root <admin@example.com>",
                "a@example.com",
                "b@example.com",
                "backup@example.org",
                "x@example.net"
            ]
        );

        let mut message = RawMessage::parse(
            b"From: root (Cron Daemon)\nTo: root\nCc: x@example.net\nSubject: root\n\nhi\n",
        );
        let sender = Mailbox::parse("Cron Daemon <cron@example.com>").unwrap();
        local.rewrite_header(&mut message, &sender).unwrap();
        let text = String::from_utf8(message.to_bytes()).unwrap();
        assert_eq!(
            text,
            "From: \"Cron Daemon\" <cron@example.com>\r\nTo: <admin@example.com>\r\n\
             Cc: x@example.net\r\nSubject: root\r\n\r\nhi\r\n"
        );
    }
}
