//! Unit tests of `smtp`.

use super::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

/// A one-connection server that writes `greeting`, then answers each line from `replies`.
fn one_shot(greeting: &'static str, replies: &'static [&'static str]) -> stream::Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.write_all(greeting.as_bytes()).unwrap();
        let mut reader = BufReader::new(tcp.try_clone().unwrap());
        for reply in replies {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let _ = tcp.write_all(reply.as_bytes());
        }
    });
    stream::Endpoint::Tcp(address)
}

fn target() -> Target {
    Target::Tcp {
        host: "mx.test".into(),
        port: 25,
    }
}

#[test]
fn a_4xx_greeting_passes_to_the_next_address() {
    let busy = one_shot("421 4.3.2 busy\r\n", &[]);
    let ready = one_shot("220 ready\r\n", &["250 ok\r\n", "221 bye\r\n"]);
    let session = Session::open_at(
        &target(),
        &[busy, ready],
        Options::default(),
        Transcript::silent(),
    )
    .unwrap();
    assert_eq!(session.greeting().code, 220);
    session.quit();
}

#[test]
fn the_last_address_greeting_4xx_is_the_error() {
    let first = one_shot("421 4.3.2 busy\r\n", &[]);
    let second = one_shot("450 4.7.1 later\r\n", &[]);
    let err = Session::open_at(
        &target(),
        &[first, second],
        Options::default(),
        Transcript::silent(),
    )
    .err()
    .unwrap();
    assert_eq!(crate::base::exit::code_for(&err), 75);
    assert!(
        crate::base::exit::one_line(&err).contains("450 4.7.1 later"),
        "{err:#}"
    );
}

#[test]
fn a_5xx_greeting_stops_at_once() {
    let refusing = one_shot("554 5.7.1 go away\r\n", &[]);
    let ready = one_shot("220 ready\r\n", &["250 ok\r\n", "221 bye\r\n"]);
    let err = Session::open_at(
        &target(),
        &[refusing, ready],
        Options::default(),
        Transcript::silent(),
    )
    .err()
    .unwrap();
    assert_eq!(crate::base::exit::code_for(&err), 69);
}
