//! One run of the command: settings, the message, a dry run or a send, the report.

pub mod bulk;
pub mod flush;
pub mod outbox;
pub mod probe;
pub mod send;

use std::io::{IsTerminal, Read};

use anyhow::Context;

use crate::base::exit::{Kind, fail};
use crate::cli::{BodyType, Cli};
use crate::message::address::Mailbox;
use crate::message::compose::{self, Sender};
use crate::message::raw::{self, RawMessage};
use crate::message::stamp::Stamp;
use crate::message::{Content, Envelope};
use crate::plan::settings::{self, Settings};
use crate::report::{self, JsonReport};

/// Runs the command; the error, if any, decides the exit code. With `--json`, a failure
/// before the send still prints a JSON document.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let result = run_command(&cli);
    if let Err(err) = &result
        && cli.json
        && !err.is::<JsonPrinted>()
    {
        let document = serde_json::json!({
            "status": "failed",
            "exit_code": crate::base::exit::code_for(err),
            "error": crate::base::exit::one_line(err),
        });
        crate::base::output::print_json(&document);
    }
    result.map_err(|err| match err.downcast::<JsonPrinted>() {
        Ok(printed) => printed.0,
        Err(err) => err,
    })
}

/// Wraps an error whose JSON report was already printed.
#[derive(Debug)]
pub(crate) struct JsonPrinted(pub(crate) anyhow::Error);

impl std::fmt::Display for JsonPrinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for JsonPrinted {}

fn run_command(cli: &Cli) -> anyhow::Result<()> {
    if let Some(target) = cli.generate {
        return crate::cli::generate::print(target);
    }
    if cli.list_queue {
        return crate::run::flush::list(cli);
    }
    if !cli.drop_queue.is_empty() {
        return crate::run::flush::drop_entries(cli);
    }
    if cli.flush_queue {
        return crate::run::flush::flush(cli);
    }
    if let Some(probe) = crate::run::probe::requested(cli) {
        return crate::run::probe::run(cli, probe);
    }
    let sender = resolve_sender(cli)?;
    if cli.show_config {
        let hint = sender.as_ref().map(|s| s.mailbox.address.as_str());
        let settings = Settings::resolve(cli, hint)?;
        if cli.json {
            crate::base::output::print_json(&settings.show_json());
        } else {
            crate::base::output::print_stdout(&settings.show());
        }
        return Ok(());
    }
    if !cli.bulk.is_empty() {
        return crate::run::bulk::run(cli, sender.as_ref());
    }
    let argv: Vec<_> = std::env::args_os().collect();
    settings::check_attach_not_account(cli, crate::cli::sendmail::looks_like_sendmail_call(&argv))?;
    check_recipients_given(cli)?;
    if cli.stdin_is_message() || (cli.body.is_none() && cli.body_file.is_none()) {
        check_stdin_is_not_a_directory()?;
    }
    let mut stdin = std::io::stdin().lock();
    let (settings, envelope, content) = if cli.stdin_is_message() {
        let message = read_message(&mut stdin, cli.max_input())?;
        let hint = sender
            .as_ref()
            .map(|s| s.mailbox.clone())
            .or_else(|| header_from(&message))
            .map(|mailbox| mailbox.address);
        let settings = Settings::resolve(cli, hint.as_deref())?;
        let sender = sender.map(|sender| default_header_sender(cli, &settings, sender));
        let (envelope, content) =
            prepare_raw(cli, &settings, sender, message, cli.read_recipients)?;
        (settings, envelope, content)
    } else {
        let hint = sender.as_ref().map(|s| s.mailbox.address.clone());
        let settings = Settings::resolve(cli, hint.as_deref())?;
        if !cli.dry_run {
            settings.check_ahead()?;
        }
        let sender = match sender {
            Some(sender) => default_header_sender(cli, &settings, sender),
            None => default_sender(cli, &settings),
        };
        let (envelope, content) = compose::compose(cli, &settings, &sender, &mut stdin)?;
        (settings, envelope, content)
    };
    if envelope.recipients.is_empty() {
        return Err(fail(
            Kind::Usage,
            "no recipients: give --to, --cc, --bcc or recipient arguments",
        ));
    }
    if cli.body_type == Some(BodyType::SevenBit) && content.has_8bit() {
        return Err(fail(
            Kind::Data,
            "-B 7BIT was given but the message has 8-bit bytes: send it with -B 8BITMIME \
             or encode it",
        ));
    }
    if cli.dry_run {
        return dry_run(cli, &envelope, &content);
    }
    send(cli, &settings, &envelope, &content)
}

fn send(
    cli: &Cli,
    settings: &Settings,
    envelope: &Envelope,
    content: &Content,
) -> anyhow::Result<()> {
    let outcome = crate::run::send::send(cli, settings, envelope, content);
    let delivery = outcome.delivery.as_ref();
    let verdict = outcome.verdict;
    if cli.json {
        let exit_code = match &verdict {
            Ok(()) => 0,
            Err(err) => crate::base::exit::code_for(err),
        };
        let status = match (&outcome.queued_as, delivery) {
            (Some(_), _) => "queued",
            (None, Some(delivery)) => report::status(delivery),
            (None, None) => "failed",
        };
        JsonReport {
            status,
            exit_code,
            envelope,
            size: content.len(),
            recipients: delivery.map_or(&[], |d| d.recipients.as_slice()),
            reply: delivery.and_then(report::final_reply),
            error: match &verdict {
                Err(err) => Some(crate::base::exit::one_line(err)),
                Ok(()) => outcome.queued_because.clone(),
            },
            queued_as: outcome.queued_as.clone(),
        }
        .print();
        return verdict.map_err(|err| anyhow::Error::new(JsonPrinted(err)));
    }
    verdict
}

pub(crate) fn dry_run(cli: &Cli, envelope: &Envelope, content: &Content) -> anyhow::Result<()> {
    if cli.json {
        JsonReport {
            status: "dry-run",
            exit_code: 0,
            envelope,
            size: content.len(),
            recipients: &[],
            reply: None,
            error: None,
            queued_as: None,
        }
        .print();
        return Ok(());
    }
    let international = crate::smtp::utf8::is_international(envelope, content);
    let smtputf8 = if international { " SMTPUTF8" } else { "" };
    let mut out = format!("MAIL FROM:<{}>{smtputf8}\n", envelope.from);
    for recipient in &envelope.recipients {
        out.push_str(&format!("RCPT TO:<{recipient}>\n"));
    }
    out.push('\n');
    if international {
        crate::say!("smtpsend: {}", smtputf8_note(envelope, content));
    }
    crate::base::output::print_stdout(&out);
    let written = crate::base::output::write_message(|stdout| content.write_to(stdout))
        .context("cannot write the message to stdout")?;
    let Some(to_terminal) = written else {
        return Ok(());
    };
    // stdout holds the exact bytes; a missing final line break is said on stderr (which
    // also ends the line on a terminal, so the prompt does not stick to the text).
    if !content.ends_with_crlf() {
        if to_terminal {
            crate::say!("");
        }
        crate::say!(
            "smtpsend: (the message does not end with a line break; sending adds CRLF \
             before the end mark)"
        );
    }
    Ok(())
}

/// What a dry run says about a message that is not ASCII: it goes as shown to a server
/// that offers SMTPUTF8, and what happens at one that does not.
fn smtputf8_note(envelope: &Envelope, content: &Content) -> String {
    let head = "the addresses or header fields are not ASCII: sent as shown (UTF-8, SMTPUTF8) \
                to a server that offers SMTPUTF8";
    match crate::smtp::utf8::adapt(false, envelope, content) {
        Ok((std::borrow::Cow::Borrowed(_), std::borrow::Cow::Borrowed(_))) => format!(
            "{head}; to one that does not, unchanged without SMTPUTF8 (no address has a \
             non-ASCII domain)"
        ),
        Ok((ascii, _)) => {
            let mut addresses = vec![format!("MAIL FROM:<{}>", ascii.from)];
            addresses.extend(ascii.recipients.iter().map(|to| format!("RCPT TO:<{to}>")));
            format!(
                "{head}; to one that does not, with domains as A-labels (in the address \
                 header fields too): {}",
                addresses.join(", ")
            )
        }
        Err(err) => format!(
            "{head}; a server without it refuses: {}",
            crate::base::exit::one_line(&err)
        ),
    }
}

/// Fails before stdin is read (where someone may be typing the body on a terminal) when
/// nothing can name a recipient: no --to, --cc, --bcc or argument, and no -t.
fn check_recipients_given(cli: &Cli) -> anyhow::Result<()> {
    let named = [&cli.to, &cli.cc, &cli.bcc, &cli.recipients]
        .iter()
        .any(|list| !list.is_empty());
    if named || cli.read_recipients {
        return Ok(());
    }
    Err(fail(
        Kind::Usage,
        "no recipients: give --to, --cc, --bcc or recipient arguments",
    ))
}

/// `smtpsend … < somedir` would fail with "Is a directory (os error 21)"; say what it means.
fn check_stdin_is_not_a_directory() -> anyhow::Result<()> {
    use std::os::fd::AsFd;
    let is_directory = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::fs::File::from)
        .and_then(|file| file.metadata().ok())
        .is_some_and(|metadata| metadata.is_dir());
    if is_directory {
        return Err(fail(
            Kind::NoInput,
            "stdin is a directory: redirect a file (< message.eml) or pipe the text in",
        ));
    }
    Ok(())
}

/// The sender given on the command line (-f, -F, --envelope-from), if any.
fn resolve_sender(cli: &Cli) -> anyhow::Result<Option<Sender>> {
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
    Ok(match (mailbox, envelope) {
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
    })
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

/// With --envelope-from but no -f, the From: mailbox is the default sender, qualified with
/// the settings' domain; other senders are kept.
fn default_header_sender(cli: &Cli, settings: &Settings, sender: Sender) -> Sender {
    if cli.from.is_some() {
        return sender;
    }
    let mut mailbox = settings::default_sender(settings.qualify_domain.as_deref());
    mailbox.name = sender.mailbox.name;
    Sender {
        mailbox,
        envelope: sender.envelope,
    }
}

/// The sender when neither -f nor the message names one: the account's `from`, else
/// `login@host` (`login@DOMAIN` with a qualify domain); -F gives the display name.
fn default_sender(cli: &Cli, settings: &Settings) -> Sender {
    let mut mailbox = settings
        .account_from
        .clone()
        .unwrap_or_else(|| settings::default_sender(settings.qualify_domain.as_deref()));
    if cli.from_name.is_some() {
        mailbox.name = cli.from_name.clone();
    }
    Sender {
        envelope: mailbox.address.clone(),
        mailbox,
    }
}

/// Reads a complete message from stdin, at most `limit` bytes (`--max-input-size`).
fn read_message(stdin: &mut dyn Read, limit: u64) -> anyhow::Result<RawMessage> {
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

/// An envelope and the content to send.
pub(crate) type Prepared = (Envelope, Content);

/// The sender a message names: the Resent-From of its most recent Resent-* block when it
/// has one (it is being resent), else its From; `None` when that does not parse.
pub(crate) fn header_from(message: &RawMessage) -> Option<Mailbox> {
    message
        .resent_from()
        .or_else(|| message.values("from").first().cloned())
        .and_then(|value| Mailbox::parse_list(&value).ok())
        .and_then(|list| list.into_iter().next())
}

/// Raw mode: a complete message. The sender is -f, else the message's From (when it has a
/// domain or one can be added), else the default; the recipients are the arguments, and with `read_recipients` (-t) those of the
/// message's header too.
pub(crate) fn prepare_raw(
    cli: &Cli,
    settings: &Settings,
    sender: Option<Sender>,
    mut message: RawMessage,
    read_recipients: bool,
) -> anyhow::Result<Prepared> {
    if let Some(problem) = message.header_problem() {
        return Err(fail(Kind::Data, problem));
    }
    let qualify_domain = settings.qualify_domain.as_deref();
    // A From that names a bare user (cron writes `From: root (Cron Daemon)`) does not make
    // the envelope sender unless there is a domain to qualify it with: servers refuse
    // unqualified senders, and the account's `from` or login@host is a deliverable one.
    let header_sender = header_from(&message).filter(|mailbox| {
        qualify_domain.is_some() || !crate::message::address::is_unqualified(&mailbox.address)
    });
    let sender = sender.unwrap_or_else(|| match header_sender {
        Some(mailbox) => Sender {
            envelope: mailbox.address.clone(),
            mailbox,
        },
        None => default_sender(cli, settings),
    });
    // Bare user names are qualified in the envelope (and in a From field smtpsend adds);
    // the message's own header is left as it is.
    let sender = Sender {
        envelope: crate::message::address::qualify(&sender.envelope, qualify_domain),
        mailbox: sender.mailbox.qualified(qualify_domain),
    };
    let mut recipients = Vec::new();
    if read_recipients {
        recipients = header_recipients(&message)?;
    }
    recipients.extend(crate::message::address::parse_all(&cli.recipients)?);
    let recipients: Vec<Mailbox> = recipients
        .iter()
        .map(|mailbox| mailbox.qualified(qualify_domain))
        .collect();
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
        &from_field,
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
    Ok((envelope, content))
}
