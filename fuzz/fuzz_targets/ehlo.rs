//! Fuzz target: EHLO capabilities. The input is the text of a 250 reply to EHLO, one line
//! per line of input (as the reply reader hands it over); reading the extensions, SIZE and
//! the AUTH mechanisms out of it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpsend::smtp::reply::{Capabilities, Reply};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| line.trim_end_matches('\r').to_string())
        .collect();
    for code in [250, 220] {
        let reply = Reply {
            code,
            lines: lines.clone(),
        };
        let caps = Capabilities::from_ehlo(&reply);
        assert_eq!(caps.lines.len(), lines.len() - 1);
        if let Some(size) = caps.size_limit() {
            assert!(size > 0);
        }
        let _ = caps.has(smtp_proto::EXT_PIPELINING);
        let _ = reply.text();
    }
});
