//! The listening side: 127.0.0.1:0, one thread per connection, and `finish` to collect.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::record::{ConnectionRecord, Record};
use super::script::{Builder, Script};
use super::session;

/// How often the accept loop looks for a new connection or the stop signal.
const ACCEPT_POLL: Duration = Duration::from_millis(2);
/// The accept loop ends by itself after this long even if `finish` is never called.
const ACCEPT_CAP: Duration = Duration::from_secs(300);

/// A scripted SMTP/LMTP server running in background threads.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<Vec<JoinHandle<ConnectionRecord>>>>,
}

impl Server {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A server with the default script.
    pub fn start() -> Server {
        Builder::default().start()
    }

    pub fn start_with(script: Script) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("listener address");
        let stop = Arc::new(AtomicBool::new(false));
        let stop_signal = Arc::clone(&stop);
        let accept_thread = thread::Builder::new()
            .name(format!("smtp-test-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, Arc::new(script), stop_signal))
            .expect("spawn the accept thread");
        Server {
            addr,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    /// `"127.0.0.1:PORT"`, ready for `--server`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stop accepting (connections already made are still served, but a server that stopped
    /// reading mid-data gives up), wait until every client has left (each wait is capped by
    /// the script's timeout), and return the record.
    pub fn finish(mut self) -> Record {
        self.stop.store(true, Ordering::SeqCst);
        let accept_thread = self.accept_thread.take().expect("finish runs once");
        let connections = accept_thread.join().expect("accept thread panicked");
        Record {
            connections: connections
                .into_iter()
                .map(|c| c.join().expect("connection thread panicked"))
                .collect(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn accept_loop(
    listener: TcpListener,
    script: Arc<Script>,
    stop: Arc<AtomicBool>,
) -> Vec<JoinHandle<ConnectionRecord>> {
    let started = Instant::now();
    let mut connections = Vec::new();
    loop {
        // Read the flag before accepting, so a connection made before `finish` is never lost.
        let stopping = stop.load(Ordering::SeqCst) || started.elapsed() > ACCEPT_CAP;
        match listener.accept() {
            Ok((tcp, peer)) => {
                let script = match script.for_connection(connections.len()) {
                    Some(early) => Arc::new(early),
                    None => Arc::clone(&script),
                };
                let stop = Arc::clone(&stop);
                connections.push(thread::spawn(move || {
                    let mut record = session::serve(tcp, &script, stop);
                    record.peer = Some(peer);
                    record
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if stopping {
                    return connections;
                }
                thread::sleep(ACCEPT_POLL);
            }
            Err(_) if stopping => return connections,
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
}
