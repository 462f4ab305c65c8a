//! The session engine: connect, greet, EHLO/HELO (LHLO), transactions, QUIT.
//!
//! Follows RFC 5321 (SMTP), RFC 2033 (LMTP), RFC 2920 (PIPELINING), RFC 1870 (SIZE),
//! RFC 6152 (8BITMIME), RFC 3030 (CHUNKING, BINARYMIME), RFC 3463 (enhanced status codes) and
//! RFC 6531 (SMTPUTF8). Works over any [`stream::Stream`]; every line at the plain-text layer
//! goes through the [`transcript::Transcript`].

pub mod auth;
pub mod command;
pub mod connection;
pub mod data;
pub mod dsn;
pub mod proxy;
pub mod reply;
pub mod split;
pub mod status;
pub mod stream;
pub mod tls;
pub mod transaction;
pub mod transcript;
pub mod utf8;
pub mod window;

use std::time::Duration;

use crate::base::exit::{Kind, fail};
use auth::{Login, Mechanism};
use connection::Connection;
use reply::{Capabilities, Expect, Reply};
use stream::{Stream, Target};
use tls::{TlsInfo, TlsMode};
use transcript::Transcript;

use crate::message::{Content, Envelope};
pub use transaction::{Delivery, Outcome, Policy, RecipientResult};

mod open;
use open::*;

mod options;
pub use options::*;

/// What the user can do about a failure. The engine knows the situation; the report layer
/// says it in terms of the options (`report::error_line`). Attached to an error with
/// [`advise`], it shows nothing by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// The password was not sent over a connection where TLS was switched off.
    TlsOffForLogin,
    /// The password was not sent: the server offers no STARTTLS (implicit TLS may work).
    NoStartTlsForLogin,
    /// No greeting on a plain connection: the port may expect implicit TLS.
    ImplicitTlsPort,
    /// STARTTLS was required and is not offered.
    StartTlsRequired,
    /// The server's certificate is not trusted: a private CA can be.
    PrivateCa,
    /// The server's certificate is not the pinned one.
    PinMismatch,
    /// The certificate is for other names than the one connected to.
    NameMismatch,
    /// A certificate is pinned, and the server offers no TLS.
    PinNeedsTls,
    /// No TLS version both sides accept (a lowest version was set).
    TlsVersion,
    /// The TLS handshake met no TLS: STARTTLS or another port.
    NotTlsPort,
    /// The server wants a login first.
    LoginRequired,
    /// Neither EHLO nor HELO is known: the server may speak LMTP.
    MaybeLmtp,
}

impl std::fmt::Display for Advice {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

impl std::error::Error for Advice {}

/// Attaches advice to an error (see [`Advice`]).
pub fn advise(err: anyhow::Error, advice: Advice) -> anyhow::Error {
    err.context(advice)
}

/// What happened in a session that the user should hear about, though it failed nothing;
/// the caller says it ([`Session::take_notices`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Delivery status notifications were asked for, and the server does not offer DSN: the
    /// message goes without them.
    DsnNotOffered,
}

/// An open SMTP session, greeted and introduced.
pub struct Session {
    /// Where the session goes, for opening it again (see [`Session::reconnect`]).
    target: Target,
    conn: Connection,
    options: Options,
    greeting: Reply,
    capabilities: Capabilities,
    /// What the server offered before STARTTLS, when the session was upgraded.
    capabilities_before_tls: Option<Capabilities>,
    /// The server refused EHLO and took HELO: no extensions at all.
    helo_only: bool,
    tls: Option<TlsInfo>,
    authenticated: Option<Mechanism>,
    /// The login, when it goes in front of the first command group instead of alone
    /// (RFC 4954 §4, see [`auth::PipelinedLogin`]); taken by the first transaction.
    pending_login: Option<auth::PipelinedLogin>,
    /// QUIT was already written (pipelined behind the last message).
    quit_sent: bool,
    /// The notice that the server does not offer DSN was already given.
    warned_no_dsn: bool,
    /// Notices not yet taken by the caller.
    notices: Vec<Notice>,
    /// The command group (MAIL, RCPT…, DATA) of the message announced with
    /// [`Session::pipeline_next`], to be written behind the current message's end mark.
    next_group: Option<Vec<u8>>,
    /// A command group already written behind the previous end mark, whose replies the
    /// next transaction reads instead of writing it again.
    sent_ahead: Option<Vec<u8>>,
    /// The connection can no longer be used (a transaction was abandoned mid-data).
    broken: bool,
    /// Messages of a window written ahead of their replies ([`window`]).
    in_flight: usize,
    /// The last transaction failed and may have been left open on the server: RSET before
    /// the next one.
    dirty: bool,
}

impl Session {
    /// Connects, reads the greeting, introduces the client, sets up TLS and logs in. Each
    /// resolved address is tried in turn: one that refuses the connection, or fails
    /// temporarily before greeting (421 or another 4xx, a hang-up, no greeting in time),
    /// passes to the next.
    pub fn open(
        target: &Target,
        options: Options,
        transcript: Transcript,
    ) -> anyhow::Result<Session> {
        if crate::base::interrupt::expired() {
            return Err(fail(Kind::TempFail, crate::base::interrupt::expired_text()));
        }
        let endpoints = target.endpoints(options.proxy.as_ref())?;
        Session::open_at(target, &endpoints, options, transcript)
    }

    /// [`Session::open`] with the target's addresses already resolved.
    fn open_at(
        target: &Target,
        endpoints: &[stream::Endpoint],
        options: Options,
        transcript: Transcript,
    ) -> anyhow::Result<Session> {
        let server_name = target.host_name();
        let (mut conn, greeting, mut tls_info) =
            connect_and_greet(target, endpoints, &options, &server_name, transcript)?;
        let name = ehlo_name(&options, &conn);
        let (mut capabilities, mut helo_only) = hello(&mut conn, &name, &options)?;
        let mut capabilities_before_tls = None;
        if wants_starttls(&options, &conn, &capabilities, helo_only, &server_name)? {
            let (upgraded, info) = starttls(conn, &options, &server_name)?;
            conn = upgraded;
            tls_info = Some(info);
            let before = std::mem::take(&mut capabilities);
            (capabilities, helo_only) = hello(&mut conn, &name, &options)?;
            capabilities_before_tls = Some(before);
        }
        let (authenticated, pending_login) = match &options.login {
            Some(login) => match log_in(&mut conn, target, &options, &capabilities, login)? {
                LoggedIn::Done(mechanism) => (Some(mechanism), None),
                LoggedIn::Pipelined(pending) => (None, Some(pending)),
            },
            None => (None, None),
        };
        Ok(Session {
            target: target.clone(),
            conn,
            options,
            greeting,
            capabilities,
            capabilities_before_tls,
            helo_only,
            tls: tls_info,
            authenticated,
            pending_login,
            quit_sent: false,
            warned_no_dsn: false,
            notices: Vec::new(),
            next_group: None,
            sent_ahead: None,
            broken: false,
            in_flight: 0,
            dirty: false,
        })
    }

    /// What TLS negotiated, when the session is encrypted.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// The SASL mechanism used to log in, if any.
    pub fn authenticated(&self) -> Option<Mechanism> {
        self.authenticated
    }

    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// What the server offered before STARTTLS (and forgot, RFC 3207 §4.2), when the session
    /// was upgraded.
    pub fn capabilities_before_tls(&self) -> Option<&Capabilities> {
        self.capabilities_before_tls.as_ref()
    }

    /// What the user should hear about since the last call (see [`Notice`]).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// True when the session speaks LMTP.
    pub fn is_lmtp(&self) -> bool {
        self.options.lmtp
    }

    /// True when the server refused EHLO and took HELO (it offers no extensions).
    pub fn helo_only(&self) -> bool {
        self.helo_only
    }

    /// Sends one command outside a transaction (NOOP, VRFY, EXPN) and reads its reply;
    /// `waiting_for` names the reply in errors.
    pub fn command(
        &mut self,
        command: &dyn std::fmt::Display,
        waiting_for: &str,
    ) -> anyhow::Result<Reply> {
        self.finish_login()?;
        self.conn.send(command.to_string().as_bytes())?;
        self.conn.read_reply(
            self.options.timeouts.command,
            waiting_for,
            Expect::Completion,
        )
    }

    /// True when the server offers the extension (never after a HELO fallback).
    pub fn offers(&self, extension: u32) -> bool {
        !self.helo_only && self.capabilities.has(extension)
    }

    /// True when messages go with BDAT (RFC 3030): the server offers CHUNKING and
    /// `--no-chunking` was not given.
    pub fn chunking(&self) -> bool {
        !self.options.no_chunking && self.offers(smtp_proto::EXT_CHUNKING)
    }

    /// Opens the session again, same server and options, after a transaction was abandoned
    /// by closing the connection; the transcript carries on.
    fn reconnect(&mut self) -> anyhow::Result<()> {
        let transcript = std::mem::replace(&mut self.conn.transcript, Transcript::silent());
        let fresh = Session::open(&self.target, self.options.clone(), transcript)?;
        let warned_no_dsn = self.warned_no_dsn;
        *self = fresh;
        self.warned_no_dsn = warned_no_dsn;
        Ok(())
    }

    /// False once a transaction was abandoned by closing the connection, or QUIT went:
    /// open a new session.
    pub fn is_usable(&self) -> bool {
        !self.broken && !self.quit_sent
    }

    /// Runs one mail transaction. With `last`, QUIT is pipelined behind the data when the
    /// server offers PIPELINING.
    pub fn send(
        &mut self,
        envelope: &crate::message::Envelope,
        content: &crate::message::Content,
        policy: &Policy,
        last: bool,
    ) -> anyhow::Result<Delivery> {
        if self.broken || self.in_flight > 0 {
            return Err(fail(Kind::Software, "the session was abandoned"));
        }
        if self.dirty {
            transaction::reset(self)?;
            self.dirty = false;
        }
        let (envelope, content) = self.for_this_server(envelope, content)?;
        split::run(self, &envelope, &content, policy, last)
    }

    /// Announces the message that follows the next [`Session::send`]: with PIPELINING its
    /// MAIL, RCPT and DATA are written in the same write as that message's end mark
    /// (RFC 2920 §3.1), saving a round trip per message. Call it right before `send`, and
    /// send exactly this message next.
    pub fn pipeline_next(&mut self, envelope: &Envelope, content: &Content, policy: &Policy) {
        self.next_group = match self.for_this_server(envelope, content) {
            Ok((envelope, content)) => {
                transaction::command_group(self, &envelope, &content, policy).ok()
            }
            Err(_) => None,
        };
    }

    /// The message as this server can take it: as it is when the server offers SMTPUTF8 or
    /// the message is ASCII; otherwise with A-label domains (RFC 6531, see [`utf8`]). A body
    /// that needs BINARYMIME goes as text with CRLF line ends to a server without it, or,
    /// when it has a NUL byte, not at all (69, before MAIL).
    fn for_this_server<'a>(
        &mut self,
        envelope: &'a Envelope,
        content: &'a Content,
    ) -> anyhow::Result<(
        std::borrow::Cow<'a, Envelope>,
        std::borrow::Cow<'a, Content>,
    )> {
        let offered = self.offers(smtp_proto::EXT_SMTP_UTF8);
        let international = utf8::is_international(envelope, content);
        let (envelope, mut content) = utf8::adapt(offered, envelope, content)?;
        if !offered && international {
            self.conn.transcript.event(
                "smtputf8",
                "the server does not offer SMTPUTF8: domains sent as A-labels (IDNA)",
            );
        }
        if let Some(why) = content.binary().map(str::to_owned)
            && !(self.chunking() && self.offers(smtp_proto::EXT_BINARY_MIME))
        {
            // DATA, and BDAT without BINARYMIME, carry text: a NUL byte has no place in it.
            let Some(as_text) = content.without_binary() else {
                return Err(fail(
                    Kind::Unavailable,
                    "the body has a NUL byte and the server does not offer BINARYMIME with \
                     CHUNKING, which alone can carry one; nothing was sent",
                ));
            };
            let note = format!(
                "{why} and the server does not offer BINARYMIME with CHUNKING: sending it as \
                 text with line ends made CRLF; the server may refuse or change it"
            );
            self.conn.transcript.event("binarymime", &note);
            content = std::borrow::Cow::Owned(as_text);
        }
        Ok((envelope, content))
    }

    /// Ends the session with QUIT and returns the server's reply (for `--check`, where the
    /// reply matters).
    pub fn close(mut self) -> anyhow::Result<Reply> {
        self.finish_login()?;
        self.quit_sent = true;
        self.command(&command::Quit, "the reply to QUIT")
    }

    /// Ends the session after a failed send: with QUIT when every command got its reply
    /// (the send was refused here, e.g. a message over the server's SIZE limit, or by a
    /// reply), else by closing, since the connection is in an unknown state.
    pub fn leave(self) {
        if self.conn.in_step() {
            self.quit();
        }
    }

    /// Ends the session politely; errors at this point do not matter to the outcome.
    pub fn quit(mut self) {
        if self.broken || self.sent_ahead.is_some() {
            // A pipelined transaction is waiting for its data: closing discards it.
            return;
        }
        if !self.quit_sent {
            if self
                .conn
                .send(command::Quit.to_string().as_bytes())
                .is_err()
            {
                return;
            }
            let _ = self.conn.read_reply(
                self.options.timeouts.command,
                "the reply to QUIT",
                Expect::Completion,
            );
        }
    }
}

/// Marks an error that came after the whole message data, end mark included, was written
/// and before the server's reply to it was read: the server may have accepted the message
/// without the client learning it (RFC 1047). It is a temporary failure, but sending the
/// message again may deliver it twice, so it is never retried at once.
#[derive(Debug)]
pub struct MaybeAccepted;

impl std::fmt::Display for MaybeAccepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server may have accepted the message (its reply was lost)")
    }
}

/// True when the error came in the window where the server may have accepted the message.
pub fn maybe_accepted(err: &anyhow::Error) -> bool {
    err.downcast_ref::<MaybeAccepted>().is_some()
}

/// The error for a refused command: 4xx is temporary (75), 5xx permanent (69).
pub fn refusal(reply: &Reply, command: &str) -> anyhow::Error {
    let kind = if reply.is_transient() {
        Kind::TempFail
    } else {
        Kind::Unavailable
    };
    let err = fail(kind, format!("server refused {command}: {reply}"));
    match (command, reply.code) {
        (_, 530) => advise(err, Advice::LoginRequired),
        ("HELO", 500 | 502) => advise(err, Advice::MaybeLmtp),
        _ => err,
    }
}

#[cfg(test)]
mod tests;
