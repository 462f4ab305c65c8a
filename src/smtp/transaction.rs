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

mod write;
use write::*;

mod results;
pub use results::*;

mod commands;
pub(super) use commands::*;

mod login;
use login::*;

mod ahead;
pub(super) use ahead::*;

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
    let written_ahead = written_ahead(session, &group)?;
    // The first transaction carries the login when it was left to ride in front of it.
    let login = session.pending_login.take();
    // BDAT may follow the commands before their replies only where a refused recipient
    // cannot break the rule: one recipient (the server refuses BDAT when it refused the
    // recipient), or --partial; and never behind a login not yet confirmed.
    if pipelining && plan.chunking && (plan.partial || batch.len() == 1) && login.is_none() {
        let head = if written_ahead { Vec::new() } else { group };
        return all_at_once(session, plan, batch, results, last && final_batch, head);
    }

    let (mail_reply, data_reply) = envelope_replies(
        session,
        plan,
        batch,
        results,
        (!written_ahead).then_some(&group),
        login,
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
    after_data(
        session,
        DataName::of(plan),
        &accepted,
        deferred,
        results,
        quit_too,
    )
}

/// True when `group` was written behind the previous message's end mark, so that only its
/// replies are due; an error when a different one was.
fn written_ahead(session: &mut Session, group: &[u8]) -> anyhow::Result<bool> {
    match session.sent_ahead.take() {
        Some(ahead) if ahead == group => Ok(true),
        Some(_) => {
            session.broken = true;
            Err(fail(
                Kind::Software,
                "a different message was announced for pipelining than the one sent",
            ))
        }
        None => Ok(false),
    }
}

/// The replies to MAIL and the batch's RCPTs (recorded in `results`) and, with PIPELINING
/// and DATA, to the DATA that went with them. With PIPELINING the group is written in one
/// go (`group`; `None` when it went ahead behind the previous message), behind the login
/// when it rides in front (only ever with PIPELINING); without, command by command, and no
/// RCPT follows a refused MAIL.
fn envelope_replies(
    session: &mut Session,
    plan: &Plan,
    batch: &[usize],
    results: &mut [RecipientResult],
    group: Option<&Vec<u8>>,
    login: Option<crate::smtp::auth::PipelinedLogin>,
) -> anyhow::Result<(Reply, Option<Reply>)> {
    let timeout = session.options.timeouts.command;
    if !session.offers(EXT_PIPELINING) {
        let conn = &mut session.conn;
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
        send_group(session, group, login.as_ref())?;
    }
    if let Some(login) = &login {
        logged_in(session, login, batch.len(), !plan.chunking)?;
    }
    let conn = &mut session.conn;
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
    // A 452 could put some of more than the minimum off to another transaction, which
    // a QUIT already sent would rule out.
    let quit_too = done && batch.len() <= MIN_RECIPIENT_LIMIT;
    let trailer = match quit_too {
        true => command::Quit.to_string().into_bytes(),
        false => Vec::new(),
    };
    head.extend_from_slice(BdatLast(chunk_size(plan.content)).to_string().as_bytes());
    write_message(session, &head, plan.content, true, &trailer)?;
    let written = Written {
        reset_first: false,
        quit: quit_too,
        name: DataName::of(plan),
    };
    let step = read_ahead(session, batch, plan.addresses, results, &written)?;
    match &step {
        // Nothing was sent; the transaction may still be open on the server.
        Step::Stopped(_) if !quit_too => reset(session)?,
        // QUIT is gone: the recipients put off go on a new connection.
        Step::Sent { deferred, .. } if quit_too && !deferred.is_empty() => session.broken = true,
        _ => {}
    }
    Ok(step)
}

/// The batch's recipients by their RCPT reply: accepted, put off ("too many recipients"),
/// and whether any was refused outright.
pub(super) fn sort_out(
    batch: &[usize],
    results: &[RecipientResult],
) -> (Vec<usize>, Vec<usize>, bool) {
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
pub(super) fn after_data(
    session: &mut Session,
    name: DataName,
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
                name.reply,
                Expect::Completion,
            )
            .map_err(|err| err.context(super::MaybeAccepted))?;
        check_final_reply(&final_reply, name.command)?;
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
                command: name.command,
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

/// How the data and the reply to it are named in messages.
#[derive(Clone, Copy)]
pub(in crate::smtp) struct DataName {
    /// What the reply after the data answers: `the reply to BDAT`.
    pub reply: &'static str,
    /// How a refusal of the data names it.
    pub command: &'static str,
}

impl DataName {
    pub(in crate::smtp) fn of(plan: &Plan) -> DataName {
        let command = match (plan.chunking, plan.content.binary_as_text()) {
            (_, true) => {
                "the message data (its body needs BINARYMIME, which the server does not offer)"
            }
            (true, false) => "the message data (BDAT)",
            (false, false) => "the message data",
        };
        let reply = match plan.chunking {
            true => "the reply to BDAT",
            false => "the reply after the message data",
        };
        DataName { reply, command }
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

pub(super) fn reset(session: &mut Session) -> anyhow::Result<()> {
    session.conn.send(Rset.to_string().as_bytes())?;
    session.conn.read_reply(
        session.options.timeouts.command,
        "the reply to RSET",
        Expect::Completion,
    )?;
    Ok(())
}
