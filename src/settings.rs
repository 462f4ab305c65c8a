//! The effective settings: flags and `SMTPSEND_*` environment merged over built-in defaults.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::address::Mailbox;
use crate::cli::Cli;
use crate::exit::{Kind, fail};
use crate::smtp::stream::Target;
use crate::smtp::{Options, Timeouts};

/// The server used when none is given.
pub const DEFAULT_SERVER: &str = "localhost:25";

/// Everything a send needs besides the message.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    pub session: Options,
}

impl Settings {
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Settings> {
        let server = cli.server.as_deref().unwrap_or(DEFAULT_SERVER);
        let timeouts = match cli.timeout {
            None => Timeouts::default(),
            Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 => {
                Timeouts::all(Duration::from_secs_f64(seconds))
            }
            Some(seconds) => {
                return Err(fail(
                    Kind::Usage,
                    format!("--timeout {seconds}: give a number of seconds above 0"),
                ));
            }
        };
        if let Some(name) = &cli.ehlo_name {
            crate::address::reject_line_breaks("--ehlo-name", name)?;
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(fail(
                    Kind::Usage,
                    format!("--ehlo-name {name:?}: give a host name without spaces"),
                ));
            }
        }
        Ok(Settings {
            target: parse_server(server)?,
            session: Options {
                ehlo_name: cli.ehlo_name.clone(),
                timeouts,
                progress: !cli.json && cli.debug == 0 && std::io::stderr().is_terminal(),
            },
        })
    }
}

/// Parses `HOST[:PORT]`, `[IPv6]:PORT`, `smtp://HOST[:PORT]`, `/path`, `unix:/path`.
pub fn parse_server(input: &str) -> anyhow::Result<Target> {
    let bad = |why: &str| fail(Kind::Usage, format!("--server {input:?}: {why}"));
    crate::address::reject_line_breaks("--server", input)?;
    if let Some(path) = input.strip_prefix("unix:") {
        return Ok(Target::Unix(PathBuf::from(path)));
    }
    if input.starts_with('/') {
        return Ok(Target::Unix(PathBuf::from(input)));
    }
    let rest = match input.split_once("://") {
        Some(("smtp", rest)) => rest.trim_end_matches('/'),
        Some((scheme, _)) => return Err(bad(&format!("unsupported scheme {scheme}://"))),
        None => input,
    };
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
        None => 25,
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

/// This host's name, as the kernel knows it.
pub fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most buffer.len() bytes into our buffer.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    if ok && end > 0 {
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    } else {
        "localhost".to_string()
    }
}

/// The sender when none is given: `login@host`, like sendmail.
pub fn default_sender() -> Mailbox {
    let login = ["LOGNAME", "USER"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "root".to_string());
    Mailbox {
        name: None,
        address: format!("{login}@{}", hostname()),
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
}
