//! Fuzz target: the reply reader. Arbitrary bytes arrive from a "server" over a socket and
//! are read as replies, one after another, until the reader refuses or the bytes run out.
//! It must never panic, and what it returns must respect its bounds.
#![no_main]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use smtpsend::smtp::connection::{Connection, MAX_LINE, MAX_LINES};
use smtpsend::smtp::reply::{Capabilities, ReplySummary};
use smtpsend::smtp::stream::Stream;
use smtpsend::smtp::transcript::{Transcript, repr};

/// More than this would not fit in the socket buffer before the reader starts.
const MAX_INPUT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let (mut server, client) = UnixStream::pair().expect("socket pair");
    server.write_all(data).expect("write the server's bytes");
    drop(server);
    let mut connection = Connection::new(
        Stream::Unix(client),
        Transcript::silent(),
        Duration::from_secs(5),
    );
    // Every reply takes at least one line ending, so this ends.
    while let Ok(reply) = connection.read_reply(Duration::from_secs(5), "the fuzzer") {
        assert!((200..=599).contains(&reply.code) && reply.code != 421);
        assert!(!reply.lines.is_empty() && reply.lines.len() <= MAX_LINES);
        assert!(reply.lines.iter().all(|line| line.len() <= MAX_LINE + 1));
        let shown = reply.to_string();
        assert!(shown.starts_with(&reply.code.to_string()));
        let summary = ReplySummary::from(&reply);
        if let Some(code) = summary.enhanced_code {
            assert!(reply.lines[0].starts_with(&code));
        }
        if reply.is_positive() {
            let caps = Capabilities::from_ehlo(&reply);
            assert_eq!(caps.lines.len(), reply.lines.len() - 1);
            let _ = caps.size_limit();
        }
        for line in &reply.lines {
            let _ = repr(line.as_bytes());
        }
    }
});
