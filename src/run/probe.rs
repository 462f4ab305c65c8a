//! The probes: `--verify` (VRFY), `--expn` (EXPN), `--server-info` (greeting, extensions
//! explained, the TLS session) and `--check` (connect, EHLO, NOOP, QUIT), each one session
//! that sends no message.

use serde::Serialize;

use crate::base::exit::{Kind, fail};
use crate::plan::{Output, Probe, ProbeKind};
use crate::report::JsonPrinted;
use crate::report::server_info::{ServerInfo, hello_verb};
use crate::smtp::command::{Expn, Noop, Vrfy};
use crate::smtp::reply::{Reply, ReplySummary};
use crate::smtp::tls::TlsInfo;
use crate::smtp::transcript::Transcript;
use crate::smtp::{Session, refusal};

/// Opens a session as a send would (TLS, login when a user is set) and runs the probe.
pub fn run(plan: Probe) -> anyhow::Result<()> {
    let Probe {
        kind: probe,
        settings,
        output,
    } = plan;
    let mut options = settings.session_options()?;
    options.progress = None;
    // The server's TLS is part of what --server-info reports, loopback or not; --check does
    // what a send would do, so that it fails exactly when a send would.
    options.starttls_on_local = probe == ProbeKind::ServerInfo;
    // A probe reports the login as part of the session, so it is done before anything else.
    options.login_at_open = true;
    let tls_mode = options.tls;
    let server = settings.target.to_string();
    let mut session = Session::open(
        &settings.target,
        options,
        Transcript::new(output.debug, crate::report::transcript_line),
    )?;
    match probe {
        ProbeKind::Verify(address) => {
            let reply = utf8_argument(&session, &address)
                .and_then(|argument| session.command(&Vrfy(&argument), "the reply to VRFY"));
            session.quit();
            answer(output, "verify", &address, &reply?)
        }
        ProbeKind::Expn(list) => {
            let reply = utf8_argument(&session, &list)
                .and_then(|argument| session.command(&Expn(&argument), "the reply to EXPN"));
            session.quit();
            answer(output, "expn", &list, &reply?)
        }
        ProbeKind::ServerInfo => {
            let info = ServerInfo::of(&session, &server, tls_mode);
            session.quit();
            if output.json {
                print_json(&info);
            } else {
                crate::base::output::print_stdout(&info.text());
            }
            Ok(())
        }
        ProbeKind::Check => check(output, session, &server),
    }
}

/// The VRFY or EXPN argument: as given when ASCII; UTF-8 with the SMTPUTF8 parameter when
/// the server offers it (RFC 6531 §3.7.4.2); else with the domain as A-labels, or an error
/// (69) when the local part is not ASCII.
fn utf8_argument(session: &Session, query: &str) -> anyhow::Result<String> {
    if query.is_ascii() {
        Ok(query.to_string())
    } else if session.offers(smtp_proto::EXT_SMTP_UTF8) {
        Ok(format!("{query} SMTPUTF8"))
    } else {
        crate::smtp::utf8::ascii_address(query)
    }
}

/// Prints the VRFY or EXPN answer and decides the exit code: 2xx is 0, 550/551/553 (no such
/// mailbox or list) 67, any other 5xx (the server does not do this) 69, 4xx 75.
fn answer(output: Output, probe: &'static str, asked: &str, reply: &Reply) -> anyhow::Result<()> {
    let verb = if probe == "verify" { "VRFY" } else { "EXPN" };
    let verdict = if reply.is_positive() {
        Ok(())
    } else if [550, 551, 553].contains(&reply.code) {
        let what = if probe == "verify" {
            "address"
        } else {
            "mailing list"
        };
        Err(fail(
            Kind::RecipientRefused,
            format!("the server does not know the {what} {asked}: {reply}"),
        ))
    } else if reply.is_transient() {
        Err(fail(
            Kind::TempFail,
            format!("the server cannot answer {verb} now: {reply}"),
        ))
    } else {
        Err(fail(
            Kind::Unavailable,
            format!("the server does not answer {verb} ({asked}): {reply}"),
        ))
    };
    let lines = answer_lines(reply);
    if output.json {
        #[derive(Serialize)]
        struct Document<'a> {
            probe: &'static str,
            status: &'static str,
            exit_code: u8,
            query: &'a str,
            reply: ReplySummary,
            /// EXPN: the members, one per reply line; VRFY: the mailbox(es) named.
            lines: &'a [String],
            error: Option<String>,
        }
        print_json(&Document {
            probe,
            status: if verdict.is_ok() { "ok" } else { "failed" },
            exit_code: verdict
                .as_ref()
                .map_or_else(crate::base::exit::code_for, |()| 0),
            query: asked,
            reply: reply.into(),
            lines: if reply.is_positive() { &lines } else { &[] },
            error: verdict.as_ref().err().map(crate::base::exit::one_line),
        });
        return verdict.map_err(|err| anyhow::Error::new(JsonPrinted(err)));
    }
    if reply.is_positive() {
        let mut out = String::new();
        if probe == "verify" {
            out.push_str(&format!("{reply}\n"));
        } else {
            for line in &lines {
                out.push_str(line);
                out.push('\n');
            }
        }
        crate::base::output::print_stdout(&out);
    }
    verdict
}

/// Each reply line without the enhanced status code servers put in front of it.
fn answer_lines(reply: &Reply) -> Vec<String> {
    let code = reply.enhanced_code();
    reply
        .lines
        .iter()
        .map(|line| match &code {
            Some(code) => line
                .strip_prefix(code.as_str())
                .map_or(line.as_str(), str::trim_start),
            None => line.as_str(),
        })
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// `--check`: the session is open (connected, greeted, EHLO, TLS and login when they apply);
/// NOOP and QUIT must be answered too.
fn check(output: Output, mut session: Session, server: &str) -> anyhow::Result<()> {
    let noop = session.command(&Noop, "the reply to NOOP")?;
    if !noop.is_positive() {
        session.quit();
        return Err(refusal(&noop, "NOOP"));
    }
    let greeting = session.greeting().clone();
    let hello = hello_verb(&session);
    let tls = session.tls().cloned();
    let authenticated = session.authenticated().map(|m| m.name().to_string());
    let quit = session.close()?;
    if !quit.is_positive() {
        return Err(fail(
            Kind::Protocol,
            format!("the server answered QUIT with {quit}"),
        ));
    }
    if output.json {
        #[derive(Serialize)]
        struct Document<'a> {
            probe: &'static str,
            status: &'static str,
            exit_code: u8,
            server: &'a str,
            greeting: ReplySummary,
            hello: &'static str,
            noop: ReplySummary,
            quit: ReplySummary,
            tls: Option<TlsInfo>,
            authenticated: Option<String>,
        }
        print_json(&Document {
            probe: "check",
            status: "ok",
            exit_code: 0,
            server,
            greeting: (&greeting).into(),
            hello,
            noop: (&noop).into(),
            quit: (&quit).into(),
            tls,
            authenticated,
        });
        return Ok(());
    }
    let mut line = format!(
        "{server}: ok (greeting {}, {hello} ok, NOOP {}, QUIT {}",
        greeting.code, noop.code, quit.code
    );
    if let Some(tls) = &tls {
        line.push_str(&format!(", {} {}", tls.version, tls.cipher));
    }
    if let Some(mechanism) = &authenticated {
        line.push_str(&format!(", logged in with {mechanism}"));
    }
    line.push_str(")\n");
    crate::base::output::print_stdout(&line);
    Ok(())
}

fn print_json(document: &impl Serialize) {
    crate::base::output::print_json(document);
}
