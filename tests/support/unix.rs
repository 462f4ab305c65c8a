//! A unix socket in front of a test server: each connection to the socket is relayed byte
//! for byte to the server's TCP port, so unix-socket clients meet the same script and record.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

/// A listening unix socket relaying to `127.0.0.1:PORT`; removed with its directory on drop.
pub struct UnixRelay {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl UnixRelay {
    /// Listens on a fresh socket path and relays every connection to `tcp_addr`.
    pub fn start(tcp_addr: &str) -> UnixRelay {
        let dir = tempfile::tempdir().expect("socket dir");
        let path = dir.path().join("server.sock");
        let listener = UnixListener::bind(&path).expect("bind the unix socket");
        let tcp_addr = tcp_addr.to_owned();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&tcp_addr) else {
                    return;
                };
                relay(client, server);
            }
        });
        UnixRelay { dir, path }
    }

    pub fn path(&self) -> &Path {
        let _ = &self.dir;
        &self.path
    }

    /// The socket path as a string, ready for `--server`.
    pub fn arg(&self) -> String {
        self.path.display().to_string()
    }
}

/// Copies both ways until either side closes, then closes the other.
fn relay(client: UnixStream, server: TcpStream) {
    let _ = server.set_nodelay(true);
    let cap = Some(Duration::from_secs(60));
    let _ = client.set_read_timeout(cap);
    let _ = server.set_read_timeout(cap);
    let (client_in, server_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    thread::spawn(move || pump(client_in, server_out, |s| s.shutdown(Shutdown::Write)));
    thread::spawn(move || pump(server, client, |c| c.shutdown(Shutdown::Write)));
}

fn pump<R: Read, W: Write>(mut from: R, mut to: W, close: impl Fn(&W) -> std::io::Result<()>) {
    let mut buffer = vec![0; 64 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 || to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = close(&to);
}
