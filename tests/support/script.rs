//! The script: what the test server answers to each verb, and the faults it injects.

use std::collections::HashMap;
use std::time::Duration;

use native_tls::{Identity, TlsAcceptor};

/// A step of an SMTP/LMTP session that a rule can be attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    Greeting,
    Ehlo,
    Helo,
    Lhlo,
    Mail,
    Rcpt,
    Data,
    /// In the middle of the data: after the 354 and the first piece of the data.
    /// `HangUp` closes; a reply (`Reply`, `ReplyThenHangUp`, `Raw`) is written at once, then
    /// the rest of the data is read and dropped with no further reply (the transaction does
    /// not complete); `Silent` stops reading, so the client's writes block; `Delay` stops
    /// reading for that long, then reads the rest and answers as usual.
    MidData,
    /// The reply after the final dot (or after `BDAT … LAST` when no Bdat rule is set).
    EndOfData,
    Rset,
    Quit,
    Noop,
    Vrfy,
    Expn,
    Auth,
    Starttls,
    /// Instead of the TLS handshake (implicit TLS, or after the 220 to STARTTLS):
    /// `HangUp` closes, `Silent` says nothing, `Raw` sends these bytes instead of TLS.
    TlsHandshake,
    Bdat,
}

impl Verb {
    pub const ALL: [Verb; 18] = [
        Verb::Greeting,
        Verb::Ehlo,
        Verb::Helo,
        Verb::Lhlo,
        Verb::Mail,
        Verb::Rcpt,
        Verb::Data,
        Verb::MidData,
        Verb::EndOfData,
        Verb::Rset,
        Verb::Quit,
        Verb::Noop,
        Verb::Vrfy,
        Verb::Expn,
        Verb::Auth,
        Verb::Starttls,
        Verb::TlsHandshake,
        Verb::Bdat,
    ];
}

/// A reply: a code and one or more text lines (`"a\nb"` becomes `250-a` / `250 b`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn new(code: u16, text: &str) -> Reply {
        Reply {
            code,
            lines: text.split('\n').map(str::to_owned).collect(),
        }
    }

    pub fn wire(&self) -> Vec<u8> {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i + 1 == self.lines.len() { ' ' } else { '-' };
            out.push_str(&format!("{}{}{}\r\n", self.code, sep, line));
        }
        out.into_bytes()
    }
}

/// What the server does instead of (or before) its normal reply at one step.
#[derive(Clone, Debug)]
pub enum Action {
    /// Answer with this reply instead of the normal one.
    Reply(Reply),
    /// The normal reply, after a pause.
    Delay(Duration),
    /// This reply, after a pause.
    DelayedReply(Duration, Reply),
    /// Write these exact bytes instead of a reply (for protocol violations).
    Raw(Vec<u8>),
    /// This reply, then close the connection (what a server does after a 421).
    ReplyThenHangUp(Reply),
    /// Write `head`, then `fill` `times` times (`None`: without end), waiting `pace` after
    /// each, then `tail`, and close. Stops early when the client leaves or the cap passes.
    /// For multi-megabyte lines and endless multiline replies, fast or slow; see
    /// [`Action::long_line`], [`Action::endless_reply`], [`Action::slow_endless_reply`].
    Flood {
        head: Vec<u8>,
        fill: Vec<u8>,
        times: Option<usize>,
        tail: Vec<u8>,
        pace: Duration,
    },
    /// Close the connection instead of replying (replies already due are sent first).
    HangUp,
    /// Never reply; keep the connection open until the client leaves (or the cap).
    Silent,
    /// DATA: send 354, take the first piece of data, then close. BDAT: close before the chunk.
    /// At any other step it is the same as `HangUp`.
    HangUpDuringData,
}

impl Action {
    pub fn reply(code: u16, text: &str) -> Action {
        Action::Reply(Reply::new(code, text))
    }

    /// This reply, then close the connection.
    pub fn reply_then_hang_up(code: u16, text: &str) -> Action {
        Action::ReplyThenHangUp(Reply::new(code, text))
    }

    /// One reply line `CODE ` followed by `bytes` bytes of text and CRLF, streamed.
    pub fn long_line(code: u16, bytes: usize) -> Action {
        const FILL: usize = 64 * 1024;
        Action::Flood {
            head: format!("{code} ").into_bytes(),
            fill: vec![b'x'; FILL],
            times: Some(bytes.div_ceil(FILL)),
            tail: b"\r\n".to_vec(),
            pace: Duration::ZERO,
        }
    }

    /// `CODE-more` lines without end: a multiline reply whose last line never comes.
    pub fn endless_reply(code: u16) -> Action {
        Action::Flood {
            head: Vec::new(),
            fill: format!("{code}-more\r\n").repeat(1024).into_bytes(),
            times: None,
            tail: Vec::new(),
            pace: Duration::ZERO,
        }
    }

    /// One `CODE-more` line every `pace`, without end: a reply that never ends although
    /// the server never falls silent for long (each line alone would beat a per-read
    /// timeout).
    pub fn slow_endless_reply(code: u16, pace: Duration) -> Action {
        Action::Flood {
            head: Vec::new(),
            fill: format!("{code}-more\r\n").into_bytes(),
            times: None,
            tail: Vec::new(),
            pace,
        }
    }
}

/// The whole behaviour of one server; shared read-only by its connection threads.
#[derive(Clone)]
pub struct Script {
    pub hostname: String,
    pub capabilities: Vec<String>,
    pub lmtp: bool,
    pub rules: HashMap<Verb, Action>,
    /// RCPT rules by address substring; the first match wins over the Rcpt rule.
    pub rcpt_rules: Vec<(String, Action)>,
    /// LMTP per-recipient replies after the data, by address substring.
    pub lmtp_rules: Vec<(String, Action)>,
    pub starttls: Option<TlsAcceptor>,
    pub implicit_tls: Option<TlsAcceptor>,
    /// Cap on every wait for the client (reads, silence).
    pub timeout: Duration,
    /// Check logins against this user and password (or OAuth token); `None` accepts any.
    pub credentials: Option<(String, String)>,
    /// With credentials: the password (the OAuth access token) is whatever this cell holds
    /// at the time of the login, so only the currently valid token is accepted.
    pub token_cell: Option<std::sync::Arc<std::sync::Mutex<String>>>,
    /// SCRAM-SHA-256: send a wrong server signature (an impostor that does not know the
    /// password).
    pub forge_scram_signature: bool,
    /// Rules for the first connections only: `(n, verb, action)` applies to connections
    /// 0..n, replacing the verb's rule (a server that fails, then recovers).
    pub early_rules: Vec<(usize, Verb, Action)>,
    /// RCPT rules by address substring for the first connections only: `(n, part, action)`.
    pub early_rcpt_rules: Vec<(usize, String, Action)>,
    /// The capability lines offered once the connection is encrypted; `None` offers the
    /// same ones as before TLS.
    pub capabilities_after_tls: Option<Vec<String>>,
    /// Most recipients one transaction takes; each RCPT past it gets
    /// `452 4.5.3 Error: too many recipients` (Postfix's smtpd_recipient_limit).
    pub recipient_limit: Option<usize>,
    /// MAIL before a successful AUTH gets `530 5.7.0 Authentication required` (RFC 4954
    /// §6), as a submission server answers.
    pub require_auth: bool,
    /// Rules for one occurrence of a verb on one connection: `(connection, verb, nth,
    /// action)` replaces the verb's rule the `nth` time (from 1) the client sends it on the
    /// connection with that index (from 0).
    pub nth_rules: Vec<(usize, Verb, usize, Action)>,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            hostname: "test.local".to_owned(),
            capabilities: [
                "PIPELINING",
                "8BITMIME",
                "SIZE 10485760",
                "ENHANCEDSTATUSCODES",
            ]
            .map(str::to_owned)
            .to_vec(),
            lmtp: false,
            rules: HashMap::new(),
            rcpt_rules: Vec::new(),
            lmtp_rules: Vec::new(),
            starttls: None,
            implicit_tls: None,
            timeout: Duration::from_secs(30),
            credentials: None,
            token_cell: None,
            forge_scram_signature: false,
            early_rules: Vec::new(),
            early_rcpt_rules: Vec::new(),
            capabilities_after_tls: None,
            recipient_limit: None,
            require_auth: false,
            nth_rules: Vec::new(),
        }
    }
}

impl Script {
    /// The script for the connection with this index (from 0): with the early rules that
    /// still apply to it, or `None` when none does.
    pub fn for_connection(&self, index: usize) -> Option<Script> {
        let early: Vec<&(usize, Verb, Action)> = self
            .early_rules
            .iter()
            .filter(|(count, _, _)| index < *count)
            .collect();
        let early_rcpt: Vec<&(usize, String, Action)> = self
            .early_rcpt_rules
            .iter()
            .filter(|(count, _, _)| index < *count)
            .collect();
        if early.is_empty() && early_rcpt.is_empty() && self.nth_rules.is_empty() {
            return None;
        }
        let mut script = self.clone();
        script.nth_rules.retain(|(at, ..)| *at == index);
        for (_, verb, action) in early {
            script.rules.insert(*verb, action.clone());
        }
        for (_, part, action) in early_rcpt.into_iter().rev() {
            script.rcpt_rules.insert(0, (part.clone(), action.clone()));
        }
        Some(script)
    }

    pub fn rule(&self, verb: Verb) -> Option<&Action> {
        self.rules.get(&verb)
    }

    pub fn offers(&self, keyword: &str) -> bool {
        self.capabilities.iter().any(|c| {
            c.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
        })
    }
}

/// Builds a [`Script`] and starts a [`super::Server`] with it.
#[derive(Clone, Default)]
pub struct Builder {
    pub script: Script,
}

fn acceptor(identity: Identity) -> TlsAcceptor {
    TlsAcceptor::new(identity).expect("TLS acceptor from the test identity")
}

impl Builder {
    /// The greeting, e.g. `greeting(421, "4.3.2 busy")` (the server then closes).
    pub fn greeting(self, code: u16, text: &str) -> Builder {
        self.on(Verb::Greeting, Action::reply(code, text))
    }

    /// Replace the EHLO/LHLO capability lines.
    pub fn capabilities(mut self, lines: &[&str]) -> Builder {
        self.script.capabilities = lines.iter().map(|l| l.to_string()).collect();
        self
    }

    /// Offer these capability lines instead once TLS is up (as servers that announce AUTH
    /// only after STARTTLS do).
    pub fn capabilities_after_tls(mut self, lines: &[&str]) -> Builder {
        self.script.capabilities_after_tls = Some(lines.iter().map(|l| l.to_string()).collect());
        self
    }

    /// Add one capability line, e.g. `"AUTH PLAIN LOGIN"` or `"CHUNKING"`.
    pub fn capability(mut self, line: &str) -> Builder {
        self.script.capabilities.push(line.to_owned());
        self
    }

    /// EHLO answers `502`, so the client has to fall back to HELO.
    pub fn no_ehlo(self) -> Builder {
        self.on(Verb::Ehlo, Action::reply(502, "5.5.1 EHLO not supported"))
    }

    /// Speak LMTP: LHLO instead of EHLO/HELO, one reply per accepted recipient after the data.
    pub fn lmtp(mut self) -> Builder {
        self.script.lmtp = true;
        self
    }

    /// The first `connections` connections get `action` at `verb` instead of its rule;
    /// later ones behave normally (a server that fails, then recovers).
    pub fn on_first(mut self, connections: usize, verb: Verb, action: Action) -> Builder {
        self.script.early_rules.push((connections, verb, action));
        self
    }

    /// Refuse MAIL with 530 until the client has logged in.
    pub fn require_auth(mut self) -> Builder {
        self.script.require_auth = true;
        self
    }

    /// On the first connection, the `nth` (from 1) `verb` gets `action` instead of its rule
    /// (a server that fails in the middle of a window of messages).
    pub fn on_nth(self, verb: Verb, nth: usize, action: Action) -> Builder {
        self.on_nth_of(0, verb, nth, action)
    }

    /// On the connection with index `connection` (from 0), the `nth` (from 1) `verb` gets
    /// `action` instead of its rule.
    pub fn on_nth_of(
        mut self,
        connection: usize,
        verb: Verb,
        nth: usize,
        action: Action,
    ) -> Builder {
        self.script.nth_rules.push((connection, verb, nth, action));
        self
    }

    /// Take at most `limit` recipients per transaction; the rest get 452 4.5.3.
    pub fn recipient_limit(mut self, limit: usize) -> Builder {
        self.script.recipient_limit = Some(limit);
        self
    }

    pub fn on(mut self, verb: Verb, action: Action) -> Builder {
        self.script.rules.insert(verb, action);
        self
    }

    /// On the first `connections` connections only, a RCPT whose argument contains
    /// `address_part` gets `action` (a mailbox that is full, then has room).
    pub fn on_first_rcpt(
        mut self,
        connections: usize,
        address_part: &str,
        action: Action,
    ) -> Builder {
        self.script
            .early_rcpt_rules
            .push((connections, address_part.to_owned(), action));
        self
    }

    /// A RCPT whose argument contains `address_part` gets `action`.
    pub fn on_rcpt(mut self, address_part: &str, action: Action) -> Builder {
        self.script
            .rcpt_rules
            .push((address_part.to_owned(), action));
        self
    }

    /// LMTP: the after-data reply for recipients whose address contains `address_part`.
    pub fn on_lmtp_recipient(mut self, address_part: &str, action: Action) -> Builder {
        self.script
            .lmtp_rules
            .push((address_part.to_owned(), action));
        self
    }

    /// Offer STARTTLS (added to the capabilities) and upgrade with this identity.
    pub fn starttls(mut self, identity: Identity) -> Builder {
        self.script.starttls = Some(acceptor(identity));
        self.capability("STARTTLS")
    }

    /// Offer STARTTLS and upgrade with this identity, speaking TLS 1.2 at most.
    pub fn starttls_tls12_only(mut self, identity: Identity) -> Builder {
        let acceptor = TlsAcceptor::builder(identity)
            .max_protocol_version(Some(native_tls::Protocol::Tlsv12))
            .build()
            .expect("TLS 1.2 acceptor");
        self.script.starttls = Some(acceptor);
        self.capability("STARTTLS")
    }

    /// TLS from the first byte (SMTPS, port-465 style).
    pub fn implicit_tls(mut self, identity: Identity) -> Builder {
        self.script.implicit_tls = Some(acceptor(identity));
        self
    }

    /// Offer these SASL mechanisms (`"PLAIN LOGIN"`) and check logins against this user and
    /// password; the record then says who logged in.
    pub fn auth(mut self, mechanisms: &str, user: &str, password: &str) -> Builder {
        self.script.credentials = Some((user.to_owned(), password.to_owned()));
        self.capability(&format!("AUTH {mechanisms}"))
    }

    /// Offer these SASL mechanisms (`"XOAUTH2 OAUTHBEARER"`) and accept `user` with the
    /// token the cell holds at the time of each login (an OAuth provider's current one).
    pub fn auth_token(
        mut self,
        mechanisms: &str,
        user: &str,
        cell: std::sync::Arc<std::sync::Mutex<String>>,
    ) -> Builder {
        self.script.credentials = Some((user.to_owned(), String::new()));
        self.script.token_cell = Some(cell);
        self.capability(&format!("AUTH {mechanisms}"))
    }

    /// SCRAM-SHA-256 with a forged server signature.
    pub fn forge_scram_signature(mut self) -> Builder {
        self.script.forge_scram_signature = true;
        self
    }

    /// Cap on every wait for the client (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Builder {
        self.script.timeout = timeout;
        self
    }

    pub fn start(self) -> super::Server {
        super::Server::start_with(self.script)
    }
}
