//! The `--debug` transcript: one repr-quoted line per wire line, secrets redacted, handed to
//! the caller's sink (the report layer's: stderr).

use crate::base::escape::repr;
use crate::base::secret::scrub_bytes;

/// How much of the session to print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verbosity {
    /// 0: nothing; 1: transcript; 2: with timestamps; 3: also the message data in full.
    pub level: u8,
}

/// Where transcript lines go.
pub type Sink = fn(&str);

/// The session as it happens, line by line into a sink. Silent at level 0.
pub struct Transcript {
    verbosity: Verbosity,
    sink: Sink,
    /// The connection this is the transcript of, when several run at once: each line then
    /// starts `[N] `.
    connection: Option<usize>,
}

impl Transcript {
    /// A transcript at `level` (`-d` counted) whose lines go to `sink`.
    pub fn new(level: u8, sink: Sink) -> Transcript {
        Transcript {
            verbosity: Verbosity { level },
            sink,
            connection: None,
        }
    }

    /// The same transcript with each line naming connection `number` (`[2] send: …`), for
    /// sessions that run side by side.
    pub fn of_connection(mut self, number: usize) -> Transcript {
        self.connection = Some(number);
        self
    }

    /// A transcript that says nothing.
    pub fn silent() -> Transcript {
        Transcript::new(0, |_| {})
    }

    pub fn enabled(&self) -> bool {
        self.verbosity.level > 0
    }

    /// True when message data is printed line by line instead of summarised.
    pub fn shows_data(&self) -> bool {
        self.verbosity.level >= 3
    }

    /// An event line such as `connect: 127.0.0.1:25` or `tls: TLSv1.3 …`.
    pub fn event(&mut self, label: &str, text: &str) {
        self.line(label, text);
    }

    /// Every line of bytes the client wrote, each as `send: '…'`.
    pub fn sent(&mut self, bytes: &[u8]) {
        if !self.enabled() {
            return;
        }
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            let quoted = repr(&scrub_bytes(line));
            self.line("send", &quoted);
        }
    }

    /// A line the client wrote whose secret part is replaced: `send: 'AUTH PLAIN <redacted>\r\n'`.
    pub fn sent_redacted(&mut self, visible_prefix: &str) {
        let quoted = repr(format!("{visible_prefix}<redacted>\r\n").as_bytes());
        self.line("send", &quoted);
    }

    /// A summary of the message data: `send: <message: 1234 bytes, 31 lines>`.
    pub fn sent_data_summary(&mut self, bytes: u64, lines: u64) {
        self.line("send", &format!("<message: {bytes} bytes, {lines} lines>"));
    }

    /// One reply line as received.
    pub fn received(&mut self, line: &[u8]) {
        if self.enabled() {
            let quoted = repr(&scrub_bytes(line));
            self.line("reply", &quoted);
        }
    }

    fn line(&mut self, label: &str, text: &str) {
        if !self.enabled() {
            return;
        }
        let stamp = if self.verbosity.level >= 2 {
            format!("{} ", timestamp())
        } else {
            String::new()
        };
        let connection = match self.connection {
            Some(number) => format!("[{number}] "),
            None => String::new(),
        };
        (self.sink)(&format!("{stamp}{connection}{label}: {text}"));
    }
}

/// Local wall-clock time as HH:MM:SS.micro.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let time = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r only writes into the zeroed tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&time, &mut tm) };
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_micros()
    )
}
