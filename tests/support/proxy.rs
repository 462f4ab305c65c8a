//! An in-process SOCKS5 (RFC 1928, RFC 1929) or HTTP CONNECT proxy on 127.0.0.1:0: it
//! records what each client asked for (the destination as sent, by name or address, and
//! the login), then connects there and relays bytes both ways, or refuses as told. Each
//! wait is capped, and the accept loop ends by itself.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Which protocol the proxy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyProtocol {
    Socks5,
    HttpConnect,
}

/// What one client asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyRequest {
    /// `host:port` as the client sent it (a name for socks5h and CONNECT, an address for
    /// socks5).
    pub destination: String,
    /// The user and password it logged in with, if it did.
    pub login: Option<(String, String)>,
}

/// A running test proxy.
pub struct TestProxy {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<ProxyRequest>>>,
}

/// The accept loop ends by itself after this long.
const CAP: Duration = Duration::from_secs(60);

impl TestProxy {
    /// A proxy that connects every client where it asks; with `login`, it requires that
    /// user and password; with `refuse`, it refuses every destination (SOCKS5 reply 5,
    /// HTTP 403).
    pub fn start(protocol: ProxyProtocol, login: Option<(&str, &str)>, refuse: bool) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("non-blocking proxy");
        let addr = listener.local_addr().expect("proxy address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let login = login.map(|(u, p)| (u.to_string(), p.to_string()));
        thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < CAP {
                match listener.accept() {
                    Ok((client, _)) => {
                        let seen = Arc::clone(&seen);
                        let login = login.clone();
                        thread::spawn(move || {
                            let _ = serve(client, protocol, login, refuse, &seen);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TestProxy { addr, requests }
    }

    /// `scheme://127.0.0.1:PORT` for `--proxy`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// `scheme://USER@127.0.0.1:PORT`.
    pub fn url_with_user(&self, scheme: &str, user: &str) -> String {
        format!("{scheme}://{user}@{}", self.addr)
    }

    /// What the clients asked for so far.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    mut client: TcpStream,
    protocol: ProxyProtocol,
    login: Option<(String, String)>,
    refuse: bool,
    seen: &Mutex<Vec<ProxyRequest>>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(20)))?;
    let request = match protocol {
        ProxyProtocol::Socks5 => socks5_request(&mut client, login.as_ref())?,
        ProxyProtocol::HttpConnect => connect_request(&mut client, login.as_ref())?,
    };
    let Some(request) = request else {
        return Ok(());
    };
    seen.lock().unwrap().push(request.clone());
    let server = match refuse {
        true => None,
        false => request
            .destination
            .to_socket_addrs()
            .ok()
            .and_then(|mut addresses| addresses.next())
            .and_then(|address| TcpStream::connect(address).ok()),
    };
    let ok = server.is_some();
    match protocol {
        ProxyProtocol::Socks5 => {
            let code = if ok { 0 } else { 5 };
            client.write_all(&[5, code, 0, 1, 127, 0, 0, 1, 0, 0])?;
        }
        ProxyProtocol::HttpConnect => {
            let status = if ok {
                "200 Connection established"
            } else {
                "403 Forbidden"
            };
            client.write_all(format!("HTTP/1.1 {status}\r\n\r\n").as_bytes())?;
        }
    }
    if let Some(server) = server {
        relay(client, server);
    }
    Ok(())
}

/// The SOCKS5 greeting, the login when one is required, the CONNECT request.
fn socks5_request(
    client: &mut TcpStream,
    login: Option<&(String, String)>,
) -> io::Result<Option<ProxyRequest>> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head)?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods)?;
    let mut used_login = None;
    match login {
        Some((user, password)) if methods.contains(&2) => {
            client.write_all(&[5, 2])?;
            let (got_user, got_password) = read_login(client)?;
            let good = &got_user == user && &got_password == password;
            client.write_all(&[1, if good { 0 } else { 1 }])?;
            if !good {
                return Ok(None);
            }
            used_login = Some((got_user, got_password));
        }
        Some(_) => {
            client.write_all(&[5, 0xff])?;
            return Ok(None);
        }
        None => client.write_all(&[5, 0])?,
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip)?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip)?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
        _ => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len)?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    Ok(Some(ProxyRequest {
        destination: format!("{host}:{}", u16::from_be_bytes(port)),
        login: used_login,
    }))
}

fn read_login(client: &mut TcpStream) -> io::Result<(String, String)> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head)?;
    let mut user = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut user)?;
    let mut len = [0u8; 1];
    client.read_exact(&mut len)?;
    let mut password = vec![0u8; usize::from(len[0])];
    client.read_exact(&mut password)?;
    Ok((
        String::from_utf8_lossy(&user).into_owned(),
        String::from_utf8_lossy(&password).into_owned(),
    ))
}

/// `CONNECT host:port HTTP/1.1` and its headers, read to the blank line.
fn connect_request(
    client: &mut TcpStream,
    login: Option<&(String, String)>,
) -> io::Result<Option<ProxyRequest>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        client.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let destination = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let authorization = text.lines().find_map(|line| {
        line.strip_prefix("Proxy-Authorization: Basic ")
            .map(|token| token.trim().to_string())
    });
    let used_login = authorization.and_then(|token| {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    });
    if let Some(required) = login
        && used_login.as_ref() != Some(required)
    {
        client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")?;
        return Ok(None);
    }
    Ok(Some(ProxyRequest {
        destination,
        login: used_login,
    }))
}

/// Copies bytes both ways until either side closes.
fn relay(client: TcpStream, server: TcpStream) {
    let pairs = [
        (client.try_clone(), server.try_clone()),
        (server.try_clone(), client.try_clone()),
    ];
    let mut threads = Vec::new();
    for (from, to) in pairs {
        let (Ok(mut from), Ok(mut to)) = (from, to) else {
            return;
        };
        threads.push(thread::spawn(move || {
            let _ = from.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        }));
    }
    for thread in threads {
        let _ = thread.join();
    }
}
