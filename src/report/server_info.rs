//! `--server-info` as the user reads it: the greeting, each EHLO extension explained, the
//! size limit, login mechanisms, the TLS session, and what STARTTLS changed; as text or as
//! the `--json` document.

use serde::Serialize;

use crate::report::ReplySummary;
use crate::smtp::Session;
use crate::smtp::reply::Capabilities;
use crate::smtp::tls::{TlsInfo, TlsMode};

/// `EHLO`, `HELO` or `LHLO`: what the session said to introduce itself.
pub fn hello_verb(session: &Session) -> &'static str {
    if session.helo_only() {
        "HELO"
    } else if session.is_lmtp() {
        "LHLO"
    } else {
        "EHLO"
    }
}

/// One EHLO keyword line and what it means.
#[derive(Debug, Clone, Serialize)]
pub struct Extension {
    /// The line as the server sent it, e.g. `SIZE 10240000`.
    pub line: String,
    pub keyword: String,
    pub meaning: String,
}

impl Extension {
    fn of(line: &str) -> Extension {
        let (keyword, _) = split_keyword(line);
        Extension {
            line: line.to_string(),
            keyword: keyword.to_ascii_uppercase(),
            meaning: explain(line),
        }
    }
}

fn split_keyword(line: &str) -> (&str, &str) {
    let line = line.trim();
    match line.find([' ', '=']) {
        Some(at) => (&line[..at], line[at + 1..].trim()),
        None => (line, ""),
    }
}

/// What an EHLO keyword line means, in one line.
pub fn explain(line: &str) -> String {
    let (keyword, args) = split_keyword(line);
    let old_auth = line.trim().to_ascii_uppercase().starts_with("AUTH=");
    let with_args = |text: &str| {
        if args.is_empty() {
            text.to_string()
        } else {
            format!("{text}: {args}")
        }
    };
    match keyword.to_ascii_uppercase().as_str() {
        "SIZE" => match args.parse::<u64>() {
            Ok(limit) if limit > 0 => {
                format!("largest message the server takes: {}", human_size(limit))
            }
            _ => "message size declared in MAIL FROM; no limit given (RFC 1870)".to_string(),
        },
        "PIPELINING" => "commands may be sent in groups (RFC 2920)".to_string(),
        "8BITMIME" => "8-bit message bodies accepted (RFC 6152)".to_string(),
        "BINARYMIME" => "binary message bodies accepted with BDAT (RFC 3030)".to_string(),
        "CHUNKING" => "the message may be sent in chunks with BDAT (RFC 3030)".to_string(),
        "DSN" => "delivery status notifications on request (RFC 3461)".to_string(),
        "ENHANCEDSTATUSCODES" => {
            "replies carry enhanced status codes such as 5.1.1 (RFC 2034)".to_string()
        }
        "STARTTLS" => "the session can be encrypted with STARTTLS (RFC 3207)".to_string(),
        "AUTH" if old_auth => format!(
            "login mechanisms, announced in the pre-standard AUTH= form: {}",
            args.split_whitespace().collect::<Vec<_>>().join(", ")
        ),
        "AUTH" => format!(
            "login mechanisms (RFC 4954): {}",
            args.split_whitespace().collect::<Vec<_>>().join(", ")
        ),
        "SMTPUTF8" => "UTF-8 addresses and header fields accepted (RFC 6531)".to_string(),
        "UTF8SMTP" => "UTF-8 addresses, pre-standard draft form (not RFC 6531)".to_string(),
        "VRFY" => "addresses can be checked with VRFY (RFC 5321)".to_string(),
        "EXPN" => "mailing lists can be expanded with EXPN (RFC 5321)".to_string(),
        "HELP" => "HELP is answered (RFC 5321)".to_string(),
        "ETRN" => "a relay can be asked to flush its queue for a domain (RFC 1985)".to_string(),
        "ATRN" => "authenticated TURN for on-demand relay (RFC 2645)".to_string(),
        "TURN" => "the roles of client and server may be reversed (obsolete)".to_string(),
        "DELIVERBY" => with_args("a delivery deadline may be asked for (RFC 2852)"),
        "MT-PRIORITY" => with_args("message priorities (RFC 6710)"),
        "FUTURERELEASE" => with_args("delivery may be held until a later time (RFC 4865)"),
        "REQUIRETLS" => "the sender may require TLS on every hop (RFC 8689)".to_string(),
        "RRVS" => "recipient address reuse checks (RFC 7293)".to_string(),
        "BURL" => with_args("the message may be fetched from an IMAP URL (RFC 4468)"),
        "NO-SOLICITING" => with_args("solicitation keywords honoured (RFC 3865)"),
        "MTRK" => "message tracking (RFC 3885)".to_string(),
        "CONPERM" | "CONNEG" => {
            "content conversion permission and negotiation (RFC 4141)".to_string()
        }
        "CHECKPOINT" => "checkpoint/restart of interrupted transfers (RFC 1845)".to_string(),
        "LIMITS" => with_args("limits the server announces (RFC 9422)"),
        "VERB" => "verbose mode (sendmail)".to_string(),
        "ONEX" => "one message per session mode (sendmail)".to_string(),
        "XCLIENT" => with_args("a trusted proxy may pass on its client's details (Postfix)"),
        "XFORWARD" => with_args("a trusted filter may pass on the original client (Postfix)"),
        "SEND" | "SOML" | "SAML" => {
            "delivery to a terminal (obsolete RFC 821 commands)".to_string()
        }
        _ => "unknown to smtpsend".to_string(),
    }
}

/// `9.8 MiB`, `512 KiB`, `100 bytes`.
pub fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let value = bytes as f64;
    let (amount, unit) = if value >= KIB * KIB * KIB {
        (value / (KIB * KIB * KIB), "GiB")
    } else if value >= KIB * KIB {
        (value / (KIB * KIB), "MiB")
    } else if value >= KIB {
        (value / KIB, "KiB")
    } else {
        return format!("{bytes} bytes");
    };
    let text = format!("{amount:.1}");
    format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
}

/// The SASL mechanisms in `AUTH` lines (either form), each once.
fn auth_mechanisms(capabilities: &Capabilities) -> Vec<String> {
    let mut mechanisms: Vec<String> = Vec::new();
    for line in &capabilities.lines {
        let (keyword, args) = split_keyword(line);
        if keyword.eq_ignore_ascii_case("AUTH") {
            for mechanism in args.split_whitespace() {
                let mechanism = mechanism.to_ascii_uppercase();
                if !mechanisms.contains(&mechanism) {
                    mechanisms.push(mechanism);
                }
            }
        }
    }
    mechanisms
}

/// Every keyword line explained; blank lines (smtp-sink ends its reply with `250 `) left out.
fn explained(capabilities: &Capabilities) -> Vec<Extension> {
    capabilities
        .lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| Extension::of(line))
        .collect()
}

/// Lines of `these` whose keyword line is not in `those` (compared ignoring case).
fn missing_from(these: &Capabilities, those: &Capabilities) -> Vec<String> {
    these
        .lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| {
            !those
                .lines
                .iter()
                .any(|other| other.trim().eq_ignore_ascii_case(line.trim()))
        })
        .cloned()
        .collect()
}

/// The extensions offered before STARTTLS, and what changed once TLS was up.
#[derive(Debug, Serialize)]
pub struct BeforeTls {
    pub extensions: Vec<Extension>,
    pub appeared: Vec<String>,
    pub disappeared: Vec<String>,
}

/// Everything `--server-info` reports.
#[derive(Debug, Serialize)]
pub struct ServerInfo {
    pub probe: &'static str,
    pub status: &'static str,
    pub exit_code: u8,
    pub server: String,
    pub greeting: ReplySummary,
    /// EHLO, LHLO, or HELO when the server refused EHLO.
    pub hello: &'static str,
    /// The extensions in force (after STARTTLS when it was used).
    pub extensions: Vec<Extension>,
    pub size_limit: Option<u64>,
    pub auth_mechanisms: Vec<String>,
    /// `implicit`, `starttls`, or `none`.
    pub tls_mode: &'static str,
    /// Why TLS was not used, when it was not.
    pub tls_not_used: Option<String>,
    pub tls: Option<TlsInfo>,
    /// Set when STARTTLS was used.
    pub before_tls: Option<BeforeTls>,
    pub authenticated: Option<String>,
}

impl ServerInfo {
    pub fn of(session: &Session, server: &str, mode: TlsMode) -> ServerInfo {
        let capabilities = session.capabilities();
        let extensions = explained(capabilities);
        let before_tls = session.capabilities_before_tls().map(|before| BeforeTls {
            extensions: explained(before),
            appeared: missing_from(capabilities, before),
            disappeared: missing_from(before, capabilities),
        });
        let tls = session.tls().cloned();
        let tls_mode = match (&tls, &before_tls) {
            (Some(_), Some(_)) => "starttls",
            (Some(_), None) => "implicit",
            _ => "none",
        };
        let tls_not_used = tls.is_none().then(|| {
            if session.helo_only() {
                "the server refused EHLO, so it offers no STARTTLS".to_string()
            } else if mode == TlsMode::None {
                "--tls none".to_string()
            } else {
                "the server does not offer STARTTLS".to_string()
            }
        });
        ServerInfo {
            probe: "server-info",
            status: "ok",
            exit_code: 0,
            server: server.to_string(),
            greeting: session.greeting().into(),
            hello: hello_verb(session),
            extensions,
            size_limit: session
                .offers(smtp_proto::EXT_SIZE)
                .then(|| capabilities.size_limit())
                .flatten(),
            auth_mechanisms: auth_mechanisms(capabilities),
            tls_mode,
            tls_not_used,
            tls,
            before_tls,
            authenticated: session.authenticated().map(|m| m.name().to_string()),
        }
    }

    /// The report as text, one fact per line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut row = |key: &str, value: &str| out.push_str(&format!("{key:<12}{value}\n"));
        row("server", &self.server);
        row(
            "greeting",
            &format!("{} {}", self.greeting.code, self.greeting.text),
        );
        match (&self.tls, &self.before_tls) {
            (Some(_), None) => row("tls", "implicit (TLS from the first byte)"),
            (Some(_), Some(_)) => row("tls", "STARTTLS"),
            _ => row(
                "tls",
                &format!(
                    "not used ({})",
                    self.tls_not_used.as_deref().unwrap_or_default()
                ),
            ),
        }
        out.push_str(&self.extensions_text());
        out.push('\n');
        out.push_str(&self.summary_text());
        out
    }

    /// The EHLO lists (before and after STARTTLS, the TLS session between them), each
    /// extension explained, the meanings in one column.
    fn extensions_text(&self) -> String {
        let mut out = String::new();
        let width = self
            .extensions
            .iter()
            .chain(self.before_tls.iter().flat_map(|before| &before.extensions))
            .map(|extension| extension.line.chars().count())
            .max()
            .unwrap_or(0)
            .min(32);
        if let Some(before) = &self.before_tls {
            out.push_str(&format!("\n{} before STARTTLS:\n", self.hello));
            out.push_str(&extension_rows(&before.extensions, width));
        }
        if let Some(tls) = &self.tls {
            out.push_str(&tls_text(tls));
        }
        let heading = match self.before_tls {
            Some(_) => format!("{} after STARTTLS:", self.hello),
            None => format!("{}:", self.hello),
        };
        out.push_str(&format!("\n{heading}\n"));
        if self.extensions.is_empty() {
            out.push_str("  (no extensions)\n");
        } else {
            out.push_str(&extension_rows(&self.extensions, width));
        }
        if let Some(before) = &self.before_tls {
            let list = |lines: &[String]| match lines.is_empty() {
                true => "none".to_string(),
                false => lines.join(", "),
            };
            out.push_str(&format!(
                "  appeared after STARTTLS: {}\n  gone after STARTTLS: {}\n",
                list(&before.appeared),
                list(&before.disappeared)
            ));
        }
        out
    }

    /// The size limit, the login mechanisms, STARTTLS and the login made.
    fn summary_text(&self) -> String {
        let size = match self.size_limit {
            Some(limit) => format!("{} ({limit} bytes)", human_size(limit)),
            None => "none declared".to_string(),
        };
        let auth = match self.auth_mechanisms.is_empty() {
            true => "none offered".to_string(),
            false => self.auth_mechanisms.join(", "),
        };
        let starttls_offered = |extensions: &[Extension]| {
            extensions
                .iter()
                .any(|extension| extension.keyword == "STARTTLS")
        };
        let starttls = match (&self.before_tls, self.tls.is_some()) {
            (Some(_), _) => "offered, used",
            (None, true) => "not needed (implicit TLS)",
            (None, false) if starttls_offered(&self.extensions) => "offered, not used",
            (None, false) => "not offered",
        };
        let mut out = format!("{:<12}{size}\n", "size limit");
        out.push_str(&format!("{:<12}{auth}\n", "login"));
        out.push_str(&format!("{:<12}{starttls}\n", "starttls"));
        if let Some(mechanism) = &self.authenticated {
            out.push_str(&format!("{:<12}with {mechanism}\n", "logged in"));
        }
        out
    }
}

/// The TLS session: version, cipher, certificate, fingerprint, whether it was verified.
fn tls_text(tls: &TlsInfo) -> String {
    let verified = match (tls.pinned, tls.verified) {
        (true, _) => "pinned (the certificate is the one --tls-fingerprint names)",
        (false, true) => "yes (trusted issuer, matching host name)",
        (false, false) => "NO (--insecure-skip-verify)",
    };
    let mut out = "\nTLS session:\n".to_string();
    for (key, value) in [
        ("version", tls.version.as_str()),
        ("cipher", tls.cipher.as_str()),
        ("subject", tls.subject.as_str()),
        ("issuer", tls.issuer.as_str()),
        ("not before", tls.not_before.as_str()),
        ("not after", tls.not_after.as_str()),
        ("sha256", tls.sha256.as_str()),
        ("verified", verified),
    ] {
        out.push_str(&format!("  {key:<12}{value}\n"));
    }
    out
}

/// `  KEYWORD ARGS   meaning` lines, the meanings in a column `width` characters in.
fn extension_rows(extensions: &[Extension], width: usize) -> String {
    extensions
        .iter()
        .map(|extension| {
            format!(
                "  {:<width$}   {}\n",
                extension.line,
                extension.meaning,
                width = width
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(10_240_000), "9.8 MiB");
        assert_eq!(human_size(10_485_760), "10 MiB");
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
    }

    #[test]
    fn explains_known_and_unknown_keywords() {
        assert_eq!(
            explain("SIZE 10240000"),
            "largest message the server takes: 9.8 MiB"
        );
        assert_eq!(
            explain("PIPELINING"),
            "commands may be sent in groups (RFC 2920)"
        );
        assert_eq!(
            explain("AUTH PLAIN LOGIN"),
            "login mechanisms (RFC 4954): PLAIN, LOGIN"
        );
        assert!(explain("AUTH=LOGIN").contains("pre-standard"));
        assert_eq!(explain("X-FROBNICATE 3"), "unknown to smtpsend");
    }
}
