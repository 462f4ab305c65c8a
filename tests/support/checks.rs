//! Small helpers for what several test modules check: the end-of-data marks in data on the
//! wire, line ends, base64 forms of a secret, many recipients and who got the message.

use super::record::Record;

/// Places where a server ends the data: strictly, CRLF `.` CRLF (or `.` CRLF as the first
/// line); leniently, a `.` alone between any line ends.
pub fn end_marks(wire: &[u8]) -> (usize, usize) {
    let strict = wire.windows(5).filter(|w| w == b"\r\n.\r\n").count()
        + usize::from(wire.starts_with(b".\r\n"));
    let lenient = (0..wire.len())
        .filter(|&at| {
            let before = at == 0 || matches!(wire[at - 1], b'\r' | b'\n');
            let after = matches!(wire.get(at + 1), Some(b'\r' | b'\n'));
            wire[at] == b'.' && before && after
        })
        .count();
    (strict, lenient)
}

/// `text` with each LF that has no CR before it made CRLF (a bare CR stays).
pub fn lf_to_crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    for (at, &byte) in text.iter().enumerate() {
        if byte == b'\n' && (at == 0 || text[at - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(byte);
    }
    out
}

/// Standard base64, as a secret would appear in a SASL exchange.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `count` recipients: r0@example.com, r1@example.com, …
pub fn many(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("r{i}@example.com")).collect()
}

/// Every completed transaction's accepted recipients, in order, and their count per
/// transaction.
pub fn delivered(record: &Record) -> (Vec<String>, Vec<usize>) {
    let completed = record.completed();
    let sizes = completed.iter().map(|t| t.accepted.len()).collect();
    let all = completed.iter().flat_map(|t| t.accepted.clone()).collect();
    (all, sizes)
}
