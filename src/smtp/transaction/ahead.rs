//! A transaction written whole before any of its replies is read: MAIL FROM, the RCPT TOs,
//! `BDAT n LAST` and the data, with RSET in front when the transaction before it may still be
//! open and QUIT behind the last one. RFC 2920 §3.1 lets RSET, MAIL and RCPT stand anywhere
//! in a group, and RFC 3030 §4.2 lets BDAT be pipelined, its data following at once. The
//! replies are read in the order the commands went, each by its command's class. One
//! message so costs one round trip, and a window of messages one between them all
//! ([`crate::smtp::window`]).

use super::*;

/// What was written for one message, and so what its replies must be.
pub(in crate::smtp) struct Written {
    /// RSET went first: the transaction before it may have been left open.
    pub reset_first: bool,
    /// QUIT went behind the data.
    pub quit: bool,
    pub name: DataName,
}

/// The replies of a transaction written whole: RSET's when it went first, MAIL's, one per
/// RCPT (recorded in `results`), then BDAT's (SMTP: one; LMTP: one per accepted recipient,
/// or the one refusal when none was accepted) and QUIT's. Any failure to read them means the
/// server may have the message (RFC 1047): its data was written whole, and a server that
/// answers a group only once it has read all of it may have taken the message before the
/// connection failed. A BDAT accepted after a refused MAIL, or with every recipient refused,
/// breaks the protocol (76) the same way.
pub(in crate::smtp) fn read_ahead(
    session: &mut Session,
    batch: &[usize],
    addresses: &[String],
    results: &mut [RecipientResult],
    written: &Written,
) -> anyhow::Result<Step> {
    read_replies(session, batch, addresses, results, written).map_err(|err| {
        session.broken |= !session.conn.in_step();
        match crate::smtp::maybe_accepted(&err) {
            true => err,
            false => err.context(crate::smtp::MaybeAccepted),
        }
    })
}

fn read_replies(
    session: &mut Session,
    batch: &[usize],
    addresses: &[String],
    results: &mut [RecipientResult],
    written: &Written,
) -> anyhow::Result<Step> {
    let timeout = session.options.timeouts.command;
    let lmtp = session.options.lmtp;
    let conn = &mut session.conn;
    if written.reset_first {
        let reply = conn.read_reply(timeout, "the reply to RSET", Expect::Completion)?;
        if !reply.is_positive() {
            return Err(fail(
                Kind::Protocol,
                format!(
                    "the server refused RSET ({reply}) in front of a pipelined transaction: \
                     the state of the session is unknown"
                ),
            ));
        }
    }
    let mail_reply = conn.read_reply(timeout, "the reply to MAIL FROM", Expect::Completion)?;
    for &index in batch {
        let reply = conn.read_reply(timeout, "the reply to RCPT TO", Expect::Completion)?;
        results[index] = RecipientResult::new(&addresses[index], &reply);
    }
    let (accepted, deferred, _) = sort_out(batch, results);
    if lmtp {
        // One reply to BDAT per accepted recipient, or one refusal when there is none.
        conn.forgive(batch.len() - accepted.len().max(1));
    }
    if mail_reply.is_positive() && !accepted.is_empty() {
        return after_data(
            session,
            written.name,
            &accepted,
            deferred,
            results,
            written.quit,
        );
    }
    // The server refuses the BDAT and discards its data (RFC 3030 §2).
    let bdat = conn.read_reply(
        session.options.timeouts.data_end,
        written.name.reply,
        Expect::Completion,
    )?;
    let refused = match mail_reply.is_positive() {
        true => "every recipient",
        false => "MAIL FROM",
    };
    if bdat.is_positive() {
        return Err(fail(
            Kind::Protocol,
            format!(
                "the server broke the protocol: it accepted the message data (\"{bdat}\") \
                 after it refused {refused}"
            ),
        ));
    }
    if written.quit {
        session.quit_sent = true;
        let _ = session
            .conn
            .read_reply(timeout, "the reply to QUIT", Expect::Completion);
    }
    Ok(Step::Stopped(match mail_reply.is_positive() {
        true => Outcome::RecipientsRefused,
        false => Outcome::Refused {
            command: "MAIL FROM",
            reply: mail_reply,
        },
    }))
}

/// Writes `[RSET] MAIL RCPT… BDAT n LAST <data> [QUIT]` for a message held in memory into
/// the connection's held output, which leaves with the next write or before the next reply
/// is waited for, so that a window's messages go in as few writes as they fit. The data goes
/// through the [`WireEncoder`] like every other. A failure before any of the message reached
/// the stream takes it back whole (the message fails alone); after, the session is broken.
pub(in crate::smtp) fn hold_message(
    session: &mut Session,
    plan: &Plan,
    batch: &[usize],
    reset_first: bool,
    quit: bool,
) -> anyhow::Result<Written> {
    let mut head = match reset_first {
        true => Rset.to_string().into_bytes(),
        false => Vec::new(),
    };
    head.extend(plan.group(batch, true));
    let size = chunk_size(plan.content);
    head.extend_from_slice(BdatLast(size).to_string().as_bytes());
    let trailer = match quit {
        true => command::Quit.to_string().into_bytes(),
        false => Vec::new(),
    };
    let conn = &mut session.conn;
    let mark = conn.written_mark();
    let write_timeout = conn.write_timeout;
    let mut transcript = std::mem::replace(
        &mut conn.transcript,
        crate::smtp::transcript::Transcript::silent(),
    );
    transcript.sent(&head);
    let shows_data = transcript.shows_data();
    let mut lines = 0;
    let written = {
        let mut out = Held(conn);
        let echo = shows_data.then_some(&mut transcript);
        out.write_all(&head).and_then(|()| {
            let binary = plan.content.binary().is_some();
            let mut encoder = WireEncoder::chunk(&mut out, size, binary, echo);
            let sent = plan
                .content
                .write_to(&mut encoder)
                .and_then(|()| encoder.finish_chunk(pads_crlf(plan.content)));
            lines = encoder.lines;
            sent
        })
    }
    .and_then(|()| conn.hold(&trailer));
    conn.transcript = transcript;
    if let Err(err) = written {
        if !conn.take_back(mark) {
            session.broken = true;
        }
        return Err(data_error(&err, write_timeout));
    }
    if !shows_data {
        conn.transcript.sent_data_summary(size, lines);
    }
    conn.transcript.sent(&trailer);
    // RSET, MAIL, each RCPT, QUIT; and the data: once under SMTP, once per recipient under
    // LMTP (fewer when some are refused: see `read_ahead`).
    let data_replies = if session.options.lmtp { batch.len() } else { 1 };
    conn.owe(crate::smtp::connection::command_lines(&head) - 1 + data_replies);
    conn.owe(crate::smtp::connection::command_lines(&trailer));
    Ok(Written {
        reset_first,
        quit,
        name: DataName::of(plan),
    })
}

/// Writes into the connection's held output.
struct Held<'a>(&'a mut crate::smtp::connection::Connection);

impl Write for Held<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.hold(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
