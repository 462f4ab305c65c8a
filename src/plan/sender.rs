//! Who the message is from: `-f`, `-F` and `--envelope-from` as given, and the defaults the
//! settings supply when they are not (the account's `from`, else `login@host`).

use crate::base::exit::{Kind, fail};
use crate::cli::Cli;
use crate::message::address::Mailbox;
use crate::message::compose::Sender;
use crate::plan::settings::{self, Settings};

/// The sender as the command line gave it.
#[derive(Debug, Clone, Default)]
pub struct SenderChoice {
    /// From `-f` (with `-F`'s name) and `--envelope-from`, when either was given.
    pub given: Option<Sender>,
    /// `-f` itself was given (not only `--envelope-from`).
    from_flag: bool,
    /// `-F`: the display name for From:.
    from_name: Option<String>,
}

impl SenderChoice {
    /// Parses `-f`, `-F` and `--envelope-from`.
    pub fn from_cli(cli: &Cli) -> anyhow::Result<SenderChoice> {
        if let Some(name) = &cli.from_name {
            crate::message::address::reject_line_breaks("--from-name", name)?;
        }
        let mut mailbox = cli.from.as_deref().map(parse_one_sender).transpose()?;
        if let (Some(mailbox), Some(name)) = (&mut mailbox, &cli.from_name) {
            mailbox.name = Some(name.clone());
        }
        let envelope = cli
            .envelope_from
            .as_deref()
            .map(parse_envelope_from)
            .transpose()?;
        let given = match (mailbox, envelope) {
            (None, None) => None,
            (Some(mailbox), envelope) => Some(Sender {
                envelope: envelope.unwrap_or_else(|| mailbox.address.clone()),
                mailbox,
            }),
            (None, Some(envelope)) => {
                let mut mailbox = settings::default_sender(None);
                mailbox.name = cli.from_name.clone();
                Some(Sender { mailbox, envelope })
            }
        };
        Ok(SenderChoice {
            given,
            from_flag: cli.from.is_some(),
            from_name: cli.from_name.clone(),
        })
    }

    /// The address that picks an account by its `from`, when the command line names one.
    pub fn hint(&self) -> Option<&str> {
        self.given.as_ref().map(|s| s.mailbox.address.as_str())
    }

    /// The given sender, with the settings' default as the From: mailbox when only
    /// `--envelope-from` was given (qualified with the settings' domain).
    pub fn given_with_defaults(&self, settings: &Settings) -> Option<Sender> {
        let sender = self.given.clone()?;
        if self.from_flag {
            return Some(sender);
        }
        let mut mailbox = settings::default_sender(settings.qualify_domain.as_deref());
        mailbox.name = sender.mailbox.name;
        Some(Sender {
            mailbox,
            envelope: sender.envelope,
        })
    }

    /// The sender of a composed message: as given, else the account's `from`, else
    /// `login@host` (`login@DOMAIN` with a qualify domain); `-F` gives the display name.
    pub fn for_compose(&self, settings: &Settings) -> Sender {
        self.given_with_defaults(settings)
            .unwrap_or_else(|| self.default_sender(settings))
    }

    /// The sender when neither the command line nor the message names one.
    pub fn default_sender(&self, settings: &Settings) -> Sender {
        let mut mailbox = settings
            .account_from
            .clone()
            .unwrap_or_else(|| settings::default_sender(settings.qualify_domain.as_deref()));
        if self.from_name.is_some() {
            mailbox.name = self.from_name.clone();
        }
        Sender {
            envelope: mailbox.address.clone(),
            mailbox,
        }
    }
}

/// The address a probe's `-f` names, which may pick the account.
pub fn probe_hint(cli: &Cli) -> anyhow::Result<Option<String>> {
    Ok(cli
        .from
        .as_deref()
        .map(Mailbox::parse)
        .transpose()?
        .map(|mailbox| mailbox.address))
}

fn parse_envelope_from(value: &str) -> anyhow::Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed == "<>" {
        return Ok(String::new());
    }
    Ok(parse_one_sender(trimmed)?.address)
}

/// One sender address (-f, --envelope-from): a list is refused with a plain reason.
fn parse_one_sender(value: &str) -> anyhow::Result<Mailbox> {
    if let Ok(list) = Mailbox::parse_list(value)
        && list.len() > 1
    {
        return Err(fail(
            Kind::Usage,
            format!(
                "invalid sender {value:?}: only one sender address is allowed, and this names {}; \
                 give further recipients with --to or --cc, other reply addresses with --reply-to",
                list.len()
            ),
        ));
    }
    Mailbox::parse(value)
}
