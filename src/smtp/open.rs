//! Opening a session: connecting to each address in turn, the greeting, EHLO (HELO, LHLO), STARTTLS and the login.

use super::*;

/// How the login went: done, or prepared to go in front of the first command group.
pub(super) enum LoggedIn {
    Done(Mechanism),
    Pipelined(auth::PipelinedLogin),
}

/// Logs in (RFC 4954), never sending the password over an unencrypted connection except to
/// a loopback address or a unix socket; or, when it may ride in front of the first command
/// group (see [`auth::PipelinedLogin`]) and `options.login_at_open` is off, prepares it for
/// that. After a refusal the session ends with QUIT; after a timeout or a broken reply it
/// is left (a QUIT would wait out a second deadline).
pub(super) fn log_in(
    conn: &mut Connection,
    target: &Target,
    options: &Options,
    capabilities: &Capabilities,
    login: &Login,
) -> anyhow::Result<LoggedIn> {
    let server_name = target.host_name();
    let encrypted = conn.stream().is_encrypted();
    if !encrypted && !conn.stream().is_local() {
        let _ = conn.send(command::Quit.to_string().as_bytes());
        let (kind, advice) = match options.tls {
            TlsMode::None => (Kind::Usage, Advice::TlsOffForLogin),
            _ => (Kind::Unavailable, Advice::NoStartTlsForLogin),
        };
        let text = format!(
            "will not send the password for {} to {server_name} over an unencrypted connection",
            login.user
        );
        return Err(advise(fail(kind, text), advice));
    }
    let port = match target {
        Target::Tcp { port, .. } => *port,
        Target::Unix(_) => 0,
    };
    let timeout = options.timeouts.command;
    let attempt = |conn: &mut Connection, login: &Login| {
        let channel = auth::Channel {
            conn,
            capabilities,
            timeout,
            encrypted,
            host: &server_name,
            port,
        };
        auth::authenticate(channel, login)
    };
    // A login that can renew its token (OAuth2) goes alone: its refusal is answered by a
    // second attempt, which a pipelined group behind it would not wait for.
    if !options.login_at_open && login.renew.is_none() {
        let channel = auth::Channel {
            conn: &mut *conn,
            capabilities,
            timeout,
            encrypted,
            host: &server_name,
            port,
        };
        match auth::PipelinedLogin::prepare(&channel, login) {
            Ok(Some(pipelined)) => return Ok(LoggedIn::Pipelined(pipelined)),
            Ok(None) => {}
            Err(err) => return Err(quit_after(conn, timeout, err)),
        }
    }
    let result = match (attempt(conn, login), &login.renew) {
        // A refused token may have expired early or been revoked: once more with a fresh one.
        (Err(err), Some(renew)) if refused_login(&err) && conn.in_step() => {
            conn.transcript.event(
                "auth",
                "the token was refused; trying once more with a fresh one",
            );
            match (renew.0)(&login.secret) {
                Ok(fresh) if fresh != login.secret => {
                    let again = Login {
                        secret: fresh,
                        ..login.clone()
                    };
                    attempt(conn, &again)
                }
                Ok(_) => Err(err),
                Err(renew_err) => Err(renew_err),
            }
        }
        (result, _) => result,
    };
    result
        .map(LoggedIn::Done)
        .map_err(|err| quit_after(conn, timeout, err))
}

/// Ends the session with QUIT after a failed login, when the connection is still in step
/// (after a timeout or a broken reply a QUIT would wait out a second deadline).
fn quit_after(conn: &mut Connection, timeout: Duration, err: anyhow::Error) -> anyhow::Error {
    if conn.in_step() && conn.send(command::Quit.to_string().as_bytes()).is_ok() {
        let _ = conn.read_reply(timeout, "the reply to QUIT", Expect::Completion);
    }
    err
}

/// True when the server refused the login itself (535 and the like, 77).
fn refused_login(err: &anyhow::Error) -> bool {
    crate::base::exit::code_for(err) == Kind::AuthRefused.code()
}

/// Connects to the addresses in turn until one greets with 2xx (after the implicit TLS
/// handshake when asked for). A temporary failure passes to the next address; the last
/// failure is the error.
pub(super) fn connect_and_greet(
    target: &Target,
    endpoints: &[stream::Endpoint],
    options: &Options,
    server_name: &str,
    mut transcript: Transcript,
) -> anyhow::Result<(Connection, Reply, Option<TlsInfo>)> {
    let timeouts = options.timeouts;
    let mut failure = None;
    for (index, endpoint) in endpoints.iter().enumerate() {
        let more = index + 1 < endpoints.len();
        let passes_on =
            |err: &anyhow::Error| more && crate::base::exit::code_for(err) == Kind::TempFail.code();
        let from = options.source_address;
        let mut stream =
            match Stream::connect_endpoint(endpoint, timeouts.connect, from, &mut transcript) {
                Ok(stream) => stream,
                Err(err) => {
                    failure = Some(stream::connect_error(target, &err));
                    continue;
                }
            };
        let mut tls_info = None;
        if options.tls == TlsMode::Implicit {
            match tls::handshake(stream, server_name, &options.tls_config, timeouts.connect) {
                Ok((secure, info)) => {
                    transcript.event("tls", &info.summary());
                    stream = secure;
                    tls_info = Some(info);
                }
                Err(err) if passes_on(&err) => {
                    next_address(&mut transcript, endpoint, &err);
                    failure = Some(err);
                    continue;
                }
                Err(err) => return Err(err),
            }
        }
        let mut conn = Connection::new(stream, transcript, timeouts.command);
        match greet(&mut conn, timeouts.command) {
            Ok(greeting) => return Ok((conn, greeting, tls_info)),
            Err(err) if passes_on(&err) => {
                next_address(&mut conn.transcript, endpoint, &err);
                transcript = conn.into_parts().1;
                failure = Some(err);
            }
            Err(err) => return Err(err),
        }
    }
    Err(failure.unwrap_or_else(|| fail(Kind::NoHost, format!("{target} has no address"))))
}

pub(super) fn next_address(
    transcript: &mut Transcript,
    endpoint: &stream::Endpoint,
    err: &anyhow::Error,
) {
    transcript.event(
        "connect",
        &format!(
            "{endpoint}: {}; trying the next address",
            crate::base::exit::one_line(err)
        ),
    );
}

/// Reads the greeting; anything but 2xx is an error (QUIT is sent after a refusal).
pub(super) fn greet(conn: &mut Connection, timeout: Duration) -> anyhow::Result<Reply> {
    let plain_tcp = conn.stream().local_ip().is_some() && !conn.stream().is_encrypted();
    let greeting = conn
        .read_reply(timeout, "the greeting", Expect::Completion)
        .map_err(|err| {
            // An implicit-TLS port (465) waits for the client's TLS hello and says nothing.
            let timed_out = crate::base::exit::one_line(&err).starts_with("timed out");
            if plain_tcp && timed_out {
                advise(err, Advice::ImplicitTlsPort)
            } else {
                err
            }
        })?;
    if greeting.is_positive() {
        return Ok(greeting);
    }
    let kind = if greeting.is_permanent() {
        Kind::Unavailable
    } else {
        Kind::TempFail
    };
    let _ = conn.send(command::Quit.to_string().as_bytes());
    Err(fail(
        kind,
        format!("server refused the connection: {greeting}"),
    ))
}

/// EHLO, falling back to HELO when the server does not know EHLO (LMTP: LHLO, which has
/// no fallback). Returns the capabilities and whether only HELO worked.
pub(super) fn hello(
    conn: &mut Connection,
    name: &str,
    options: &Options,
) -> anyhow::Result<(Capabilities, bool)> {
    let timeout = options.timeouts.command;
    if options.lmtp {
        conn.send(command::Lhlo(name).to_string().as_bytes())?;
        let reply = conn.read_reply(timeout, "the reply to LHLO", Expect::Completion)?;
        if !reply.is_positive() {
            return Err(refusal(&reply, "LHLO"));
        }
        return Ok((Capabilities::from_ehlo(&reply), false));
    }
    conn.send(command::Ehlo(name).to_string().as_bytes())?;
    let reply = conn.read_reply(timeout, "the reply to EHLO", Expect::Completion)?;
    if reply.is_positive() {
        return Ok((Capabilities::from_ehlo(&reply), false));
    }
    conn.send(command::Helo(name).to_string().as_bytes())?;
    let reply = conn.read_reply(timeout, "the reply to HELO", Expect::Completion)?;
    if !reply.is_positive() {
        return Err(refusal(&reply, "HELO"));
    }
    Ok((Capabilities::default(), true))
}

/// The EHLO name: `--ehlo-name`, else this host's name when it is qualified, else an
/// address literal.
pub(super) fn ehlo_name(options: &Options, conn: &Connection) -> String {
    if let Some(name) = &options.ehlo_name {
        return name.clone();
    }
    let host = crate::base::host::hostname();
    if host.contains('.') {
        return host;
    }
    match conn.stream().local_ip() {
        Some(std::net::IpAddr::V4(ip)) => format!("[{ip}]"),
        Some(std::net::IpAddr::V6(ip)) => format!("[IPv6:{ip}]"),
        None if !host.is_empty() => host,
        None => "localhost".to_string(),
    }
}

/// Whether to issue STARTTLS now; an error when TLS is required and not offered.
pub(super) fn wants_starttls(
    options: &Options,
    conn: &Connection,
    capabilities: &Capabilities,
    helo_only: bool,
    server_name: &str,
) -> anyhow::Result<bool> {
    if conn.stream().is_encrypted() {
        return Ok(false);
    }
    let offered = !helo_only && capabilities.has(smtp_proto::EXT_START_TLS);
    // A pinned certificate means TLS, to a local server too.
    let mode = match options.tls {
        TlsMode::Auto if options.tls_config.policy.requires_tls() => TlsMode::Starttls,
        mode => mode,
    };
    match mode {
        TlsMode::None | TlsMode::Implicit => Ok(false),
        // A local server that keeps AUTH for encrypted sessions (Postfix's
        // smtpd_tls_auth_only) gets STARTTLS when there is a login to do.
        TlsMode::Auto => Ok(offered
            && (options.starttls_on_local
                || !conn.stream().is_local()
                || (options.login.is_some() && !capabilities.has(smtp_proto::EXT_AUTH)))),
        TlsMode::Starttls if offered => Ok(true),
        TlsMode::Starttls => Err(advise(
            fail(
                Kind::Unavailable,
                format!("{server_name} does not offer STARTTLS; nothing was sent"),
            ),
            match options.tls {
                TlsMode::Starttls => Advice::StartTlsRequired,
                _ => Advice::PinNeedsTls,
            },
        )),
    }
}

/// STARTTLS (RFC 3207): the command, the handshake, and a fresh connection over TLS.
/// What was learnt before TLS is forgotten; the caller says EHLO again.
pub(super) fn starttls(
    mut conn: Connection,
    options: &Options,
    server_name: &str,
) -> anyhow::Result<(Connection, TlsInfo)> {
    let timeouts = options.timeouts;
    conn.send(command::StartTls.to_string().as_bytes())?;
    let reply = conn.read_reply(timeouts.command, "the reply to STARTTLS", Expect::TlsReady)?;
    if reply.code != 220 {
        let _ = conn.send(command::Quit.to_string().as_bytes());
        // 454 is "TLS not available due to temporary reason" (RFC 3207): try again later.
        let kind = if reply.is_transient() {
            Kind::TempFail
        } else {
            Kind::Unavailable
        };
        return Err(fail(
            kind,
            format!("{server_name} refused STARTTLS: {reply}; nothing was sent"),
        ));
    }
    if conn.has_buffered_input() {
        return Err(fail(
            Kind::Protocol,
            "the server sent data after its STARTTLS reply, before TLS began (a possible injection attack); nothing was sent",
        ));
    }
    let (stream, mut transcript) = conn.into_parts();
    let (stream, info) =
        tls::handshake(stream, server_name, &options.tls_config, timeouts.connect)?;
    transcript.event("tls", &info.summary());
    Ok((Connection::new(stream, transcript, timeouts.command), info))
}

impl Session {
    /// Sends the login alone when it still waits for a command group to ride in front of
    /// (before a command that is no transaction).
    pub(super) fn finish_login(&mut self) -> anyhow::Result<()> {
        let Some(login) = self.pending_login.take() else {
            return Ok(());
        };
        self.conn
            .send_secret(login.line.as_bytes(), &login.visible)?;
        let waiting = format!("the reply to AUTH {}", login.mechanism.name());
        let reply =
            self.conn
                .read_reply(self.options.timeouts.command, &waiting, Expect::LoggedIn)?;
        self.authenticated = Some(login.judge(&reply)?);
        Ok(())
    }
}
