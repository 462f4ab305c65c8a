//! The byte stream under a session: TCP, a unix socket, or a tunnel through a proxy, with
//! per-operation deadlines.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::base::exit::{Kind, fail};
use crate::smtp::proxy::{ConnectProblem, Proxy};
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
    /// A tunnel through a proxy (see [`crate::smtp::proxy`]): TCP to the proxy, the server
    /// beyond it. Never local, wherever the proxy is.
    Proxied(TcpStream),
    /// TLS over one of the others (implicit TLS, or after STARTTLS).
    Tls(Box<native_tls::TlsStream<Tapped>>),
}

/// One address to connect to: a resolved TCP address or a unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(SocketAddr),
    Unix(PathBuf),
    /// The server's name or address as the proxy is asked for it, and its port.
    Proxied {
        proxy: Box<Proxy>,
        host: String,
        port: u16,
    },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(address) => write!(f, "{address}"),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::Proxied { proxy, host, port } if host.contains(':') => {
                write!(f, "[{host}]:{port} via {proxy}")
            }
            Endpoint::Proxied { proxy, host, port } => write!(f, "{host}:{port} via {proxy}"),
        }
    }
}

impl Target {
    /// Every address to try, in the resolver's order (a unix socket is one).
    pub fn endpoints(&self, proxy: Option<&Proxy>) -> anyhow::Result<Vec<Endpoint>> {
        if let Some(proxy) = proxy {
            return self.proxied_endpoints(proxy);
        }
        match self {
            Target::Unix(path) => Ok(vec![Endpoint::Unix(path.clone())]),
            Target::Tcp { host, port } => Ok(resolve(host, *port)?
                .into_iter()
                .map(Endpoint::Tcp)
                .collect()),
        }
    }

    /// The server as the proxy is asked for it: by name (`socks5h://`, `http://`), or by each
    /// of its addresses resolved here (`socks5://`).
    fn proxied_endpoints(&self, proxy: &Proxy) -> anyhow::Result<Vec<Endpoint>> {
        let Target::Tcp { host, port } = self else {
            return Err(fail(
                Kind::Usage,
                format!("a proxy ({proxy}) cannot reach a unix socket ({self})"),
            ));
        };
        let hosts = match proxy.resolves_here() {
            true => resolve(host, *port)?
                .into_iter()
                .map(|address| address.ip().to_string())
                .collect(),
            false => vec![host.clone()],
        };
        Ok(hosts
            .into_iter()
            .map(|host| Endpoint::Proxied {
                proxy: Box::new(proxy.clone()),
                host,
                port: *port,
            })
            .collect())
    }
}

impl Stream {
    /// Connects to the target, trying every resolved address in turn.
    pub fn connect(
        target: &Target,
        timeout: Duration,
        transcript: &mut Transcript,
    ) -> anyhow::Result<Stream> {
        let mut last_error = None;
        for endpoint in target.endpoints(None)? {
            match Stream::connect_endpoint(&endpoint, timeout, None, transcript) {
                Ok(stream) => return Ok(stream),
                Err(err) => last_error = Some(err),
            }
        }
        let err = last_error.unwrap_or_else(|| io::Error::other("no address"));
        Err(connect_error(target, &err))
    }

    /// Connects to one address, over TCP from the local address `from` when given; a
    /// failure is logged and returned as is.
    pub fn connect_endpoint(
        endpoint: &Endpoint,
        timeout: Duration,
        from: Option<IpAddr>,
        transcript: &mut Transcript,
    ) -> io::Result<Stream> {
        match (endpoint, from) {
            (Endpoint::Tcp(_), Some(local)) => {
                transcript.event("connect", &format!("{endpoint} from {local}"))
            }
            _ => transcript.event("connect", &endpoint.to_string()),
        }
        let result = match endpoint {
            Endpoint::Unix(path) => UnixStream::connect(path).map(Stream::Unix),
            Endpoint::Tcp(address) => {
                connect_tcp(address, crate::base::interrupt::capped(timeout), from)
                    .and_then(|stream| stream.set_nodelay(true).map(|()| Stream::Tcp(stream)))
            }
            Endpoint::Proxied { proxy, host, port } => {
                connect_proxied(proxy, host, *port, timeout, from).map(Stream::Proxied)
            }
        };
        match &result {
            Ok(stream) => crate::base::interrupt::watch(stream.raw_fd()),
            Err(err) => transcript.event("connect", &format!("{endpoint}: {err}")),
        }
        result
    }

    pub fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        let limit = Some(timeout.max(Duration::from_millis(1)));
        match self {
            Stream::Tcp(stream) | Stream::Proxied(stream) => stream.set_read_timeout(limit),
            Stream::Unix(stream) => stream.set_read_timeout(limit),
            Stream::Tls(stream) => stream.get_ref().inner.set_read_timeout(timeout),
        }
    }

    pub fn set_write_timeout(&self, timeout: Duration) -> io::Result<()> {
        let limit = Some(timeout.max(Duration::from_millis(1)));
        match self {
            Stream::Tcp(stream) | Stream::Proxied(stream) => stream.set_write_timeout(limit),
            Stream::Unix(stream) => stream.set_write_timeout(limit),
            Stream::Tls(stream) => stream.get_ref().inner.set_write_timeout(timeout),
        }
    }

    /// The local address, for an EHLO address literal.
    pub fn local_ip(&self) -> Option<std::net::IpAddr> {
        match self {
            Stream::Tcp(stream) => stream.local_addr().ok().map(|a| a.ip()),
            // The address this host has towards the proxy means nothing to the server.
            Stream::Unix(_) | Stream::Proxied(_) => None,
            Stream::Tls(stream) => stream.get_ref().inner.local_ip(),
        }
    }

    /// True when the peer is on this machine (loopback address or unix socket).
    pub fn is_local(&self) -> bool {
        match self {
            Stream::Tcp(stream) => stream.peer_addr().is_ok_and(|a| a.ip().is_loopback()),
            Stream::Unix(_) => true,
            // The server is beyond the proxy, wherever the proxy is.
            Stream::Proxied(_) => false,
            Stream::Tls(stream) => stream.get_ref().inner.is_local(),
        }
    }

    /// The socket's file descriptor (of the socket under TLS too).
    fn raw_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Tcp(stream) | Stream::Proxied(stream) => stream.as_raw_fd(),
            Stream::Unix(stream) => stream.as_raw_fd(),
            Stream::Tls(stream) => stream.get_ref().inner.raw_fd(),
        }
    }

    /// True once TLS is active.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        crate::base::interrupt::check()?;
        match self {
            Stream::Tcp(stream) | Stream::Proxied(stream) => stream.read(buf),
            Stream::Unix(stream) => stream.read(buf),
            Stream::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        crate::base::interrupt::check()?;
        match self {
            Stream::Tcp(stream) | Stream::Proxied(stream) => stream.write(buf),
            Stream::Unix(stream) => stream.write(buf),
            Stream::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) | Stream::Proxied(stream) => stream.flush(),
            Stream::Unix(stream) => stream.flush(),
            Stream::Tls(stream) => stream.flush(),
        }
    }
}

/// The plain stream under TLS; keeps what the server sent during the handshake so the
/// negotiated version and cipher can be read from its ServerHello.
pub struct Tapped {
    pub inner: Stream,
    pub seen: Option<Vec<u8>>,
}

/// Enough of the server's first flight to hold its ServerHello.
const TAP_LIMIT: usize = 16 * 1024;

impl Read for Tapped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(seen) = &mut self.seen {
            let room = TAP_LIMIT.saturating_sub(seen.len());
            seen.extend_from_slice(&buf[..n.min(room)]);
        }
        Ok(n)
    }
}

impl Write for Tapped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A TCP connection, bound first to the local address `from` when given. std's TcpStream
/// cannot bind before connecting, so socket2 makes the socket (close-on-exec, as std's).
fn connect_tcp(
    address: &SocketAddr,
    timeout: Duration,
    from: Option<IpAddr>,
) -> io::Result<TcpStream> {
    let Some(local) = from else {
        return TcpStream::connect_timeout(address, timeout);
    };
    if local.is_ipv4() != address.is_ipv4() {
        let family = |ip: bool| if ip { "IPv4" } else { "IPv6" };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            ConnectProblem {
                kind: Kind::Usage,
                message: format!(
                    "the source address {local} is {}, but {address} is {}: give a source \
                     address of the server's family",
                    family(local.is_ipv4()),
                    family(address.is_ipv4())
                ),
            },
        ));
    }
    let socket = Socket::new(
        Domain::for_address(*address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket
        .bind(&SocketAddr::new(local, 0).into())
        .map_err(|err| {
            io::Error::new(
                err.kind(),
                ConnectProblem {
                    kind: Kind::Config,
                    message: format!(
                        "cannot connect from the source address {local}: {}",
                        plain(&err)
                    ),
                },
            )
        })?;
    socket.connect_timeout(&(*address).into(), timeout)?;
    Ok(socket.into())
}

/// A connection through `proxy` to `host:port`: to each of the proxy's addresses in turn,
/// then the tunnel asked for within the connect deadline. A proxy that cannot be reached is
/// named as such.
fn connect_proxied(
    proxy: &Proxy,
    host: &str,
    port: u16,
    timeout: Duration,
    from: Option<IpAddr>,
) -> io::Result<TcpStream> {
    let unreachable = |why: String| {
        io::Error::other(ConnectProblem {
            kind: Kind::TempFail,
            message: format!("cannot connect to the proxy {proxy}: {why}"),
        })
    };
    let addresses = (proxy.host.as_str(), proxy.port)
        .to_socket_addrs()
        .map_err(|err| unreachable(plain(&err)))?;
    let mut last = None;
    for address in addresses {
        let deadline = std::time::Instant::now() + crate::base::interrupt::capped(timeout);
        match connect_tcp(&address, crate::base::interrupt::capped(timeout), from) {
            Ok(mut stream) => {
                let left = deadline
                    .saturating_duration_since(std::time::Instant::now())
                    .max(Duration::from_millis(1));
                stream.set_read_timeout(Some(left))?;
                stream.set_write_timeout(Some(left))?;
                stream.set_nodelay(true)?;
                crate::smtp::proxy::tunnel(&mut stream, proxy, host, port)?;
                return Ok(stream);
            }
            Err(err) => last = Some(err),
        }
    }
    Err(match last {
        Some(err) if err.get_ref().is_some_and(|e| e.is::<ConnectProblem>()) => err,
        Some(err) => unreachable(plain(&err)),
        None => unreachable("it has no address".to_string()),
    })
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

/// The error when no address of the target could be connected to.
pub fn connect_error(target: &Target, err: &io::Error) -> anyhow::Error {
    if let Some(problem) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ConnectProblem>())
    {
        return fail(problem.kind, problem.message.clone());
    }
    // A missing socket is temporary: the server may be restarting (Dovecot, an LMTP
    // daemon), and Postfix defers on it too. A socket we may not use will not get better.
    let (kind, hint) = match (target, err.kind()) {
        (Target::Unix(_), io::ErrorKind::NotFound) => (Kind::TempFail, " (is the server running?)"),
        (_, io::ErrorKind::PermissionDenied) => (Kind::Unavailable, ""),
        _ => (Kind::TempFail, ""),
    };
    let what = match target {
        Target::Unix(path) => format!("unix socket {}", path.display()),
        Target::Tcp { .. } => target.to_string(),
    };
    fail(
        kind,
        format!("cannot connect to {what}: {}{hint}", plain(err)),
    )
}

fn plain(err: &io::Error) -> String {
    crate::base::input::plain_io(err)
}
