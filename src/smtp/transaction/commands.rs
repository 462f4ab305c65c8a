//! The commands of a message's transactions, prepared once: MAIL FROM with its parameters (SIZE, BODY, SMTPUTF8, DSN), each RCPT TO, the first command group.

use super::*;

/// What goes on the wire for one message, prepared once for all its transactions.
pub(in crate::smtp) struct Plan<'a> {
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
            && crate::smtp::utf8::is_international(envelope, content)
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
pub(in crate::smtp) fn command_group(
    session: &mut Session,
    envelope: &Envelope,
    content: &Content,
    policy: &Policy,
) -> anyhow::Result<Vec<u8>> {
    let plan = Plan::new(session, envelope, content, policy)?;
    let everyone: Vec<usize> = (0..envelope.recipients.len()).collect();
    Ok(plan.group(&everyone, session.offers(EXT_PIPELINING)))
}

/// The DSN request to send: `None` when there is none, or when the server does not offer
/// DSN (RFC 3461), which a warning on stderr says once per session.
pub(in crate::smtp) fn dsn_request<'a>(session: &mut Session, dsn: &'a Dsn) -> Option<&'a Dsn> {
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
        session.notices.push(crate::smtp::Notice::DsnNotOffered);
    }
    None
}

/// SIZE= and BODY= for MAIL FROM, refusing what the server cannot take.
pub(in crate::smtp) fn mail_parameters(
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
