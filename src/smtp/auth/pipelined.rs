//! The login pipelined in front of the first command group: AUTH PLAIN with its initial
//! response (RFC 4954 §4).

use super::*;

/// A login that goes in front of the first command group instead of alone.
///
/// RFC 4954 §4: "When the AUTH command is used together with the [PIPELINING] extension,
/// it MUST be the last command in a pipelined group of commands. The only exception to this
/// rule is when the AUTH command contains an initial response for a SASL mechanism that
/// allows the client to send data first, the SASL mechanism is known to complete in one
/// round-trip, and a security layer is not negotiated by the client. Two examples of such
/// SASL mechanisms are PLAIN [PLAIN] and EXTERNAL [SASL]."
///
/// PLAIN is the one of smtpsend's mechanisms that is so (XOAUTH2 and OAUTHBEARER answer a
/// refused token with a 334 challenge, which a command behind them would be taken as the
/// answer to), so `AUTH PLAIN <initial response>` is written in the same write as MAIL FROM,
/// the RCPT TOs and, without CHUNKING, DATA. It is safe because the replies are read in
/// order: the one to AUTH comes first, and until it is 235 nothing of the message is
/// written. A 354 to DATA (a server that takes mail without the login) never comes before
/// it, and after a refusal the connection is closed without a byte of data, which discards
/// the transaction. With CHUNKING, `BDAT` and the data go only after the 235: they would
/// be the message itself, and smtpsend cannot know beforehand whether the server takes mail
/// without the login (many take it from their own network), so they never ride behind an
/// unconfirmed login. Any reply to AUTH but 235, 4xx or 5xx (a 334, a 250) breaks the
/// protocol: 76, nothing sent.
pub struct PipelinedLogin {
    /// The AUTH command with the initial response (it carries the secret, registered with
    /// the scrubber).
    pub line: String,
    /// What the transcript shows of it: `AUTH PLAIN `.
    pub visible: String,
    pub mechanism: Mechanism,
    user: String,
}

impl PipelinedLogin {
    /// The login as a command to pipeline, when the server offers PIPELINING and the
    /// mechanism is PLAIN; `Ok(None)` when it must go alone ([`authenticate`]).
    pub(in crate::smtp) fn prepare(
        channel: &Channel<'_>,
        login: &Login,
    ) -> anyhow::Result<Option<PipelinedLogin>> {
        if !channel.capabilities.has(smtp_proto::EXT_PIPELINING) {
            return Ok(None);
        }
        let mechanism = chosen(channel, login)?;
        if mechanism != Mechanism::Plain {
            return Ok(None);
        }
        let mut exchange = Exchange::start(mechanism, login, channel.host, channel.port);
        Ok(
            initial_command(&mut exchange).map(|(line, visible)| PipelinedLogin {
                line,
                visible,
                mechanism,
                user: login.user.clone(),
            }),
        )
    }

    /// The reply to the pipelined AUTH: 235 logs in; a refusal is 77 (5xx) or 75 (4xx),
    /// marked [`LoginRefused`].
    pub fn judge(&self, reply: &Reply) -> anyhow::Result<Mechanism> {
        match reply.code {
            235 => Ok(self.mechanism),
            _ => Err(refused(reply, &self.user, self.mechanism, None)),
        }
    }
}
