//! What the test server saw: connections, command lines, transactions and message bytes.

/// Everything one server recorded, connections in the order they were accepted.
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub connections: Vec<ConnectionRecord>,
}

#[derive(Clone, Debug, Default)]
pub struct ConnectionRecord {
    /// Every line received outside data (commands and SASL responses), without its line end.
    pub lines: Vec<Vec<u8>>,
    /// How many of those lines ended in a bare LF instead of CRLF.
    pub bare_lf_lines: usize,
    pub transactions: Vec<Transaction>,
    /// Times the client waited for replies after the greeting (see `wire.rs`).
    pub round_trips: usize,
    /// A TLS handshake (implicit or STARTTLS) completed on this connection.
    pub tls: bool,
    /// The mechanism and user of a login the server checked and accepted.
    pub authenticated_as: Option<(String, String)>,
    /// The client's address as the server saw it (the address it connected from).
    pub peer: Option<std::net::SocketAddr>,
}

/// One mail transaction: from an accepted MAIL to the end of data, RSET, or the end of the
/// connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction {
    /// The MAIL argument after `FROM:`, e.g. `<a@example.com> SIZE=123 BODY=8BITMIME`.
    pub mail_from: String,
    /// The argument after `TO:` of every RCPT in this transaction, accepted or not.
    pub rcpt_to: Vec<String>,
    /// Addresses (without `<>`) of the recipients the server accepted.
    pub accepted: Vec<String>,
    /// Data exactly as on the wire: after the 354 up to and including the terminator, or
    /// the BDAT chunks joined.
    pub data_wire: Vec<u8>,
    /// The message as stored: dot-unstuffed, terminator removed (final CRLF kept).
    pub message: Vec<u8>,
    /// Sizes of the BDAT chunks, empty when DATA was used.
    pub bdat_chunks: Vec<usize>,
    /// The whole data arrived and the server accepted it (LMTP: for at least one recipient).
    pub completed: bool,
}

/// The address inside `<…>` at the start of a MAIL/RCPT argument.
pub fn path_address(arg: &str) -> &str {
    match arg.strip_prefix('<') {
        Some(rest) => rest.split('>').next().unwrap_or(rest),
        None => arg.split(' ').next().unwrap_or(arg),
    }
}

/// Undo dot-stuffing and drop the terminator: the message a server would store.
pub fn unstuff(data_wire: &[u8]) -> Vec<u8> {
    let body = if data_wire == b".\r\n" {
        &data_wire[..0]
    } else if data_wire.ends_with(b"\r\n.\r\n") {
        &data_wire[..data_wire.len() - 3]
    } else {
        data_wire
    };
    let mut message = Vec::with_capacity(body.len());
    let mut at_line_start = true;
    for (i, &byte) in body.iter().enumerate() {
        if !(at_line_start && byte == b'.') {
            message.push(byte);
        }
        at_line_start = byte == b'\n' && i > 0 && body[i - 1] == b'\r';
    }
    message
}

impl Transaction {
    pub fn sender(&self) -> &str {
        path_address(&self.mail_from)
    }

    /// MAIL parameters such as `SIZE=123`, in order.
    pub fn mail_params(&self) -> Vec<&str> {
        self.mail_from
            .split(' ')
            .skip(1)
            .filter(|p| !p.is_empty())
            .collect()
    }

    /// Addresses of every RCPT in this transaction, accepted or not.
    pub fn recipients(&self) -> Vec<&str> {
        self.rcpt_to.iter().map(|arg| path_address(arg)).collect()
    }

    pub fn message_text(&self) -> String {
        String::from_utf8_lossy(&self.message).into_owned()
    }
}

impl ConnectionRecord {
    pub fn commands(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
}

impl Record {
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Every command line of every connection, in order.
    pub fn commands(&self) -> Vec<String> {
        self.connections.iter().flat_map(|c| c.commands()).collect()
    }

    pub fn transactions(&self) -> Vec<&Transaction> {
        self.connections
            .iter()
            .flat_map(|c| &c.transactions)
            .collect()
    }

    pub fn completed(&self) -> Vec<&Transaction> {
        self.transactions()
            .into_iter()
            .filter(|t| t.completed)
            .collect()
    }

    /// The one completed transaction; panics (showing the record) if there is not exactly one.
    pub fn only_completed(&self) -> &Transaction {
        match self.completed().as_slice() {
            [one] => one,
            other => panic!(
                "expected one completed transaction, got {}: {self:#?}",
                other.len()
            ),
        }
    }

    pub fn round_trips(&self) -> usize {
        self.connections.iter().map(|c| c.round_trips).sum()
    }
}
