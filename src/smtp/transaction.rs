//! One mail transaction: MAIL, RCPT…, DATA, the data, and the recipient rule; the results
//! per recipient. Several transactions for one message are `split.rs`'s business.

use std::io::{BufWriter, Write};

use serde::Serialize;
use smtp_proto::{EXT_8BIT_MIME, EXT_DSN, EXT_PIPELINING, EXT_SIZE};

use crate::base::exit::{Kind, fail};
use crate::message::{Content, Envelope, FileError};
use crate::smtp::command::{BdatLast, BodyType, Data, Mail, MailParam, Rcpt, Rset};
use crate::smtp::data::{FailFast, WireEncoder, WireError};
use crate::smtp::dsn::Dsn;
use crate::smtp::reply::{Expect, Reply, ReplySummary};
use crate::smtp::{Session, command};

/// Buffer for the message data: small messages, the end mark and QUIT leave in one write.
const DATA_BUFFER: usize = 64 * 1024;

/// How to run a transaction: the recipient rule and what to declare about the body.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Send when at least one recipient is accepted (smtplib's rule).
    pub partial: bool,
    /// Declare BODY=8BITMIME when the server offers it even if the data is 7-bit
    /// (sendmail's -B 8BITMIME); 8-bit data always declares it.
    pub declare_8bitmime: bool,
    /// Delivery status notifications asked for (-N, -R, -V); sent when the server offers DSN.
    pub dsn: Dsn,
}

/// The server's answer for one recipient.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientResult {
    pub address: String,
    /// The reply to RCPT TO.
    pub code: u16,
    pub enhanced_code: Option<String>,
    /// What the enhanced code means (RFC 3463), e.g. "bad destination mailbox address".
    pub enhanced_meaning: Option<&'static str>,
    pub text: String,
    pub accepted: bool,
    /// The reply after the data that settled this recipient: LMTP gives one per recipient,
    /// SMTP one per transaction. `None` when the data never went to this recipient.
    pub delivery: Option<ReplySummary>,
    /// The server took the message for this recipient.
    pub delivered: bool,
    /// The RCPT reply said "too many recipients": try again in another transaction.
    #[serde(skip)]
    pub too_many: bool,
}

impl RecipientResult {
    pub(super) fn new(address: &str, reply: &Reply) -> RecipientResult {
        RecipientResult {
            address: address.to_string(),
            code: reply.code,
            enhanced_code: reply.enhanced_code(),
            enhanced_meaning: reply.enhanced_meaning(),
            text: reply.text(),
            accepted: reply.is_positive(),
            delivery: None,
            delivered: false,
            too_many: too_many_recipients(reply),
        }
    }

    /// A recipient the send never reached: an earlier refusal stopped it.
    pub(super) fn not_tried(address: &str) -> RecipientResult {
        RecipientResult {
            address: address.to_string(),
            code: 0,
            enhanced_code: None,
            enhanced_meaning: None,
            text: "not tried: the send stopped before this recipient".to_string(),
            accepted: false,
            delivery: None,
            delivered: false,
            too_many: false,
        }
    }

    /// Records the reply after the data for this (accepted) recipient.
    fn settle(&mut self, reply: &Reply) {
        self.delivery = Some(reply.into());
        self.delivered = reply.is_positive();
    }

    /// The reply that decided this recipient's fate: after the data when there was one,
    /// else the one to RCPT.
    pub fn deciding_code(&self) -> u16 {
        self.delivery.as_ref().map_or(self.code, |reply| reply.code)
    }

    /// `code text` of the deciding reply, for messages.
    pub fn deciding_reply(&self) -> String {
        match &self.delivery {
            Some(reply) => format!("{} {}", reply.code, reply.text),
            None if self.code == 0 => self.text.clone(),
            None => format!("{} {}", self.code, self.text),
        }
    }
}

/// How the transaction ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The data went out and the server answered it. SMTP: its reply after the data;
    /// LMTP: `None`, each recipient's [`RecipientResult::delivery`] holds its own.
    Sent(Option<Reply>),
    /// Some recipients were refused and the rule said not to send; nothing was sent.
    RecipientsRefused,
    /// The server refused a command (MAIL, DATA, or the data itself).
    Refused { command: &'static str, reply: Reply },
}

/// Everything the server said about one message.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub recipients: Vec<RecipientResult>,
    pub outcome: Outcome,
}

impl Delivery {
    /// Recipients refused at RCPT. When some were refused outright, those only; the ones
    /// put off as "too many recipients" or never tried are named only when nobody else is.
    pub fn refused(&self) -> Vec<&RecipientResult> {
        let not_accepted = self.recipients.iter().filter(|r| !r.accepted);
        let outright: Vec<&RecipientResult> = not_accepted
            .clone()
            .filter(|r| !r.too_many && r.code != 0)
            .collect();
        if outright.is_empty() {
            not_accepted.collect()
        } else {
            outright
        }
    }

    /// Recipients the message did not reach (refused at RCPT or after the data).
    pub fn undelivered(&self) -> impl Iterator<Item = &RecipientResult> {
        self.recipients.iter().filter(|r| !r.delivered)
    }

    pub fn delivered_count(&self) -> usize {
        self.recipients.iter().filter(|r| r.delivered).count()
    }
}

/// What goes on the wire for one message, prepared once for all its transactions.
pub(super) struct Plan<'a> {
    /// The MAIL FROM line.
    pub mail: String,
    /// The RCPT TO line of each recipient.
    pub rcpts: Vec<String>,
    pub addresses: &'a [String],
    pub content: &'a Content,
    pub partial: bool,
    /// The data goes with BDAT (RFC 3030) instead of DATA.
    pub chunking: bool,
    /// The command group of the message announced to follow this one
    /// ([`Session::pipeline_next`]), written behind this message's end mark.
    pub announced: Option<Vec<u8>>,
}

impl<'a> Plan<'a> {
    pub fn new(
        session: &mut Session,
        envelope: &'a Envelope,
        content: &'a Content,
        policy: &Policy,
    ) -> anyhow::Result<Plan<'a>> {
        let mut mail_params = mail_parameters(session, content, policy)?;
        if session.offers(smtp_proto::EXT_SMTP_UTF8)
            && super::utf8::is_international(envelope, content)
        {
            mail_params.push(MailParam::SmtpUtf8);
        }
        let dsn = dsn_request(session, &policy.dsn);
        if let Some(dsn) = dsn {
            mail_params.extend(dsn.mail_params());
        }
        let mail = Mail {
            from: &envelope.from,
            params: &mail_params,
        }
        .to_string();
        let rcpts = envelope
            .recipients
            .iter()
            .map(|to| {
                let params = dsn.map(|dsn| dsn.rcpt_params(to)).unwrap_or_default();
                Rcpt {
                    to,
                    params: &params,
                }
                .to_string()
            })
            .collect();
        Ok(Plan {
            mail,
            rcpts,
            addresses: &envelope.recipients,
            content,
            partial: policy.partial,
            chunking: session.chunking(),
            announced: None,
        })
    }

    /// MAIL FROM, the batch's RCPT TOs and, with PIPELINING and without CHUNKING, DATA: the
    /// first command group of a transaction.
    pub fn group(&self, batch: &[usize], pipelining: bool) -> Vec<u8> {
        let mut group = self.mail.clone().into_bytes();
        for &index in batch {
            group.extend_from_slice(self.rcpts[index].as_bytes());
        }
        if pipelining && !self.chunking {
            group.extend_from_slice(Data.to_string().as_bytes());
        }
        group
    }
}

/// The first command group of the message's first transaction (every recipient), for
/// writing it ahead behind the previous message's end mark.
pub(super) fn command_group(
    session: &mut Session,
    envelope: &Envelope,
    content: &Content,
    policy: &Policy,
) -> anyhow::Result<Vec<u8>> {
    let plan = Plan::new(session, envelope, content, policy)?;
    let everyone: Vec<usize> = (0..envelope.recipients.len()).collect();
    Ok(plan.group(&everyone, session.offers(EXT_PIPELINING)))
}

/// How one transaction ended.
pub(super) enum Step {
    /// The data went to the batch's accepted recipients. `deferred` are those the server
    /// put off with "too many recipients" (only under `--partial`): they go in the next one.
    Sent {
        reply: Option<Reply>,
        deferred: Vec<usize>,
    },
    /// Nothing was sent: a refusal and the recipient rule, or a refused command.
    Stopped(Outcome),
    /// All-or-nothing, and the server took only some recipients because there were too many
    /// for one transaction: nothing was sent, the transaction was abandoned.
    Deferred {
        accepted: Vec<usize>,
        deferred: Vec<usize>,
    },
}

/// RFC 5321 §4.5.3.1.10: a 452 (or 552) that says the transaction has too many recipients
/// means "send to these in another transaction", not a refusal.
pub(super) fn too_many_recipients(reply: &Reply) -> bool {
    if !matches!(reply.code, 452 | 552) {
        return false;
    }
    let enhanced = reply
        .enhanced_code()
        .is_some_and(|code| code.ends_with(".5.3"));
    enhanced
        || reply
            .text()
            .to_ascii_lowercase()
            .contains("too many recipients")
}

/// RFC 5321 §4.5.3.1.8: a server takes at least 100 recipients per transaction, so up to
/// that many cannot be put off to another one.
const MIN_RECIPIENT_LIMIT: usize = 100;

/// One transaction for the recipients in `batch` (indices into the plan), recording each
/// one's replies in `results`. `final_batch`: no other batch of this message follows, so
/// behind the data go QUIT (with `last`) or the announced next message's commands, when
/// the server offers PIPELINING and nobody was put off to another transaction.
pub(super) fn transact(
    session: &mut Session,
    plan: &Plan,
    batch: &[usize],
    results: &mut [RecipientResult],
    last: bool,
    final_batch: bool,
) -> anyhow::Result<Step> {
    let pipelining = session.offers(EXT_PIPELINING);
    let group = plan.group(batch, pipelining);
    // Written behind the previous message's end mark: only the replies are due.
    let written_ahead = match session.sent_ahead.take() {
        Some(ahead) if ahead == group => true,
        Some(_) => {
            session.broken = true;
            return Err(fail(
                Kind::Software,
                "a different message was announced for pipelining than the one sent",
            ));
        }
        None => false,
    };
    // BDAT may follow the commands before their replies only where a refused recipient
    // cannot break the rule: one recipient (the server refuses BDAT when it refused the
    // recipient), or --partial.
    if pipelining && plan.chunking && (plan.partial || batch.len() == 1) {
        let head = if written_ahead { Vec::new() } else { group };
        return all_at_once(session, plan, batch, results, last && final_batch, head);
    }

    let (mail_reply, data_reply) = envelope_replies(
        session,
        plan,
        batch,
        results,
        pipelining,
        (!written_ahead).then_some(&group),
    )?;
    if !mail_reply.is_positive() {
        abandon(session, data_reply.as_ref())?;
        return Ok(Step::Stopped(Outcome::Refused {
            command: "MAIL FROM",
            reply: mail_reply,
        }));
    }
    let (accepted, deferred, refused) = sort_out(batch, results);
    if accepted.is_empty() || (refused && !plan.partial) {
        abandon(session, data_reply.as_ref())?;
        return Ok(Step::Stopped(Outcome::RecipientsRefused));
    }
    if !deferred.is_empty() && !plan.partial {
        abandon(session, data_reply.as_ref())?;
        return Ok(Step::Deferred { accepted, deferred });
    }

    let head = match data_head(session, plan, data_reply)? {
        Ok(head) => head,
        Err(refused) => return Ok(Step::Stopped(refused)),
    };

    // Behind the data in the same write: QUIT after the last message, else the next
    // message's commands when it was announced.
    let message_done = final_batch && deferred.is_empty();
    let next_group = plan
        .announced
        .clone()
        .filter(|_| pipelining && message_done && !last);
    let quit_too = last && pipelining && message_done;
    let trailer = match &next_group {
        Some(group) => group.clone(),
        None if quit_too => command::Quit.to_string().into_bytes(),
        None => Vec::new(),
    };
    write_message(session, &head, plan.content, plan.chunking, &trailer)?;
    session.sent_ahead = next_group;
    after_data(session, plan, &accepted, deferred, results, quit_too)
}

/// The replies to MAIL and the batch's RCPTs (recorded in `results`) and, with PIPELINING
/// and DATA, to the DATA that went with them. With PIPELINING the group is written in one
/// go (`group`; `None` when it went ahead behind the previous message); without, command by
/// command, and no RCPT follows a refused MAIL.
fn envelope_replies(
    session: &mut Session,
    plan: &Plan,
    batch: &[usize],
    results: &mut [RecipientResult],
    pipelining: bool,
    group: Option<&Vec<u8>>,
) -> anyhow::Result<(Reply, Option<Reply>)> {
    let timeout = session.options.timeouts.command;
    let conn = &mut session.conn;
    if !pipelining {
        conn.send(plan.mail.as_bytes())?;
        let mail = conn.read_reply(timeout, "the reply to MAIL FROM", Expect::Completion)?;
        if mail.is_positive() {
            for &index in batch {
                conn.send(plan.rcpts[index].as_bytes())?;
                let reply = conn.read_reply(timeout, "the reply to RCPT TO", Expect::Completion)?;
                results[index] = RecipientResult::new(&plan.addresses[index], &reply);
            }
        }
        return Ok((mail, None));
    }
    if let Some(group) = group {
        conn.send(group)?;
    }
    let mail = conn.read_reply(timeout, "the reply to MAIL FROM", Expect::Completion)?;
    for &index in batch {
        let reply = conn.read_reply(timeout, "the reply to RCPT TO", Expect::Completion)?;
        results[index] = RecipientResult::new(&plan.addresses[index], &reply);
    }
    let data = match plan.chunking {
        true => None,
        false => Some(conn.read_reply(timeout, "the reply to DATA", Expect::StartInput)?),
    };
    Ok((mail, data))
}

/// What goes before the data: `BDAT n LAST`, or nothing once DATA got its 354 (sent now
/// when it was not pipelined); `Err(outcome)` when DATA was refused (the transaction then
/// reset).
fn data_head(
    session: &mut Session,
    plan: &Plan,
    data_reply: Option<Reply>,
) -> anyhow::Result<Result<Vec<u8>, Outcome>> {
    if plan.chunking {
        return Ok(Ok(BdatLast(chunk_size(plan.content))
            .to_string()
            .into_bytes()));
    }
    let timeout = session.options.timeouts.command;
    let data_reply = match data_reply {
        Some(reply) => reply,
        None => {
            session.conn.send(Data.to_string().as_bytes())?;
            session
                .conn
                .read_reply(timeout, "the reply to DATA", Expect::StartInput)?
        }
    };
    if !data_reply.is_intermediate() {
        reset(session)?;
        return Ok(Err(Outcome::Refused {
            command: "DATA",
            reply: data_reply,
        }));
    }
    Ok(Ok(Vec::new()))
}

/// PIPELINING and CHUNKING: MAIL, RCPT…, `BDAT n LAST`, the data and, when `done`, QUIT in
/// one write, then every reply: one round trip for the whole transaction.
fn all_at_once(
    session: &mut Session,
    plan: &Plan,
    batch: &[usize],
    results: &mut [RecipientResult],
    done: bool,
    mut head: Vec<u8>,
) -> anyhow::Result<Step> {
    let timeout = session.options.timeouts.command;
    // A 452 could put some of more than the minimum off to another transaction, which
    // a QUIT already sent would rule out.
    let quit_too = done && batch.len() <= MIN_RECIPIENT_LIMIT;
    let trailer = match quit_too {
        true => command::Quit.to_string().into_bytes(),
        false => Vec::new(),
    };
    head.extend_from_slice(BdatLast(chunk_size(plan.content)).to_string().as_bytes());
    write_message(session, &head, plan.content, true, &trailer)?;
    let conn = &mut session.conn;
    let mail_reply = conn.read_reply(timeout, "the reply to MAIL FROM", Expect::Completion)?;
    for &index in batch {
        let reply = conn.read_reply(timeout, "the reply to RCPT TO", Expect::Completion)?;
        results[index] = RecipientResult::new(&plan.addresses[index], &reply);
    }
    let (accepted, deferred, _) = sort_out(batch, results);
    if !mail_reply.is_positive() || accepted.is_empty() {
        // The server refuses the BDAT and discards its data (RFC 3030 §2).
        conn.read_reply(
            session.options.timeouts.data_end,
            "the reply to BDAT",
            Expect::Completion,
        )?;
        if quit_too {
            session.quit_sent = true;
            let _ = session
                .conn
                .read_reply(timeout, "the reply to QUIT", Expect::Completion);
        } else {
            reset(session)?;
        }
        return Ok(Step::Stopped(if mail_reply.is_positive() {
            Outcome::RecipientsRefused
        } else {
            Outcome::Refused {
                command: "MAIL FROM",
                reply: mail_reply,
            }
        }));
    }
    let step = after_data(session, plan, &accepted, deferred, results, quit_too)?;
    if quit_too && matches!(&step, Step::Sent { deferred, .. } if !deferred.is_empty()) {
        // QUIT is gone: the recipients put off go on a new connection.
        session.broken = true;
    }
    Ok(step)
}

/// The batch's recipients by their RCPT reply: accepted, put off ("too many recipients"),
/// and whether any was refused outright.
fn sort_out(batch: &[usize], results: &[RecipientResult]) -> (Vec<usize>, Vec<usize>, bool) {
    let (mut accepted, mut deferred, mut refused) = (Vec::new(), Vec::new(), false);
    for &index in batch {
        let result = &results[index];
        if result.accepted {
            accepted.push(index);
        } else if result.too_many {
            deferred.push(index);
        } else {
            refused = true;
        }
    }
    (accepted, deferred, refused)
}

/// The size of the one BDAT chunk, and of the message as the server stores it: the content
/// and, when it does not end with one, the CRLF that DATA's end mark adds (a binary body
/// goes exactly as it is).
fn chunk_size(content: &Content) -> u64 {
    content.len() + if pads_crlf(content) { 2 } else { 0 }
}

fn pads_crlf(content: &Content) -> bool {
    content.binary().is_none() && !content.ends_with_crlf()
}

/// The reply (SMTP) or replies (LMTP, one per accepted recipient) after the data, then the
/// reply to QUIT when it went along.
fn after_data(
    session: &mut Session,
    plan: &Plan,
    accepted: &[usize],
    deferred: Vec<usize>,
    results: &mut [RecipientResult],
    quit_too: bool,
) -> anyhow::Result<Step> {
    let step = if session.options.lmtp {
        read_lmtp_replies(session, accepted, results)?;
        Step::Sent {
            reply: None,
            deferred,
        }
    } else {
        let final_reply = session
            .conn
            .read_reply(
                session.options.timeouts.data_end,
                if plan.chunking {
                    "the reply to BDAT"
                } else {
                    "the reply after the message data"
                },
                Expect::Completion,
            )
            .map_err(|err| err.context(super::MaybeAccepted))?;
        check_final_reply(&final_reply, data_command(plan))?;
        for &index in accepted {
            results[index].settle(&final_reply);
        }
        if final_reply.is_positive() {
            Step::Sent {
                reply: Some(final_reply),
                deferred,
            }
        } else {
            Step::Stopped(Outcome::Refused {
                command: data_command(plan),
                reply: final_reply,
            })
        }
    };
    if quit_too {
        session.quit_sent = true;
        let _ = session.conn.read_reply(
            session.options.timeouts.command,
            "the reply to QUIT",
            Expect::Completion,
        );
    }
    Ok(step)
}

/// How a refusal of the data names it.
fn data_command(plan: &Plan) -> &'static str {
    match (plan.chunking, plan.content.binary_as_text()) {
        (_, true) => {
            "the message data (its body needs BINARYMIME, which the server does not offer)"
        }
        (true, false) => "the message data (BDAT)",
        (false, false) => "the message data",
    }
}

/// LMTP (RFC 2033 §4.2): after the data, one reply per accepted recipient, in RCPT order.
/// A reply lost means the server may have the message (see `super::split::lost`).
fn read_lmtp_replies(
    session: &mut Session,
    accepted: &[usize],
    results: &mut [RecipientResult],
) -> anyhow::Result<()> {
    let timeout = session.options.timeouts.data_end;
    for &index in accepted {
        let waiting_for = format!("the LMTP reply for <{}>", results[index].address);
        let reply = session
            .conn
            .read_reply(timeout, &waiting_for, Expect::Completion)
            .map_err(|err| err.context(super::MaybeAccepted))?;
        check_final_reply(
            &reply,
            &format!("the message data for <{}>", results[index].address),
        )?;
        results[index].settle(&reply);
    }
    Ok(())
}

/// Only 250 accepts a message (RFC 5321 §4.1.1.4, RFC 2033 §4.2), and 4xx or 5xx refuse it.
/// Anything else — a 221 that answered a pipelined QUIT because the reply to the data never
/// came, a 251, a 299 — breaks the protocol (76) and leaves it unknown whether the server has
/// the message: temporary for the outbox, and never tried again at once, as when the reply
/// is lost (RFC 1047).
fn check_final_reply(reply: &Reply, what: &str) -> anyhow::Result<()> {
    if reply.code == 250 || reply.code >= 400 {
        return Ok(());
    }
    Err(fail(
        Kind::Protocol,
        format!(
            "the server broke the protocol: it answered {what} with \"{} {}\" instead of 250",
            reply.code,
            reply.text()
        ),
    )
    .context(super::MaybeAccepted))
}

/// The DSN request to send: `None` when there is none, or when the server does not offer
/// DSN (RFC 3461), which a warning on stderr says once per session.
fn dsn_request<'a>(session: &mut Session, dsn: &'a Dsn) -> Option<&'a Dsn> {
    if dsn.is_empty() {
        return None;
    }
    if session.offers(EXT_DSN) {
        return Some(dsn);
    }
    if !session.warned_no_dsn {
        session.warned_no_dsn = true;
        session.conn.transcript.event(
            "dsn",
            "the server does not offer DSN; sending without NOTIFY, RET, ENVID, ORCPT",
        );
        session.notices.push(super::Notice::DsnNotOffered);
    }
    None
}

/// SIZE= and BODY= for MAIL FROM, refusing what the server cannot take.
fn mail_parameters(
    session: &Session,
    content: &Content,
    policy: &Policy,
) -> anyhow::Result<Vec<MailParam>> {
    let mut params = Vec::new();
    // The message as the server stores it, the CRLF the end of the data adds included.
    let size = chunk_size(content);
    if session.offers(EXT_SIZE) {
        if let Some(limit) = session.capabilities.size_limit()
            && size > limit
        {
            return Err(fail(
                Kind::Unavailable,
                format!("the message is {size} bytes; the server accepts at most {limit}"),
            ));
        }
        params.push(MailParam::Size(size));
    }
    if content.binary().is_some() {
        // Only left set when the server offers BINARYMIME and CHUNKING (Session::send).
        params.push(MailParam::Body(BodyType::BinaryMime));
    } else if content.has_8bit() {
        if !session.offers(EXT_8BIT_MIME) {
            return Err(fail(
                Kind::Unavailable,
                "the message has 8-bit data and the server does not offer 8BITMIME",
            ));
        }
        params.push(MailParam::Body(BodyType::EightBitMime));
    } else if policy.declare_8bitmime && session.offers(EXT_8BIT_MIME) {
        params.push(MailParam::Body(BodyType::EightBitMime));
    }
    Ok(params)
}

/// Streams `head` (commands or the BDAT line), the data and the trailer (QUIT, or the next
/// message's commands) through one buffer, the data through the [`WireEncoder`]: for DATA
/// normalised, dot-stuffed and ended by the end mark, for BDAT (`chunked`) as counted.
/// When the data cannot be written whole (a file of the message changed, the connection
/// failed), what is still buffered is dropped and the session is marked broken, so the
/// connection is closed without the end of the data (and without QUIT inside it): the
/// server discards the transaction.
fn write_message(
    session: &mut Session,
    head: &[u8],
    content: &Content,
    chunked: bool,
    trailer: &[u8],
) -> anyhow::Result<()> {
    let conn = &mut session.conn;
    let write_timeout = conn.write_timeout;
    let shows_data = conn.transcript.shows_data();
    conn.transcript.sent(head);
    let mut transcript = std::mem::replace(
        &mut conn.transcript,
        crate::smtp::transcript::Transcript::silent(),
    );
    let progress = session.options.progress.map(|bar| bar(content.len()));
    let size = chunk_size(content);
    let mut lines = 0;
    let result = conn.writer().and_then(|stream| {
        let mut writer = BufWriter::with_capacity(DATA_BUFFER, FailFast::new(stream));
        let echo = shows_data.then_some(&mut transcript);
        let written = writer.write_all(head).and_then(|()| {
            let mut encoder = match chunked {
                true => WireEncoder::chunk(&mut writer, size, content.binary().is_some(), echo),
                false => WireEncoder::data(&mut writer, echo),
            };
            let sent =
                write_content(content, &mut encoder, progress).and_then(|()| match chunked {
                    true => encoder.finish_chunk(pads_crlf(content)),
                    false => encoder.finish(),
                });
            lines = encoder.lines;
            sent
        });
        let flushed = written
            .and_then(|()| writer.write_all(trailer))
            .and_then(|()| writer.flush());
        if flushed.is_err() {
            // Not a byte more: the data must not look complete to the server.
            let _ = writer.into_parts();
        }
        flushed.map_err(|err| data_error(&err, write_timeout))
    });
    conn.transcript = transcript;
    if result.is_err() {
        session.broken = true;
    }
    result?;
    let conn = &mut session.conn;
    if !shows_data {
        conn.transcript
            .sent_data_summary(if chunked { size } else { content.len() }, lines);
    }
    if !chunked {
        conn.transcript.sent(b".\r\n");
    }
    conn.transcript.sent(trailer);
    Ok(())
}

/// The content through the encoder, telling the progress bar, when there is one.
fn write_content(
    content: &Content,
    encoder: &mut dyn Write,
    progress: Option<Box<dyn super::Progress>>,
) -> std::io::Result<()> {
    let Some(mut progress) = progress else {
        return content.write_to(encoder);
    };
    let written = content.write_to(&mut Counted {
        inner: encoder,
        progress: progress.as_mut(),
    });
    progress.finish();
    written
}

/// A writer that tells a [`super::Progress`] how much went through it.
struct Counted<'a> {
    inner: &'a mut dyn Write,
    progress: &'a mut dyn super::Progress,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.progress.advance(written as u64);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A failure while writing the data: a file of the message (66 when it vanished, else 74),
/// data that broke the wire's rule (internal, 70), or the connection (temporary).
fn data_error(err: &std::io::Error, timeout: std::time::Duration) -> anyhow::Error {
    let abandoned = "the transaction was abandoned before the end of the data";
    if let Some(inner) = err.get_ref() {
        if let Some(file) = inner.downcast_ref::<FileError>() {
            return fail(file.kind, format!("{file}; {abandoned}"));
        }
        if let Some(wire) = inner.downcast_ref::<WireError>() {
            return fail(Kind::Software, format!("{wire}; {abandoned}"));
        }
    }
    let kind = crate::base::exit::io_kind(err);
    let text = if matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ) {
        format!(
            "timed out after {}s writing the message data to the server (it stopped reading)",
            timeout.as_secs_f64()
        )
    } else if kind == Kind::TempFail {
        format!(
            "connection lost while sending the message data: {}",
            crate::base::input::plain_io(err)
        )
    } else {
        format!(
            "cannot send the message: {}",
            crate::base::input::plain_io(err)
        )
    };
    fail(kind, text)
}

/// Stops a transaction before any data: RSET, or when the server already said 354 to a
/// pipelined DATA, close the connection so it discards the transaction.
fn abandon(session: &mut Session, data_reply: Option<&Reply>) -> anyhow::Result<()> {
    if data_reply.is_some_and(Reply::is_intermediate) {
        session.conn.transcript.event(
            "abort",
            "closing the connection instead of sending the data",
        );
        session.broken = true;
        return Ok(());
    }
    reset(session)
}

fn reset(session: &mut Session) -> anyhow::Result<()> {
    session.conn.send(Rset.to_string().as_bytes())?;
    session.conn.read_reply(
        session.options.timeouts.command,
        "the reply to RSET",
        Expect::Completion,
    )?;
    Ok(())
}
