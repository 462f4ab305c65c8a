//! The byte stream under a session: TCP or a unix socket, with per-operation deadlines.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use crate::exit::{Kind, fail};
use crate::smtp::tls::Tapped;
use crate::smtp::transcript::Transcript;

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl Target {
    /// The name a server certificate must carry (`localhost` for a unix socket).
    pub fn host_name(&self) -> String {
        match self {
            Target::Tcp { host, .. } => host.clone(),
            Target::Unix(_) => "localhost".to_string(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "{host}:{port}"),
            Target::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A connected stream.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// TLS over one of the others (implicit TLS, or after STARTTLS).
    Tls(Box<native_tls::TlsStream<Tapped>>),
}

impl Stream {
    /// Connects to the target, trying every resolved address in turn.
    pub fn connect(
        target: &Target,
        timeout: Duration,
        transcript: &mut Transcript,
    ) -> anyhow::Result<Stream> {
        match target {
            Target::Unix(path) => {
                transcript.event("connect", &format!("unix:{}", path.display()));
                let stream = UnixStream::connect(path).map_err(|err| {
                    connect_error(&format!("unix socket {}", path.display()), &err)
                })?;
                Ok(Stream::Unix(stream))
            }
            Target::Tcp { host, port } => {
                let addresses = resolve(host, *port)?;
                let mut last_error = None;
                for address in addresses {
                    transcript.event("connect", &address.to_string());
                    match TcpStream::connect_timeout(&address, timeout) {
                        Ok(stream) => {
                            stream.set_nodelay(true)?;
                            return Ok(Stream::Tcp(stream));
                        }
                        Err(err) => {
                            transcript.event("connect", &format!("{address}: {err}"));
                            last_error = Some(err);
                        }
                    }
                }
                let err = last_error.unwrap_or_else(|| io::Error::other("no address"));
                Err(connect_error(&target.to_string(), &err))
            }
        }
    }

    pub fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        let limit = Some(timeout.max(Duration::from_millis(1)));
        match self {
            Stream::Tcp(stream) => stream.set_read_timeout(limit),
            Stream::Unix(stream) => stream.set_read_timeout(limit),
            Stream::Tls(stream) => stream.get_ref().inner.set_read_timeout(timeout),
        }
    }

    pub fn set_write_timeout(&self, timeout: Duration) -> io::Result<()> {
        let limit = Some(timeout.max(Duration::from_millis(1)));
        match self {
            Stream::Tcp(stream) => stream.set_write_timeout(limit),
            Stream::Unix(stream) => stream.set_write_timeout(limit),
            Stream::Tls(stream) => stream.get_ref().inner.set_write_timeout(timeout),
        }
    }

    /// The local address, for an EHLO address literal.
    pub fn local_ip(&self) -> Option<std::net::IpAddr> {
        match self {
            Stream::Tcp(stream) => stream.local_addr().ok().map(|a| a.ip()),
            Stream::Unix(_) => None,
            Stream::Tls(stream) => stream.get_ref().inner.local_ip(),
        }
    }

    /// True when the peer is on this machine (loopback address or unix socket).
    pub fn is_local(&self) -> bool {
        match self {
            Stream::Tcp(stream) => stream.peer_addr().is_ok_and(|a| a.ip().is_loopback()),
            Stream::Unix(_) => true,
            Stream::Tls(stream) => stream.get_ref().inner.is_local(),
        }
    }

    /// True once TLS is active.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.read(buf),
            Stream::Unix(stream) => stream.read(buf),
            Stream::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.write(buf),
            Stream::Unix(stream) => stream.write(buf),
            Stream::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.flush(),
            Stream::Unix(stream) => stream.flush(),
            Stream::Tls(stream) => stream.flush(),
        }
    }
}

fn resolve(host: &str, port: u16) -> anyhow::Result<Vec<SocketAddr>> {
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|err| {
            fail(
                Kind::NoHost,
                format!("cannot resolve host {host}: {}", plain(&err)),
            )
        })?
        .collect();
    if addresses.is_empty() {
        return Err(fail(Kind::NoHost, format!("host {host} has no address")));
    }
    Ok(addresses)
}

fn connect_error(what: &str, err: &io::Error) -> anyhow::Error {
    let kind = match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => Kind::Unavailable,
        _ => Kind::TempFail,
    };
    fail(kind, format!("cannot connect to {what}: {}", plain(err)))
}

fn plain(err: &io::Error) -> String {
    crate::compose::plain_io(err)
}
