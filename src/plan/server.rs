//! Where the server is, as `--server`, `SMTPSEND_SERVER` or an account's `server` names it:
//! host and port, an smtp://, smtps:// or lmtp:// URL, or a unix socket.

use std::path::PathBuf;

use crate::base::exit::{Kind, fail};
use crate::smtp::stream::Target;

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
