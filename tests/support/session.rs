//! One connection's SMTP/LMTP dialogue: the normal replies, the script's rules, the record.

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;

use base64::Engine;

use super::record::{ConnectionRecord, Transaction, path_address, unstuff};
use super::script::{Action, Reply, Script, Verb};
use super::wire::Wire;

pub use super::sasl::CRAM_MD5_CHALLENGE;

enum Flow {
    Continue,
    Close,
}

/// What the server ended up doing at one step.
enum Answer {
    Code(u16),
    Raw,
    Closed,
}

impl Answer {
    fn is_2xx(&self) -> bool {
        matches!(self, Answer::Code(200..=299))
    }

    fn flow(&self) -> Flow {
        match self {
            Answer::Closed => Flow::Close,
            _ => Flow::Continue,
        }
    }
}

struct Session<'a> {
    script: &'a Script,
    wire: Wire,
    record: ConnectionRecord,
    transaction: Option<Transaction>,
    greeted: bool,
    authenticated: bool,
    /// How often each verb was seen, for the script's nth rules.
    seen: std::collections::HashMap<Verb, usize>,
}

/// Serve one accepted connection until the client leaves, a rule closes it, or a wait hits
/// the cap; then return what was recorded.
pub fn serve(tcp: TcpStream, script: &Script, stop: Arc<AtomicBool>) -> ConnectionRecord {
    let _ = tcp.set_nonblocking(false);
    let wire = match Wire::new(tcp, script.timeout, stop) {
        Ok(wire) => wire,
        Err(_) => return ConnectionRecord::default(),
    };
    let mut session = Session {
        script,
        wire,
        record: ConnectionRecord::default(),
        transaction: None,
        greeted: false,
        authenticated: false,
        seen: std::collections::HashMap::new(),
    };
    let _ = session.run();
    session.end_transaction();
    session.wire.close();
    session.record.round_trips = session.wire.round_trips;
    session.record
}

fn after_prefix<'s>(arg: &'s str, prefix: &str) -> Option<&'s str> {
    let head = arg.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| arg[prefix.len()..].trim_start())
}

fn first_match<'s>(rules: &'s [(String, Action)], address: &str) -> Option<&'s Action> {
    rules
        .iter()
        .find(|(part, _)| address.contains(part.as_str()))
        .map(|(_, action)| action)
}

impl<'a> Session<'a> {
    /// The rule for `verb` now: an nth rule when this is its occurrence, else the script's.
    fn rule(&mut self, verb: Verb) -> Option<&'a Action> {
        let script = self.script;
        let seen = self.seen.entry(verb).or_default();
        *seen += 1;
        let nth = *seen;
        script
            .nth_rules
            .iter()
            .find(|(_, rule_verb, at, _)| *rule_verb == verb && *at == nth)
            .map(|(.., action)| action)
            .or_else(|| script.rule(verb))
    }

    fn run(&mut self) -> io::Result<()> {
        let script = self.script;
        if let Some(acceptor) = &script.implicit_tls {
            if let Some(action) = script.rule(Verb::TlsHandshake) {
                self.instead_of_handshake(action);
                return Ok(());
            }
            self.wire.upgrade(acceptor)?;
            self.record.tls = true;
        }
        let kind = if script.lmtp { "LMTP" } else { "ESMTP" };
        let greeting = Reply::new(220, &format!("{} {kind}", script.hostname));
        let rule = self.rule(Verb::Greeting);
        let answer = self.answer(rule, greeting)?;
        self.wire.flush(false)?;
        if matches!(answer, Answer::Closed | Answer::Code(421)) {
            return Ok(());
        }
        while let Some(line) = self.read_line()? {
            if let Flow::Close = self.command(&line)? {
                break;
            }
        }
        Ok(())
    }

    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some((line, bare_lf)) = self.wire.read_line()? else {
            return Ok(None);
        };
        self.record.bare_lf_lines += usize::from(bare_lf);
        self.record.lines.push(line.clone());
        Ok(Some(line))
    }

    /// Give the normal reply, or do what the rule says instead.
    fn answer(&mut self, rule: Option<&Action>, normal: Reply) -> io::Result<Answer> {
        let reply = match rule {
            None => normal,
            Some(Action::Reply(reply)) => reply.clone(),
            Some(Action::Delay(pause)) => {
                thread::sleep(*pause);
                normal
            }
            Some(Action::DelayedReply(pause, reply)) => {
                thread::sleep(*pause);
                reply.clone()
            }
            Some(Action::Raw(bytes)) => {
                self.wire.queue(bytes);
                return Ok(Answer::Raw);
            }
            Some(Action::ReplyThenHangUp(reply)) => {
                self.wire.queue(&reply.wire());
                self.wire.close();
                return Ok(Answer::Closed);
            }
            Some(Action::Flood {
                head,
                fill,
                times,
                tail,
                pace,
            }) => {
                self.wire.flood(head, fill, *times, tail, *pace);
                self.wire.close();
                return Ok(Answer::Closed);
            }
            Some(Action::HangUp | Action::HangUpDuringData) => {
                self.wire.close();
                return Ok(Answer::Closed);
            }
            Some(Action::Silent) => {
                self.wire.flush(true)?;
                self.wire.wait_for_close();
                self.wire.close();
                return Ok(Answer::Closed);
            }
        };
        self.wire.queue(&reply.wire());
        Ok(Answer::Code(reply.code))
    }

    fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        let text = String::from_utf8_lossy(line);
        let (word, arg) = text.split_once(' ').unwrap_or((&text, ""));
        let lmtp = self.script.lmtp;
        match (word.to_ascii_uppercase().as_str(), lmtp) {
            ("EHLO", false) => self.hello(Verb::Ehlo, arg),
            ("HELO", false) => self.hello(Verb::Helo, arg),
            ("LHLO", true) => self.hello(Verb::Lhlo, arg),
            ("MAIL", _) => self.mail(arg),
            ("RCPT", _) => self.rcpt(arg),
            ("DATA", _) => self.data(),
            ("BDAT", _) if self.script.offers("CHUNKING") => self.bdat(arg),
            ("AUTH", _) => self.auth(arg),
            ("STARTTLS", _) => self.starttls(),
            ("RSET", _) => self.simple(Verb::Rset, Reply::new(250, "2.0.0 Ok")),
            ("NOOP", _) => self.simple(Verb::Noop, Reply::new(250, "2.0.0 Ok")),
            ("VRFY", _) if !arg.is_empty() => {
                self.simple(Verb::Vrfy, Reply::new(252, &format!("2.0.0 {arg}")))
            }
            ("EXPN", _) if !arg.is_empty() => {
                self.simple(Verb::Expn, Reply::new(250, &format!("2.0.0 {arg}")))
            }
            ("QUIT", _) => {
                self.simple(Verb::Quit, Reply::new(221, "2.0.0 Bye"))?;
                Ok(Flow::Close)
            }
            _ => Ok(self
                .answer(None, Reply::new(500, "5.5.2 unrecognised"))?
                .flow()),
        }
    }

    fn simple(&mut self, verb: Verb, normal: Reply) -> io::Result<Flow> {
        let rule = self.rule(verb);
        let answer = self.answer(rule, normal)?;
        if verb == Verb::Rset && answer.is_2xx() {
            self.end_transaction();
        }
        Ok(answer.flow())
    }

    /// The capabilities offered now: the ones for encrypted sessions once TLS is up.
    fn offered(&self) -> &'a [String] {
        match &self.script.capabilities_after_tls {
            Some(after) if self.record.tls => after,
            _ => &self.script.capabilities,
        }
    }

    fn hello(&mut self, verb: Verb, arg: &str) -> io::Result<Flow> {
        let script = self.script;
        let normal = if arg.trim().is_empty() {
            Reply::new(501, "5.5.4 Syntax: EHLO hostname")
        } else if verb == Verb::Helo {
            Reply::new(250, &script.hostname)
        } else {
            let mut lines = vec![script.hostname.clone()];
            lines.extend(self.offered().iter().cloned());
            Reply { code: 250, lines }
        };
        let answer = self.answer(script.rule(verb), normal)?;
        if answer.is_2xx() {
            self.end_transaction();
            self.greeted = true;
        }
        Ok(answer.flow())
    }

    fn mail(&mut self, arg: &str) -> io::Result<Flow> {
        let from = after_prefix(arg, "FROM:");
        let normal = match (from, self.greeted, &self.transaction) {
            (None, _, _) => Reply::new(501, "5.5.4 Syntax: MAIL FROM:<address>"),
            (_, false, _) => Reply::new(503, "5.5.1 send HELO/EHLO first"),
            _ if self.script.require_auth && !self.authenticated => {
                Reply::new(530, "5.7.0 Authentication required")
            }
            (_, _, Some(_)) => Reply::new(503, "5.5.1 nested MAIL command"),
            _ => Reply::new(250, "2.1.0 Ok"),
        };
        let rule = self.rule(Verb::Mail);
        let answer = self.answer(rule, normal)?;
        if answer.is_2xx() {
            self.end_transaction();
            let mail_from = from.unwrap_or_default().to_owned();
            self.transaction = Some(Transaction {
                mail_from,
                ..Transaction::default()
            });
        }
        Ok(answer.flow())
    }

    fn rcpt(&mut self, arg: &str) -> io::Result<Flow> {
        let script = self.script;
        let to = after_prefix(arg, "TO:");
        let normal = match (to, &self.transaction) {
            (None, _) => Reply::new(501, "5.5.4 Syntax: RCPT TO:<address>"),
            (_, None) => Reply::new(503, "5.5.1 need MAIL first"),
            _ => Reply::new(250, "2.1.5 Ok"),
        };
        // Past the limit, the count is checked before anything else (as Postfix does).
        let over_limit = self.transaction.as_ref().is_some_and(|t| {
            script
                .recipient_limit
                .is_some_and(|n| t.accepted.len() >= n)
        });
        let too_many = Action::reply(452, "4.5.3 Error: too many recipients");
        let rule = match over_limit {
            true => Some(&too_many),
            false => {
                let rule = self.rule(Verb::Rcpt);
                first_match(&script.rcpt_rules, arg).or(rule)
            }
        };
        let answer = self.answer(rule, normal)?;
        if let (Some(transaction), Some(to)) = (&mut self.transaction, to) {
            transaction.rcpt_to.push(to.to_owned());
            if answer.is_2xx() {
                transaction.accepted.push(path_address(to).to_owned());
            }
        }
        Ok(answer.flow())
    }

    fn data(&mut self) -> io::Result<Flow> {
        let normal = match &self.transaction {
            None => Reply::new(503, "5.5.1 need MAIL first"),
            Some(t) if t.accepted.is_empty() => Reply::new(554, "5.5.1 no valid recipients"),
            Some(_) => Reply::new(354, "End data with <CR><LF>.<CR><LF>"),
        };
        let rule = self.rule(Verb::Data);
        if let Some(Action::HangUpDuringData) = rule {
            if normal.code == 354 {
                self.wire.queue(&normal.wire());
                let transaction = self.transaction.get_or_insert_default();
                self.wire.read_some(&mut transaction.data_wire)?;
            }
            self.wire.close();
            return Ok(Flow::Close);
        }
        let answer = self.answer(rule, normal)?;
        if !matches!(answer, Answer::Code(354)) {
            return Ok(answer.flow());
        }
        if let Some(action) = self.script.rule(Verb::MidData) {
            return self.mid_data(action);
        }
        let transaction = self.transaction.get_or_insert_default();
        if !self.wire.read_data(&mut transaction.data_wire)? {
            return Ok(Flow::Close);
        }
        self.end_of_data()
    }

    /// A fault in the middle of the data (see [`Verb::MidData`]).
    fn mid_data(&mut self, action: &Action) -> io::Result<Flow> {
        let transaction = self.transaction.get_or_insert_default();
        self.wire.read_some(&mut transaction.data_wire)?;
        let close_after = match action {
            Action::HangUp | Action::HangUpDuringData => {
                self.wire.close();
                return Ok(Flow::Close);
            }
            Action::Silent => {
                self.wire.stall();
                self.wire.close();
                return Ok(Flow::Close);
            }
            Action::Delay(pause) => {
                // Stop reading for a while, then take the rest of the data as usual.
                std::thread::sleep(*pause);
                let transaction = self.transaction.get_or_insert_default();
                if !self.wire.read_data(&mut transaction.data_wire)? {
                    return Ok(Flow::Close);
                }
                return self.end_of_data();
            }
            Action::Reply(reply) => {
                self.wire.queue(&reply.wire());
                false
            }
            Action::ReplyThenHangUp(reply) => {
                self.wire.queue(&reply.wire());
                true
            }
            Action::Raw(bytes) => {
                self.wire.queue(bytes);
                false
            }
            other => panic!("{other:?} is not supported in the middle of the data"),
        };
        self.wire.flush(false)?;
        let transaction = self.transaction.get_or_insert_default();
        let whole = self.wire.read_data(&mut transaction.data_wire)?;
        self.finish_transaction(false);
        if close_after || !whole {
            self.wire.close();
            return Ok(Flow::Close);
        }
        Ok(Flow::Continue)
    }

    fn bdat(&mut self, arg: &str) -> io::Result<Flow> {
        let mut words = arg.split_whitespace();
        let size = words.next().and_then(|w| w.parse::<usize>().ok());
        let last = words.next().is_some_and(|w| w.eq_ignore_ascii_case("LAST"));
        let Some(size) = size else {
            return Ok(self
                .answer(None, Reply::new(501, "5.5.4 Syntax: BDAT size [LAST]"))?
                .flow());
        };
        let rule = self.rule(Verb::Bdat);
        if let Some(Action::HangUpDuringData) = rule {
            self.wire.close();
            return Ok(Flow::Close);
        }
        let mut chunk = Vec::new();
        let whole = self.wire.read_chunk(size, &mut chunk)?;
        let Some(transaction) = self.transaction.as_mut().filter(|t| !t.accepted.is_empty()) else {
            let refusal = match self.transaction {
                None => Reply::new(503, "5.5.1 need MAIL first"),
                Some(_) => Reply::new(554, "5.5.1 no valid recipients"),
            };
            return Ok(if whole {
                self.answer(rule, refusal)?.flow()
            } else {
                Flow::Close
            });
        };
        transaction.data_wire.extend_from_slice(&chunk);
        transaction.bdat_chunks.push(size);
        if !whole {
            return Ok(Flow::Close);
        }
        if last && rule.is_none() {
            return self.end_of_data();
        }
        let normal = if last {
            Reply::new(250, "2.0.0 Ok: queued as ABC")
        } else {
            Reply::new(250, &format!("2.0.0 {size} octets received"))
        };
        let answer = self.answer(rule, normal)?;
        if last {
            self.finish_transaction(answer.is_2xx());
        }
        Ok(answer.flow())
    }

    /// The reply (SMTP) or replies (LMTP, one per accepted recipient) after the data.
    fn end_of_data(&mut self) -> io::Result<Flow> {
        let script = self.script;
        let end_rule = self.rule(Verb::EndOfData);
        let mut delivered = false;
        if script.lmtp {
            let accepted = self
                .transaction
                .as_ref()
                .map(|t| t.accepted.clone())
                .unwrap_or_default();
            for rcpt in accepted {
                let rule = first_match(&script.lmtp_rules, &rcpt).or(end_rule);
                let normal = Reply::new(250, &format!("2.0.0 <{rcpt}> Ok: delivered"));
                let answer = self.answer(rule, normal)?;
                if let Answer::Closed = answer {
                    return Ok(Flow::Close);
                }
                delivered |= answer.is_2xx();
            }
        } else {
            let answer = self.answer(end_rule, Reply::new(250, "2.0.0 Ok: queued as ABC"))?;
            if let Answer::Closed = answer {
                return Ok(Flow::Close);
            }
            delivered = answer.is_2xx();
        }
        self.finish_transaction(delivered);
        Ok(Flow::Continue)
    }

    fn auth(&mut self, arg: &str) -> io::Result<Flow> {
        let script = self.script;
        let mut words = arg.split_whitespace();
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial_response = words.next();
        let offered = self
            .offered()
            .iter()
            .find(|c| after_prefix(c, "AUTH ").is_some());
        let refusal = match offered {
            _ if mechanism.is_empty() => Some(Reply::new(501, "5.5.4 Syntax: AUTH mechanism")),
            None => Some(Reply::new(503, "5.5.1 authentication not enabled")),
            _ if self.authenticated => Some(Reply::new(503, "5.5.1 already authenticated")),
            Some(line)
                if !line
                    .split_whitespace()
                    .skip(1)
                    .any(|m| m.eq_ignore_ascii_case(&mechanism)) =>
            {
                Some(Reply::new(504, "5.5.4 unrecognised authentication type"))
            }
            Some(_) => None,
        };
        if let Some(refusal) = refusal {
            return Ok(self.answer(None, refusal)?.flow());
        }
        let base64 = base64::engine::general_purpose::STANDARD;
        let Some((user, mut password)) = script.credentials.clone() else {
            return self.auth_without_check(&mechanism, initial_response);
        };
        if let Some(cell) = &script.token_cell {
            password = cell.lock().unwrap().clone();
        }
        let initial = match initial_response {
            None => None,
            Some("=") => Some(Vec::new()),
            Some(data) => match base64.decode(data) {
                Ok(bytes) => Some(bytes),
                Err(_) => {
                    let bad = Reply::new(501, "5.5.2 cannot decode the initial response");
                    return Ok(self.answer(None, bad)?.flow());
                }
            },
        };
        let mut closed = false;
        let mut talk = |challenge: &[u8]| -> io::Result<Option<Vec<u8>>> {
            self.wire
                .queue(&Reply::new(334, &base64.encode(challenge)).wire());
            let Some((line, _)) = self.wire.read_line()? else {
                closed = true;
                return Ok(None);
            };
            self.record.lines.push(line.clone());
            if line == b"*" {
                return Ok(None);
            }
            Ok(Some(
                base64
                    .decode(&line)
                    .unwrap_or_else(|_| b"\xff-undecodable".to_vec()),
            ))
        };
        let verdict = super::sasl::verify(
            &mechanism,
            initial,
            &user,
            &password,
            script.forge_scram_signature,
            &mut talk,
        )?;
        if closed {
            return Ok(Flow::Close);
        }
        let normal = match verdict {
            super::sasl::Verdict::Accepted(who) => {
                self.record.authenticated_as = Some((mechanism.clone(), who));
                Reply::new(235, "2.7.0 Authentication successful")
            }
            super::sasl::Verdict::Refused => {
                Reply::new(535, "5.7.8 Authentication credentials invalid")
            }
            super::sasl::Verdict::Abandoned => Reply::new(501, "5.7.0 authentication cancelled"),
        };
        let rule = self.rule(Verb::Auth);
        let answer = self.answer(rule, normal)?;
        self.authenticated = answer.is_2xx();
        if !self.authenticated {
            self.record.authenticated_as = None;
        }
        Ok(answer.flow())
    }

    /// AUTH with no credentials configured: any well-formed exchange is accepted.
    fn auth_without_check(
        &mut self,
        mechanism: &str,
        initial_response: Option<&str>,
    ) -> io::Result<Flow> {
        let base64 = base64::engine::general_purpose::STANDARD;
        let challenges = match (mechanism, initial_response) {
            ("LOGIN", None) => vec!["VXNlcm5hbWU6".to_owned(), "UGFzc3dvcmQ6".to_owned()],
            ("LOGIN", Some(_)) => vec!["UGFzc3dvcmQ6".to_owned()],
            ("CRAM-MD5", _) => vec![base64.encode(CRAM_MD5_CHALLENGE)],
            (_, None) => vec![String::new()],
            (_, Some(_)) => vec![],
        };
        for challenge in challenges {
            self.wire.queue(&Reply::new(334, &challenge).wire());
            let Some(response) = self.read_line()? else {
                return Ok(Flow::Close);
            };
            if response == b"*" {
                let cancelled = Reply::new(501, "5.7.0 authentication cancelled");
                return Ok(self.answer(None, cancelled)?.flow());
            }
        }
        let success = Reply::new(235, "2.7.0 Authentication successful");
        let rule = self.rule(Verb::Auth);
        let answer = self.answer(rule, success)?;
        self.authenticated = answer.is_2xx();
        Ok(answer.flow())
    }

    fn starttls(&mut self) -> io::Result<Flow> {
        let script = self.script;
        let normal = if self.record.tls {
            Reply::new(503, "5.5.1 TLS already active")
        } else if script.starttls.is_some() {
            Reply::new(220, "2.0.0 Ready to start TLS")
        } else {
            Reply::new(454, "4.7.0 TLS not available")
        };
        let answer = self.answer(script.rule(Verb::Starttls), normal)?;
        if let (Answer::Code(220), Some(acceptor), false) =
            (&answer, &script.starttls, self.record.tls)
        {
            self.wire.flush(true)?;
            if let Some(action) = script.rule(Verb::TlsHandshake) {
                self.instead_of_handshake(action);
                return Ok(Flow::Close);
            }
            self.wire.upgrade(acceptor)?;
            self.record.tls = true;
            self.greeted = false;
            self.authenticated = false;
            self.end_transaction();
        }
        Ok(answer.flow())
    }

    /// A fault where the TLS handshake should be (see [`Verb::TlsHandshake`]); the
    /// connection is closed afterwards.
    fn instead_of_handshake(&mut self, action: &Action) {
        match action {
            Action::HangUp => {}
            Action::Silent => self.wire.wait_for_close(),
            Action::Raw(bytes) => {
                // Answer the ClientHello, so the bytes cannot arrive with the 220.
                let _ = self.wire.read_some(&mut Vec::new());
                self.wire.queue(bytes);
                let _ = self.wire.flush(true);
                self.wire.wait_for_close();
            }
            other => panic!("{other:?} is not supported instead of the TLS handshake"),
        }
        self.wire.close();
    }

    fn finish_transaction(&mut self, completed: bool) {
        if let Some(transaction) = &mut self.transaction {
            transaction.completed = completed;
        }
        self.end_transaction();
    }

    fn end_transaction(&mut self) {
        if let Some(mut transaction) = self.transaction.take() {
            transaction.message = if transaction.bdat_chunks.is_empty() {
                unstuff(&transaction.data_wire)
            } else {
                transaction.data_wire.clone()
            };
            self.record.transactions.push(transaction);
        }
    }
}
