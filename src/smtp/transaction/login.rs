//! The login pipelined in front of a transaction's first command group (RFC 4954 §4; what
//! rides with it and why that is safe: [`crate::smtp::auth::PipelinedLogin`]).

use super::*;
use crate::smtp::auth::PipelinedLogin;

/// Writes the command group, behind the pipelined AUTH when there is one, in one write.
pub(super) fn send_group(
    session: &mut Session,
    group: &[u8],
    login: Option<&PipelinedLogin>,
) -> anyhow::Result<()> {
    match login {
        Some(login) => session
            .conn
            .send_secret_then(login.line.as_bytes(), &login.visible, group),
        None => session.conn.send(group),
    }
}

/// Reads the reply to the pipelined AUTH, the first of the group's. With 235 the session is
/// logged in and the group's other replies follow as usual. A refusal is the error (77, or
/// 75 for 4xx): the group's other replies are read first, each by its command's class
/// (`rcpts` RCPT TOs, and DATA when `data` is set), and then, when DATA got its 354 from a
/// server that takes mail without the login, the connection is closed with no byte of the
/// message, which discards the transaction; otherwise QUIT ends the session as usual.
pub(super) fn logged_in(
    session: &mut Session,
    login: &PipelinedLogin,
    rcpts: usize,
    data: bool,
) -> anyhow::Result<()> {
    let timeout = session.options.timeouts.command;
    let waiting = format!("the reply to AUTH {}", login.mechanism.name());
    let reply = session
        .conn
        .read_reply(timeout, &waiting, Expect::LoggedIn)?;
    let refused = match login.judge(&reply) {
        Ok(mechanism) => {
            session.authenticated = Some(mechanism);
            return Ok(());
        }
        Err(refused) => refused,
    };
    let conn = &mut session.conn;
    let mut rest = vec![("the reply to MAIL FROM", Expect::Completion)];
    rest.extend((0..rcpts).map(|_| ("the reply to RCPT TO", Expect::Completion)));
    if data {
        rest.push(("the reply to DATA", Expect::StartInput));
    }
    for (waiting, expect) in rest {
        match conn.read_reply(timeout, waiting, expect) {
            Ok(reply) if reply.code == 354 => {
                conn.transcript.event(
                    "abort",
                    "the login was refused: closing the connection instead of sending the data",
                );
                session.broken = true;
                break;
            }
            Ok(_) => {}
            Err(_) => {
                session.broken = true;
                break;
            }
        }
    }
    Err(refused)
}
