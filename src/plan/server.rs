//! Where the server is, as `--server`, `SMTPSEND_SERVER` or an account's `server` names it:
//! host and port, an smtp://, smtps:// or lmtp:// URL, a unix socket, or a provider preset;
//! and the TLS mode that goes with it.

use std::path::PathBuf;

use crate::base::exit::{Kind, fail};
use crate::plan::providers::Preset;
use crate::plan::table::{self, Picker, Source};
use crate::smtp::stream::Target;
use crate::smtp::tls::TlsMode;

/// Parses `HOST[:PORT]`, `[IPv6]:PORT`, `smtp://HOST[:PORT]`, `smtps://HOST[:PORT]` (port
/// 465 by default), `lmtp://HOST[:PORT]` (port 24), `/path`, `unix:/path`.
pub fn parse_server(input: &str) -> anyhow::Result<Target> {
    parse_server_for(input, false)
}

/// [`parse_server`]; with `lmtp` a host without a port means port 24 (RFC 2033 forbids
/// LMTP on port 25).
pub fn parse_server_for(input: &str, lmtp: bool) -> anyhow::Result<Target> {
    let bad = |why: &str| fail(Kind::Usage, format!("--server {input:?}: {why}"));
    crate::message::address::reject_line_breaks("--server", input)?;
    if let Some(path) = input.strip_prefix("unix:") {
        return Ok(Target::Unix(PathBuf::from(path)));
    }
    if input.starts_with('/') {
        return Ok(Target::Unix(PathBuf::from(input)));
    }
    let mut default_port = if lmtp { 24 } else { 25 };
    let rest = match input.split_once("://") {
        Some(("smtp", rest)) => rest.trim_end_matches('/'),
        Some(("lmtp", rest)) => {
            default_port = 24;
            rest.trim_end_matches('/')
        }
        Some(("smtps", rest)) => {
            default_port = 465;
            rest.trim_end_matches('/')
        }
        Some((scheme, _)) => return Err(bad(&format!("unsupported scheme {scheme}://"))),
        None => input,
    };
    if let Some(("smtp" | "lmtp" | "smtps", after_scheme)) = input.split_once("://") {
        // smtp:///path/to/socket: no host, an absolute path (as in a file:/// URL).
        if after_scheme.starts_with('/') {
            return Ok(Target::Unix(PathBuf::from(after_scheme)));
        }
        if rest.contains('/') {
            return Err(bad(
                "a path is not allowed after the host; for a unix socket write \
                 smtp:///path/to/socket, lmtp:///path/to/socket or unix:/path/to/socket",
            ));
        }
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| bad("missing ']'"))?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("expected ':' after ']'"))?,
                ),
            ),
        }
    } else if rest.matches(':').count() > 1 {
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("missing or invalid host name"));
    }
    let port = match port {
        None => default_port,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
    };
    Ok(Target::Tcp {
        host: host.to_string(),
        port,
    })
}

/// The server setting as resolved: where, the text it was given as, LMTP or not, and the
/// provider preset that filled it in, if any (with what chose it).
pub struct Reach {
    pub target: Target,
    pub text: String,
    pub lmtp: bool,
    pub preset: Option<(&'static Preset, String)>,
    /// The server came from the preset (so its TLS mode does too).
    pub from_preset: bool,
}

/// The server, and whether the session speaks LMTP (`--lmtp`, or an lmtp:// URL); shown
/// with the protocol. A preset named as the server, or by the account's `provider` when no
/// server is given, fills it in.
pub fn server(picker: &mut Picker) -> anyhow::Result<Reach> {
    let picked = picker.find(&table::SERVER);
    let given = match (&picked.value, &picked.source) {
        (Some(text), source) if *source != Source::Default => {
            Some((text.as_str(), source.to_string()))
        }
        _ => None,
    };
    let preset = crate::plan::providers::chosen(picker, given)?;
    let named_preset = picked
        .value
        .as_deref()
        .is_some_and(|text| crate::plan::providers::find(text).is_some());
    let from_preset = preset.is_some() && (named_preset || picked.source == Source::Default);
    let (text, source) = match &preset {
        Some((preset, why)) if from_preset => {
            (format!("{}:{}", preset.host, preset.port), why.clone())
        }
        _ => (
            picked
                .value
                .unwrap_or_else(|| table::DEFAULT_SERVER.to_string()),
            picked.source.to_string(),
        ),
    };
    let lmtp_scheme = text.starts_with("lmtp://");
    let lmtp = picker.cli.lmtp || lmtp_scheme;
    let target = parse_server_for(&text, lmtp)?;
    let shown = target.to_string();
    picker.show("server", shown.clone(), shown.into(), source.clone());
    let protocol_source = if picker.cli.lmtp {
        "--lmtp".to_string()
    } else if lmtp_scheme {
        format!("{source}: lmtp://")
    } else {
        Source::Default.to_string()
    };
    let protocol = if lmtp { "LMTP" } else { "SMTP" };
    let name = if lmtp { "lmtp" } else { "smtp" };
    picker.show("protocol", protocol.into(), name.into(), protocol_source);
    Ok(Reach {
        target,
        text,
        lmtp,
        preset,
        from_preset,
    })
}

/// The TLS mode, made implicit for smtps:// and port 465 under `auto`; a preset that gave
/// the server gives its mode when none is set.
pub fn tls(picker: &mut Picker, reach: &Reach) -> anyhow::Result<TlsMode> {
    let picked = picker.find(&table::TLS);
    let (mode, source) = match (&reach.preset, &picked.source) {
        (Some((preset, why)), Source::Default) if reach.from_preset => (preset.tls, why.clone()),
        _ => (picked.value.unwrap_or_default(), picked.source.to_string()),
    };
    let mode = resolve_tls(mode, &reach.text, &reach.target)?;
    let shown = (table::TLS.show)(Some(&mode));
    let typed = (table::TLS.json)(Some(&mode));
    picker.show("tls", shown, typed, source);
    Ok(mode)
}

/// Implicit TLS for smtps:// and port 465 under `auto`; an explicit mode that contradicts
/// smtps:// is a usage error.
fn resolve_tls(mode: TlsMode, server: &str, target: &Target) -> anyhow::Result<TlsMode> {
    let smtps = server.starts_with("smtps://");
    match mode {
        TlsMode::Auto if smtps => Ok(TlsMode::Implicit),
        TlsMode::Auto if matches!(target, Target::Tcp { port: 465, .. }) => Ok(TlsMode::Implicit),
        TlsMode::Starttls | TlsMode::None if smtps => Err(fail(
            Kind::Usage,
            format!(
                "--server {server} means implicit TLS; it cannot be combined with --tls {}",
                mode.name()
            ),
        )),
        mode => Ok(mode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Target {
        Target::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_server_forms() {
        assert_eq!(parse_server("mx.example").unwrap(), tcp("mx.example", 25));
        assert_eq!(
            parse_server("mx.example:587").unwrap(),
            tcp("mx.example", 587)
        );
        assert_eq!(
            parse_server("smtp://mx.example:2525/").unwrap(),
            tcp("mx.example", 2525)
        );
        assert_eq!(parse_server("[::1]:2525").unwrap(), tcp("::1", 2525));
        assert_eq!(parse_server("::1").unwrap(), tcp("::1", 25));
        assert_eq!(
            parse_server("/run/lmtp.sock").unwrap(),
            Target::Unix("/run/lmtp.sock".into())
        );
        assert!(parse_server("mx.example:0").is_err());
        assert!(parse_server("gopher://x").is_err());
    }

    #[test]
    fn lmtp_defaults_to_port_24() {
        assert_eq!(
            parse_server("lmtp://mx.example").unwrap(),
            tcp("mx.example", 24)
        );
        assert_eq!(
            parse_server_for("mx.example", true).unwrap(),
            tcp("mx.example", 24)
        );
        assert_eq!(
            parse_server_for("mx.example:2424", true).unwrap(),
            tcp("mx.example", 2424)
        );
        assert_eq!(
            parse_server_for("unix:/run/dovecot/lmtp", true).unwrap(),
            Target::Unix("/run/dovecot/lmtp".into())
        );
    }
}
