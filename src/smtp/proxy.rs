//! Reaching the server through a proxy (`--proxy`): SOCKS5 (RFC 1928) with the user name
//! and password method (RFC 1929), the server's name resolved by the proxy (`socks5h://`)
//! or here (`socks5://`), and HTTP CONNECT (RFC 9110 §9.3.6). The proxy's part is done
//! within the connect deadline, reading no byte past its answer (the server's greeting
//! follows at once); the session then runs over the tunnel as over any connection, with
//! TLS from end to end. A proxy password goes only to a proxy on a loopback address:
//! SOCKS5 and HTTP proxies carry it in clear.
//!
//! No crate was used: the synchronous ones in reach connect without a deadline and read
//! without one, and the session needs both (and the `--max-time` watchdog on the socket).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::base::exit::Kind;
use crate::base::secret::Secret;

/// Which kind of proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// SOCKS5, the server's name resolved here.
    Socks5,
    /// SOCKS5, the server's name resolved by the proxy.
    Socks5h,
    /// HTTP CONNECT.
    Http,
}

impl ProxyKind {
    fn scheme(self) -> &'static str {
        match self {
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
            ProxyKind::Http => "http",
        }
    }
}

/// A proxy: its kind, where it is, and who to be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    /// The user name from the URL, when it has one.
    pub user: Option<String>,
    /// The password for the user, from a credential source (never from the URL).
    pub password: Option<Secret>,
}

impl fmt::Display for Proxy {
    /// The URL without a password: `socks5h://me@127.0.0.1:1080`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self
            .user
            .as_ref()
            .map(|user| format!("{user}@"))
            .unwrap_or_default();
        let host = match self.host.contains(':') {
            true => format!("[{}]", self.host),
            false => self.host.clone(),
        };
        write!(f, "{}://{user}{host}:{}", self.kind.scheme(), self.port)
    }
}

impl Proxy {
    /// Reads `socks5h://[user@]host:port`, `socks5://…` or `http://…`. A password in the
    /// URL is refused without quoting it: it would sit in argv, in the environment or in the
    /// configuration file in clear.
    pub fn parse(url: &str) -> Result<Proxy, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            "give the proxy as socks5h://HOST:PORT, socks5://HOST:PORT or http://HOST:PORT"
                .to_string()
        })?;
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            "http" => ProxyKind::Http,
            other => {
                return Err(format!(
                    "{other}:// is not a proxy smtpsend speaks (socks5h://, socks5://, http://)"
                ));
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) || rest.contains(char::is_whitespace) {
            return Err("a proxy URL has no path: give scheme://HOST:PORT".to_string());
        }
        let (user, address) = match rest.rsplit_once('@') {
            Some((user, _)) if user.contains(':') => {
                return Err(
                    "the proxy URL holds a password, which would be stored in clear: \
                     give only the user (scheme://USER@HOST:PORT) and the password with \
                     SMTPSEND_PROXY_PASSWORD, proxy-password-file or proxy-password-command \
                     (the URL is not shown)"
                        .to_string(),
                );
            }
            Some((user, address)) => (Some(percent_decode(user)?), address),
            None => (None, rest),
        };
        let (host, port) = split_host_port(address)?;
        if user
            .as_deref()
            .is_some_and(|u| u.is_empty() || u.len() > 255)
        {
            return Err("the proxy user name must be 1 to 255 bytes".to_string());
        }
        Ok(Proxy {
            kind,
            host,
            port,
            user,
            password: None,
        })
    }

    /// True when the server's name is resolved here, not by the proxy (`socks5://`).
    pub fn resolves_here(&self) -> bool {
        self.kind == ProxyKind::Socks5
    }
}

/// `host:port` or `[v6]:port`; the port is required.
fn split_host_port(address: &str) -> Result<(String, u16), String> {
    let missing = || format!("{address:?}: give the proxy's HOST:PORT");
    let (host, port) = match address.strip_prefix('[') {
        Some(bracketed) => {
            let (host, port) = bracketed.split_once("]:").ok_or_else(missing)?;
            (host.to_string(), port)
        }
        None => {
            let (host, port) = address.rsplit_once(':').ok_or_else(missing)?;
            if host.contains(':') {
                return Err(format!(
                    "{address:?}: write an IPv6 proxy as [ADDRESS]:PORT"
                ));
            }
            (host.to_string(), port)
        }
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| format!("{address:?}: the proxy port must be 1 to 65535"))?;
    if host.is_empty() || host.len() > 255 {
        return Err(missing());
    }
    Ok((host, port))
}

/// `%XX` escapes in a URL's user part.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text
                .get(at + 1..at + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| "a % in the proxy user name must start a %XX escape".to_string())?;
            out.push(hex);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the proxy user name is not UTF-8".to_string())
}

/// Why a connection could not be made, when that decides the error rather than the
/// connect itself: the source address, or the proxy.
#[derive(Debug)]
pub struct ConnectProblem {
    pub kind: Kind,
    pub message: String,
}

impl std::fmt::Display for ConnectProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectProblem {}

/// A failure of the proxy's part, with the exit code it decides.
fn problem(kind: Kind, message: String) -> io::Error {
    io::Error::other(ConnectProblem { kind, message })
}

/// Asks the proxy, over `stream` (connected to it), for a tunnel to `host:port` (a name, or
/// an address as text). Reads and writes are bounded by the stream's deadlines.
pub fn tunnel(stream: &mut TcpStream, proxy: &Proxy, host: &str, port: u16) -> io::Result<()> {
    if proxy.password.is_some() && !stream.peer_addr().is_ok_and(|a| a.ip().is_loopback()) {
        return Err(problem(
            Kind::Config,
            format!(
                "will not send the proxy password for {proxy}: SOCKS5 and HTTP proxies carry it \
                 in clear, and the proxy is not on a loopback address"
            ),
        ));
    }
    match proxy.kind {
        ProxyKind::Socks5 | ProxyKind::Socks5h => socks5(stream, proxy, host, port),
        ProxyKind::Http => http_connect(stream, proxy, host, port),
    }
}

/// The SOCKS5 exchange: methods, the login when asked for, CONNECT, the reply.
fn socks5(stream: &mut TcpStream, proxy: &Proxy, host: &str, port: u16) -> io::Result<()> {
    let login = proxy.user.as_ref().zip(proxy.password.as_ref());
    let methods: &[u8] = if login.is_some() { &[0, 2] } else { &[0] };
    let mut hello = vec![5, methods.len() as u8];
    hello.extend_from_slice(methods);
    stream.write_all(&hello)?;
    let chosen = read_exact::<2>(stream, proxy)?;
    if chosen[0] != 5 {
        return Err(not_socks(proxy));
    }
    match (chosen[1], login) {
        (0, _) => {}
        (2, Some((user, password))) => socks5_login(stream, proxy, user, password)?,
        _ => {
            return Err(problem(
                Kind::AuthRefused,
                format!(
                    "the proxy {proxy} wants a login smtpsend was not given (give the user in \
                     the proxy URL and its password with SMTPSEND_PROXY_PASSWORD, \
                     proxy-password-file or proxy-password-command)"
                ),
            ));
        }
    }
    stream.write_all(&socks5_request(host, port)?)?;
    let head = read_exact::<4>(stream, proxy)?;
    if head[0] != 5 {
        return Err(not_socks(proxy));
    }
    if head[1] != 0 {
        return Err(socks5_refusal(proxy, head[1], host, port));
    }
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => usize::from(read_exact::<1>(stream, proxy)?[0]) + 2,
        _ => return Err(not_socks(proxy)),
    };
    let mut bound = vec![0u8; rest];
    read_all(stream, proxy, &mut bound)
}

/// RFC 1929: version 1, the user, the password; status 0 is success.
fn socks5_login(
    stream: &mut TcpStream,
    proxy: &Proxy,
    user: &str,
    password: &Secret,
) -> io::Result<()> {
    let password = password.expose().as_bytes();
    if password.len() > 255 {
        return Err(problem(
            Kind::Config,
            format!("the password for the proxy {proxy} is longer than SOCKS5 allows (255 bytes)"),
        ));
    }
    let mut login = vec![1, user.len() as u8];
    login.extend_from_slice(user.as_bytes());
    login.push(password.len() as u8);
    login.extend_from_slice(password);
    crate::base::secret::register(&login);
    stream.write_all(&login)?;
    let status = read_exact::<2>(stream, proxy)?;
    if status[1] != 0 {
        return Err(problem(
            Kind::AuthRefused,
            format!("the proxy {proxy} refused the user name and password"),
        ));
    }
    Ok(())
}

/// CONNECT to an IPv4 or IPv6 address, or to a name the proxy resolves.
fn socks5_request(host: &str, port: u16) -> io::Result<Vec<u8>> {
    let mut request = vec![5, 1, 0];
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            request.push(1);
            request.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            request.push(4);
            request.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            let name = host.as_bytes();
            if name.len() > 255 {
                return Err(problem(
                    Kind::Usage,
                    format!("the host name {host} is too long for SOCKS5"),
                ));
            }
            request.push(3);
            request.push(name.len() as u8);
            request.extend_from_slice(name);
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

/// A SOCKS5 reply code other than success (RFC 1928 §6), as an error naming the proxy.
fn socks5_refusal(proxy: &Proxy, code: u8, host: &str, port: u16) -> io::Error {
    let (kind, why) = match code {
        1 => (Kind::TempFail, "general failure"),
        2 => (Kind::Unavailable, "not allowed by its rules"),
        3 => (Kind::TempFail, "network unreachable"),
        4 => (Kind::TempFail, "host unreachable"),
        5 => (Kind::TempFail, "connection refused"),
        6 => (Kind::TempFail, "TTL expired"),
        7 => (Kind::Unavailable, "command not supported"),
        8 => (Kind::Unavailable, "address type not supported"),
        _ => (Kind::Unavailable, "an unknown reply"),
    };
    let target = display_target(host, port);
    problem(
        kind,
        format!("the proxy {proxy} could not connect to {target}: {why} (SOCKS5 reply {code})"),
    )
}

/// HTTP CONNECT: the request, then the status line and headers read to their blank line.
fn http_connect(stream: &mut TcpStream, proxy: &Proxy, host: &str, port: u16) -> io::Result<()> {
    let target = display_target(host, port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let (Some(user), Some(password)) = (&proxy.user, &proxy.password) {
        let token = BASE64.encode(format!("{user}:{}", password.expose()));
        crate::base::secret::register(token.as_bytes());
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let head = read_head(stream, proxy)?;
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let reason = parts.next().unwrap_or("").trim();
    let code: u16 = match (version.starts_with("HTTP/1."), code.parse()) {
        (true, Ok(code)) => code,
        _ => return Err(not_http(proxy)),
    };
    if (200..300).contains(&code) {
        return Ok(());
    }
    let kind = match code {
        407 => Kind::AuthRefused,
        502..=504 => Kind::TempFail,
        500..=599 => Kind::TempFail,
        _ => Kind::Unavailable,
    };
    let reason = crate::base::escape::escape_controls(reason);
    Err(problem(
        kind,
        format!("the proxy {proxy} refused to connect to {target}: {code} {reason}"),
    ))
}

/// The reply head, read one byte at a time so that nothing after its blank line (the
/// server's greeting) is taken; at most 16 KiB.
fn read_head(stream: &mut TcpStream, proxy: &Proxy) -> io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() >= 16 << 10 {
            return Err(not_http(proxy));
        }
        head.push(read_exact::<1>(stream, proxy)?[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn display_target(host: &str, port: u16) -> String {
    match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    }
}

fn read_exact<const N: usize>(stream: &mut TcpStream, proxy: &Proxy) -> io::Result<[u8; N]> {
    let mut buffer = [0u8; N];
    read_all(stream, proxy, &mut buffer)?;
    Ok(buffer)
}

/// Fills `buffer`; the proxy closing first, or not answering in time, is temporary.
fn read_all(stream: &mut TcpStream, proxy: &Proxy, buffer: &mut [u8]) -> io::Result<()> {
    crate::base::interrupt::check()?;
    stream.read_exact(buffer).map_err(|err| {
        let why = match err.kind() {
            io::ErrorKind::UnexpectedEof => "it closed the connection".to_string(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                "it did not answer in time".to_string()
            }
            _ => crate::base::input::plain_io(&err),
        };
        problem(Kind::TempFail, format!("the proxy {proxy} failed: {why}"))
    })
}

fn not_socks(proxy: &Proxy) -> io::Error {
    problem(
        Kind::Protocol,
        format!("the proxy {proxy} does not answer as a SOCKS5 proxy"),
    )
}

fn not_http(proxy: &Proxy) -> io::Error {
    problem(
        Kind::Protocol,
        format!("the proxy {proxy} does not answer as an HTTP proxy"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_read_with_their_kind_user_and_port() {
        let proxy = Proxy::parse("socks5h://me%40home@[::1]:1080").unwrap();
        assert_eq!(proxy.kind, ProxyKind::Socks5h);
        assert_eq!(proxy.host, "::1");
        assert_eq!(proxy.user.as_deref(), Some("me@home"));
        assert_eq!(proxy.to_string(), "socks5h://me@home@[::1]:1080");
        let http = Proxy::parse("http://proxy.example.com:3128/").unwrap();
        assert_eq!((http.kind, http.port), (ProxyKind::Http, 3128));
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_being_quoted() {
        let err = Proxy::parse("socks5://me:hunter22@127.0.0.1:1080").unwrap_err();
        assert!(!err.contains("hunter22"), "{err}");
        assert!(err.contains("SMTPSEND_PROXY_PASSWORD"), "{err}");
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in [
            "127.0.0.1:1080",
            "https://proxy:443",
            "socks5h://proxy",
            "socks5h://proxy:0",
            "socks5h://proxy:1080/path",
            "socks5h://::1:1080",
        ] {
            assert!(Proxy::parse(bad).is_err(), "{bad}");
        }
    }
}
