//! The fault matrix: a server that fails at each stage of a session in each way a server can
//! fail, and what smtpsend then does — its exit code (DESIGN §6), its one-line message, how
//! long it took, how much memory it used, and whether the message got through.
//!
//! docs/faults.md is generated from the same case list; `the_doc_matches_the_matrix` fails
//! when it is out of date. Regenerate it with
//! `SMTPSEND_REGENERATE_DOCS=1 cargo test --test integration faults::the_doc_matches_the_matrix`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// `--timeout` for every case: the deadline of each wait.
const TIMEOUT_SECS: u64 = 1;
/// Slack on top of the deadline before a run counts as hung. Generous: the machine may be
/// busy; this bounds the run, it does not measure speed.
const SLACK_SECS: u64 = 10;
/// Peak memory allowed to one run. The server sends 64 MiB lines and endless replies; a
/// client that kept what it read would pass this long before the server stopped.
const PEAK_RSS_LIMIT_KIB: u64 = 48 * 1024;
/// Bytes in the reply line of the "long line" fault.
const LONG_LINE: usize = 64 * 1024 * 1024;
/// The pause between two lines of the "slow endless reply" fault: each line comes well
/// within the deadline, the reply never ends.
const SLOW_LINE_PACE: Duration = Duration::from_millis(200);
/// Size of the attachment sent in the mid-data cases: larger than one read of the server,
/// so its fault comes while the client is still writing.
const ATTACHMENT: usize = 1024 * 1024;
/// Size of the attachment when the server stops reading or hangs up mid-data: larger than
/// the socket buffers of both ends together, so the client is still writing when the server
/// stops (with the small one, a loaded machine could let every write land in the buffers
/// before the hang-up, and the client then meets it only while reading the reply).
const BIG_ATTACHMENT: usize = 12 * 1024 * 1024;

/// Where in the session the server fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    ImplicitTls,
    Greeting,
    Ehlo,
    Starttls,
    StarttlsHandshake,
    Auth,
    Mail,
    Rcpt,
    Data,
    MidData,
    EndOfData,
    BdatLast,
    Quit,
}

impl Stage {
    const ALL: [Stage; 13] = [
        Stage::ImplicitTls,
        Stage::Greeting,
        Stage::Ehlo,
        Stage::Starttls,
        Stage::StarttlsHandshake,
        Stage::Auth,
        Stage::Mail,
        Stage::Rcpt,
        Stage::Data,
        Stage::MidData,
        Stage::EndOfData,
        Stage::BdatLast,
        Stage::Quit,
    ];

    fn title(self) -> &'static str {
        match self {
            Stage::ImplicitTls => "TLS handshake of implicit TLS (smtps://)",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO (and the HELO fallback)",
            Stage::Starttls => "STARTTLS (`--tls starttls`)",
            Stage::StarttlsHandshake => "TLS handshake after the 220 to STARTTLS",
            Stage::Auth => "AUTH PLAIN (`--user`)",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::MidData => "in the middle of the data",
            Stage::EndOfData => "after the final dot, before the reply",
            Stage::BdatLast => "after `BDAT … LAST` and its data (CHUNKING), before the reply",
            Stage::Quit => "QUIT, after the message was accepted",
        }
    }

    /// The verbs the fault is attached to.
    fn verbs(self) -> &'static [Verb] {
        match self {
            Stage::ImplicitTls | Stage::StarttlsHandshake => &[Verb::TlsHandshake],
            Stage::Greeting => &[Verb::Greeting],
            Stage::Ehlo => &[Verb::Ehlo, Verb::Helo],
            Stage::Starttls => &[Verb::Starttls],
            Stage::Auth => &[Verb::Auth],
            Stage::Mail => &[Verb::Mail],
            Stage::Rcpt => &[Verb::Rcpt],
            Stage::Data => &[Verb::Data],
            Stage::MidData => &[Verb::MidData],
            Stage::EndOfData => &[Verb::EndOfData],
            Stage::BdatLast => &[Verb::Bdat],
            Stage::Quit => &[Verb::Quit],
        }
    }

    /// The temporary and the permanent refusal a server gives at this stage.
    fn refusals(self) -> ((u16, &'static str), (u16, &'static str)) {
        match self {
            Stage::Greeting => (
                (450, "4.3.2 try again later"),
                (554, "5.3.2 no service here"),
            ),
            Stage::Ehlo => ((451, "4.3.0 not now"), (550, "5.7.1 not welcome")),
            Stage::Starttls => (
                (454, "4.7.0 TLS not available now"),
                (554, "5.7.3 no TLS here"),
            ),
            Stage::Auth => (
                (454, "4.7.0 temporary authentication failure"),
                (535, "5.7.8 authentication credentials invalid"),
            ),
            // No reply is involved in a TLS handshake.
            Stage::ImplicitTls | Stage::StarttlsHandshake => ((0, ""), (0, "")),
            Stage::Mail => ((451, "4.3.0 local error"), (550, "5.7.1 sender refused")),
            Stage::Rcpt => ((450, "4.2.1 mailbox busy"), (550, "5.1.1 no such user")),
            Stage::Data => ((451, "4.3.0 not now"), (554, "5.5.1 no data today")),
            Stage::MidData => ((451, "4.3.0 disk full"), (552, "5.3.4 message too big")),
            Stage::EndOfData | Stage::BdatLast => {
                ((451, "4.3.0 scanner busy"), (554, "5.6.0 content refused"))
            }
            Stage::Quit => ((451, "4.3.0 odd"), (554, "5.5.1 odd")),
        }
    }

    /// What smtpsend was waiting for when the server failed, as its messages name it.
    fn waiting_for(self) -> &'static str {
        match self {
            Stage::ImplicitTls | Stage::StarttlsHandshake => "the TLS handshake",
            Stage::Greeting => "the greeting",
            Stage::Ehlo => "the reply to EHLO",
            Stage::Starttls => "the reply to STARTTLS",
            Stage::Auth => "the reply to AUTH PLAIN",
            Stage::Mail => "the reply to MAIL FROM",
            Stage::Rcpt => "the reply to RCPT TO",
            Stage::Data => "the reply to DATA",
            Stage::MidData | Stage::EndOfData => "the reply after the message data",
            Stage::BdatLast => "the reply to BDAT",
            Stage::Quit => "the reply to QUIT",
        }
    }
}

/// How the server fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    HangUp,
    Closing421,
    Temporary,
    Permanent,
    Silent,
    Garbage,
    LongLine,
    EndlessReply,
    SlowEndlessReply,
}

impl Fault {
    const ALL: [Fault; 9] = [
        Fault::HangUp,
        Fault::Closing421,
        Fault::Temporary,
        Fault::Permanent,
        Fault::Silent,
        Fault::Garbage,
        Fault::LongLine,
        Fault::EndlessReply,
        Fault::SlowEndlessReply,
    ];

    fn title(self) -> &'static str {
        match self {
            Fault::HangUp => "hang-up",
            Fault::Closing421 => "421, close",
            Fault::Temporary => "other 4xx",
            Fault::Permanent => "5xx",
            Fault::Silent => "no reply",
            Fault::Garbage => "garbage",
            Fault::LongLine => "64 MiB line",
            Fault::EndlessReply => "endless reply",
            Fault::SlowEndlessReply => "slow endless reply",
        }
    }

    fn action(self, stage: Stage) -> Option<Action> {
        let ((temp_code, temp_text), (perm_code, perm_text)) = stage.refusals();
        let mid_data = stage == Stage::MidData;
        if matches!(stage, Stage::ImplicitTls | Stage::StarttlsHandshake) {
            // Instead of the handshake the server can only close, say nothing, or send bytes
            // that are not TLS.
            return match self {
                Fault::HangUp => Some(Action::HangUp),
                Fault::Silent => Some(Action::Silent),
                Fault::Garbage => Some(Action::Raw(b"HTTP/1.1 400 Bad Request\r\n".to_vec())),
                _ => None,
            };
        }
        Some(match self {
            Fault::HangUp => Action::HangUp,
            Fault::Closing421 => Action::reply_then_hang_up(421, "4.3.2 shutting down"),
            Fault::Temporary => Action::reply(temp_code, temp_text),
            Fault::Permanent => Action::reply(perm_code, perm_text),
            Fault::Silent => Action::Silent,
            Fault::Garbage => Action::Raw(b"HTTP/1.1 400 Bad Request\r\n".to_vec()),
            // While smtpsend writes the data it reads nothing: what a server sends then is
            // read as the reply after the final dot, which the rows below cover.
            Fault::LongLine | Fault::EndlessReply | Fault::SlowEndlessReply if mid_data => {
                return None;
            }
            Fault::LongLine => Action::long_line(250, LONG_LINE),
            Fault::EndlessReply => Action::endless_reply(250),
            Fault::SlowEndlessReply => Action::slow_endless_reply(250, SLOW_LINE_PACE),
        })
    }

    /// What the server does, for the doc.
    fn description(self, stage: Stage) -> String {
        let ((temp_code, temp_text), (perm_code, perm_text)) = stage.refusals();
        match (self, stage) {
            (Fault::Closing421, _) => "`421 4.3.2 shutting down`, then closes".into(),
            (Fault::Temporary, _) => format!("`{temp_code} {temp_text}`"),
            (Fault::Permanent, _) => format!("`{perm_code} {perm_text}`"),
            (Fault::HangUp, Stage::ImplicitTls | Stage::StarttlsHandshake) => {
                "closes the connection instead of the handshake".into()
            }
            (Fault::Silent, Stage::ImplicitTls | Stage::StarttlsHandshake) => {
                "never answers the ClientHello".into()
            }
            (Fault::Garbage, Stage::ImplicitTls | Stage::StarttlsHandshake) => {
                "answers the ClientHello with `HTTP/1.1 400 Bad Request`".into()
            }
            (Fault::HangUp, _) => "closes the connection".into(),
            (Fault::Silent, Stage::MidData) => "stops reading the data".into(),
            (Fault::Silent, _) => "says nothing, keeps the connection open".into(),
            (Fault::Garbage, _) => "`HTTP/1.1 400 Bad Request`".into(),
            (Fault::LongLine, _) => "`250 xxx…` 64 MiB long".into(),
            (Fault::EndlessReply, _) => "`250-more` lines without end".into(),
            (Fault::SlowEndlessReply, _) => format!(
                "`250-more` lines without end, one every {} ms",
                SLOW_LINE_PACE.as_millis()
            ),
        }
    }
}

/// What must happen.
struct Expected {
    /// Exit code (DESIGN §6).
    code: i32,
    /// A part of the one-line message on stderr; empty when there is none (exit 0).
    says: String,
    /// The server accepted the message (exactly once).
    delivered: bool,
}

impl Expected {
    /// With `--queue on-failure` the message is queued: the failure is temporary (75, or
    /// 76: a server that broke the protocol may behave on the next try).
    fn queued(&self) -> bool {
        self.code == 75 || self.code == 76
    }

    /// The outbox column of the doc.
    fn with_outbox(&self) -> String {
        match (self.queued(), self.delivered) {
            (true, _) => "exit 0, queued; `-q` delivers it once".into(),
            (false, true) => "exit 0, sent, not queued".into(),
            (false, false) => format!("exit {}, not queued", self.code),
        }
    }
}

fn expected(stage: Stage, fault: Fault) -> Expected {
    let ((temp_code, temp_text), (perm_code, perm_text)) = stage.refusals();
    let waiting = stage.waiting_for();
    let timeout = TIMEOUT_SECS;
    let failed = |code: i32, says: String| Expected {
        code,
        says,
        delivered: false,
    };
    if stage == Stage::Quit {
        return Expected {
            code: 0,
            says: String::new(),
            delivered: true,
        };
    }
    if matches!(stage, Stage::ImplicitTls | Stage::StarttlsHandshake) {
        return match fault {
            Fault::HangUp => failed(75, "the TLS handshake with 127.0.0.1 was cut off".into()),
            Fault::Silent => failed(
                75,
                format!("timed out after {timeout}s in the TLS handshake with 127.0.0.1"),
            ),
            _ => failed(69, "the TLS handshake with 127.0.0.1 failed".into()),
        };
    }
    let refused = match stage {
        Stage::Starttls => "127.0.0.1 refused STARTTLS",
        Stage::Auth => "authentication as alice (PLAIN) refused",
        Stage::Greeting => "server refused the connection",
        Stage::Ehlo => "server refused HELO",
        Stage::Mail => "server refused MAIL FROM",
        Stage::Data => "server refused DATA",
        Stage::BdatLast => "server refused the message data (BDAT)",
        _ => "server refused the message data",
    };
    match fault {
        Fault::HangUp if stage == Stage::MidData => {
            failed(75, "connection lost while sending the message data".into())
        }
        Fault::HangUp => failed(
            75,
            format!("the server closed the connection while smtpsend was waiting for {waiting}"),
        ),
        Fault::Closing421 => failed(
            75,
            format!(
                "the server closed the connection with 421 4.3.2 shutting down (waiting for {waiting})"
            ),
        ),
        Fault::Temporary if stage == Stage::Rcpt => failed(
            75,
            format!(
                "nothing sent: the server refused 1 of 1 recipients: <b@example.com> ({temp_code} {temp_text})"
            ),
        ),
        Fault::Temporary => failed(75, format!("{refused}: {temp_code} {temp_text}")),
        Fault::Permanent if stage == Stage::Auth => {
            failed(77, format!("{refused}: {perm_code} {perm_text}"))
        }
        Fault::Permanent if stage == Stage::Rcpt => failed(
            67,
            format!(
                "nothing sent: the server refused 1 of 1 recipients: <b@example.com> ({perm_code} {perm_text})"
            ),
        ),
        Fault::Permanent => failed(69, format!("{refused}: {perm_code} {perm_text}")),
        Fault::Silent if stage == Stage::MidData => failed(
            75,
            format!("timed out after {timeout}s writing the message data to the server"),
        ),
        Fault::Silent => failed(
            75,
            format!("timed out after {timeout}s waiting for {waiting}"),
        ),
        Fault::Garbage => failed(
            76,
            format!("malformed reply from the server (waiting for {waiting})"),
        ),
        Fault::LongLine => failed(
            76,
            format!("the server sent a reply line longer than 8192 bytes (waiting for {waiting})"),
        ),
        Fault::EndlessReply => failed(
            76,
            format!("the server's reply has more than 512 lines (waiting for {waiting})"),
        ),
        // The deadline is on the whole reply, not on each read: a server that keeps
        // talking without finishing its reply is stopped by it all the same.
        Fault::SlowEndlessReply => failed(
            75,
            format!("timed out after {timeout}s waiting for {waiting}"),
        ),
    }
}

/// What the cases of one stage share: a big attachment (mid-data), certificates (TLS).
struct Fixture {
    stage: Stage,
    _dir: tempfile::TempDir,
    /// The attachment (mid-data), and a larger one for the server that stops reading.
    attachments: Option<(std::path::PathBuf, std::path::PathBuf)>,
    certs: Option<TestCerts>,
}

const USER: &str = "alice";
const PASSWORD: &str = "correct horse";

impl Fixture {
    fn new(stage: Stage) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, size: usize| {
            let path = dir.path().join(name);
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            std::fs::write(&path, data).expect("write the attachment");
            path
        };
        let attachments = (stage == Stage::MidData).then(|| {
            (
                write("one.bin", ATTACHMENT),
                write("big.bin", BIG_ATTACHMENT),
            )
        });
        let tls = matches!(
            stage,
            Stage::ImplicitTls | Stage::Starttls | Stage::StarttlsHandshake
        );
        Fixture {
            stage,
            _dir: dir,
            attachments,
            certs: tls.then(TestCerts::localhost),
        }
    }

    /// The server: `action` at the stage's verbs, on the first `faulty` connections (all of
    /// them when `None`).
    fn server(&self, action: &Action, faulty: Option<usize>) -> Server {
        let mut builder = Server::builder().timeout(Duration::from_secs(SLACK_SECS));
        if self.attachments.is_some() {
            builder = builder.capabilities(&["PIPELINING", "8BITMIME", "SIZE 104857600"]);
        }
        if self.stage == Stage::BdatLast {
            builder = builder.capability("CHUNKING");
        }
        match (self.stage, &self.certs) {
            (Stage::ImplicitTls, Some(certs)) => {
                builder = builder.implicit_tls(certs.identity.clone());
            }
            (_, Some(certs)) => builder = builder.starttls(certs.identity.clone()),
            (Stage::Auth, None) => builder = builder.auth("PLAIN", USER, PASSWORD),
            _ => {}
        }
        for verb in self.stage.verbs() {
            builder = match faulty {
                Some(n) => builder.on_first(n, *verb, action.clone()),
                None => builder.on(*verb, action.clone()),
            };
        }
        builder.start()
    }

    /// smtpsend against `server` with the case's options.
    fn run(&self, fault: Fault, server: &Server) -> Run {
        let mut run = Run::new([
            "--to",
            "b@example.com",
            "--subject",
            "fault matrix",
            "--body",
            "hello",
        ])
        .arg("--timeout")
        .arg(TIMEOUT_SECS.to_string())
        .sender("a@example.com")
        .env("SMTPSEND_PASSWORD", PASSWORD);
        run = match self.stage {
            Stage::ImplicitTls => run.server(&format!("smtps://{}", server.addr())),
            _ => run.server(server),
        };
        if let Some((one, big)) = &self.attachments {
            let path = match fault {
                Fault::Silent | Fault::HangUp => big,
                _ => one,
            };
            run = run.arg("--attach").arg(path);
        }
        if let Some(certs) = &self.certs {
            run = run.args(["--tls-ca-file", certs.ca_file()]);
            if self.stage != Stage::ImplicitTls {
                run = run.args(["--tls", "starttls"]);
            }
        }
        if self.stage == Stage::Auth {
            run = run.args(["--user", USER]);
        }
        run
    }
}

/// Checks stderr: one line starting `smtpsend: ` holding `says`, or nothing at all.
fn assert_says(case: &str, stderr: &str, prefix: &str, says: &str) {
    if says.is_empty() {
        assert_eq!(stderr, "", "{case}");
        return;
    }
    assert!(
        stderr.starts_with(&format!("smtpsend: {prefix}")) && stderr.lines().count() == 1,
        "{case}: expected one line starting {prefix:?}: {stderr:?}"
    );
    assert!(
        stderr.contains(says),
        "{case}: expected {says:?} in {stderr:?}"
    );
}

/// Runs one case and checks everything a user would notice.
fn run_case(fixture: &Fixture, fault: Fault) {
    let stage = fixture.stage;
    let Some(action) = fault.action(stage) else {
        return;
    };
    let expected = expected(stage, fault);
    let case = format!("{} / {}", stage.title(), fault.title());
    let server = fixture.server(&action, None);
    let out = fixture.run(fault, &server).output();
    let record = server.finish();

    assert_eq!(out.code, expected.code, "{case}: {}", out.stderr);
    assert_says(&case, &out.stderr, "", &expected.says);
    let bound = Duration::from_secs(TIMEOUT_SECS + SLACK_SECS);
    assert!(
        out.elapsed < bound,
        "{case}: ran {:?}, past its deadline",
        out.elapsed
    );
    assert!(
        out.peak_rss_kib() < PEAK_RSS_LIMIT_KIB,
        "{case}: used {} KiB",
        out.peak_rss_kib()
    );
    let delivered = record.completed().len();
    assert_eq!(
        delivered,
        usize::from(expected.delivered),
        "{case}: delivered {delivered} times"
    );
    assert_eq!(record.connection_count(), 1, "{case}: connections");

    for mode in ["on-failure", "always"] {
        run_case_with_outbox(fixture, fault, &action, &case, &expected, mode);
    }
}

/// The same case with `--queue MODE` (`on-failure` writes the outbox after the failure,
/// `always` before connecting): a temporary failure (75 or 76) is queued and the run exits 0,
/// leaving exactly the entry's two files; anything else leaves nothing in the outbox. Then
/// the server comes back up and a flush (`-q`) delivers what was queued, once, and empties
/// the outbox; a second flush finds nothing.
fn run_case_with_outbox(
    fixture: &Fixture,
    fault: Fault,
    action: &Action,
    case: &str,
    expected: &Expected,
    mode: &str,
) {
    let case = &format!("{case}, --queue {mode}");
    let home = Home::new();
    let server = fixture.server(action, Some(1));
    let out = fixture
        .run(fault, &server)
        .args(["--queue", mode])
        .home(&home)
        .output();
    let queued = expected.queued();
    if queued {
        assert_eq!(out.code, 0, "{case}, queued: {}", out.stderr);
        assert_says(case, &out.stderr, "queued as ", &expected.says);
        let id = queued_id(&out.stderr);
        assert_eq!(
            home.files(),
            [format!("{id}.eml"), format!("{id}.json")],
            "{case}: the entry, whole"
        );
    } else {
        assert_eq!(
            out.code, expected.code,
            "{case}, not queued: {}",
            out.stderr
        );
        assert_says(case, &out.stderr, "", &expected.says);
        assert_eq!(home.files(), Vec::<String>::new(), "{case}: nothing kept");
    }
    let flush = home.run(["-q"]).env("SMTPSEND_PASSWORD", PASSWORD).output();
    assert_eq!(flush.code, 0, "{case}, flush: {}", flush.stderr);
    assert_eq!(
        home.files(),
        Vec::<String>::new(),
        "{case}: the flush emptied the outbox"
    );
    let again = home.run(["-q"]).env("SMTPSEND_PASSWORD", PASSWORD).output();
    assert_eq!(again.code, 0, "{case}, second flush: {}", again.stderr);
    let record = server.finish();
    assert_eq!(
        record.connection_count(),
        1 + usize::from(queued),
        "{case}: the flush connects exactly when something was queued"
    );
    assert_eq!(
        record.completed().len(),
        usize::from(queued || expected.delivered),
        "{case}: delivered once in all"
    );
}

/// Runs every fault of one stage, side by side: most of the time is spent waiting for
/// deadlines, not computing.
fn run_stage(stage: Stage) {
    let fixture = Fixture::new(stage);
    std::thread::scope(|scope| {
        for fault in Fault::ALL {
            let fixture = &fixture;
            scope.spawn(move || run_case(fixture, fault));
        }
    });
}

#[test]
fn faults_in_the_implicit_tls_handshake() {
    run_stage(Stage::ImplicitTls);
}

#[test]
fn faults_at_starttls() {
    run_stage(Stage::Starttls);
}

#[test]
fn faults_in_the_starttls_handshake() {
    run_stage(Stage::StarttlsHandshake);
}

#[test]
fn faults_at_auth() {
    run_stage(Stage::Auth);
}

#[test]
fn faults_at_the_greeting() {
    run_stage(Stage::Greeting);
}

#[test]
fn faults_at_ehlo() {
    run_stage(Stage::Ehlo);
}

#[test]
fn faults_at_mail_from() {
    run_stage(Stage::Mail);
}

#[test]
fn faults_at_rcpt_to() {
    run_stage(Stage::Rcpt);
}

#[test]
fn faults_at_data() {
    run_stage(Stage::Data);
}

#[test]
fn faults_in_the_middle_of_the_data() {
    run_stage(Stage::MidData);
}

#[test]
fn faults_after_the_final_dot() {
    run_stage(Stage::EndOfData);
}

#[test]
fn faults_after_bdat_last() {
    run_stage(Stage::BdatLast);
}

#[test]
fn faults_at_quit_after_acceptance() {
    run_stage(Stage::Quit);
}

/// docs/faults.md as generated from the case list.
fn render_doc() -> String {
    let mut doc = String::new();
    doc.push_str(
        "# What smtpsend does when the server fails\n\
         \n\
         <!-- Generated by tests/faults.rs from its case list; do not edit by hand. Regenerate:\n     \
         SMTPSEND_REGENERATE_DOCS=1 cargo test --test integration faults::the_doc_matches_the_matrix -->\n\
         \n\
         Every cell is a test: tests/faults.rs runs smtpsend against the scripted test server,\n\
         which fails at one stage of the session in one way, and checks the exit code, the\n\
         one-line message on stderr, that the run ended within its deadline (`--timeout 1`)\n\
         plus slack, that its peak memory (sampled while it ran) stayed under 48 MiB, and\n\
         whether the server got the message.\n\
         \n\
         Each case runs again with `--queue on-failure` and with `--queue always` against a\n\
         server that fails once and then comes back up: a temporary failure (75, or 76 for a\n\
         server that broke the protocol) is queued\n\
         and the run exits 0 with `queued as ID (the failure)`, leaving exactly `ID.eml` and\n\
         `ID.json` in the outbox; anything else is not queued (with `always`, the entry\n\
         written before connecting is removed), leaves nothing, and exits as before. Then\n\
         `smtpsend -q` delivers what was queued, exactly once, and empties the outbox, and a\n\
         second `-q` finds nothing to send.\n\
         \n\
         Exit codes (sysexits.h): 0 sent, 67 recipient refused, 69 server refused, 75 temporary\n\
         failure (safe to retry), 76 the server broke the protocol. See the README.\n\
         \n\
         Reading is bounded: a reply line may be at most 8192 bytes and a reply at most 512\n\
         lines, so a server that sends a 64 MiB line or a reply without end costs a few\n\
         kilobytes. The deadline is on a whole reply, not on each read, so a server that\n\
         sends a line now and then but never ends its reply is stopped by it too. A fault\n\
         after the server accepted the message (the QUIT row) does not fail the run: the\n\
         message was delivered, and retrying would send it twice.\n\
         \n\
         Deadlines: `--timeout` bounds every wait for a reply and every write. While the\n\
         data is written the deadline is on progress: a server that stops reading makes a\n\
         write wait at most that long, but one that still takes a few bytes now and then\n\
         keeps the transfer going (as RFC 5321 §4.5.3.2 times the server's side too).\n\
         \n\
         The window RFC 1047 describes remains: when the connection breaks after the final\n\
         dot (or the last BDAT chunk) and before the server's reply (those rows, hang-up and\n\
         no reply), the server may have accepted the message; smtpsend cannot know, says\n\
         so, and exits 75.\n\
         \n\
         The BDAT row is a server that offers CHUNKING (RFC 3030): smtpsend then sends the\n\
         message as one `BDAT size LAST` chunk instead of DATA and the final dot.\n\
         \n\
         ## Exit codes\n\
         \n",
    );
    doc.push_str("| stage |");
    for fault in Fault::ALL {
        let _ = write!(doc, " {} |", fault.title());
    }
    doc.push_str("\n| --- |");
    for _ in Fault::ALL {
        doc.push_str(" --- |");
    }
    doc.push('\n');
    for stage in Stage::ALL {
        let _ = write!(doc, "| {} |", stage.title());
        for fault in Fault::ALL {
            match fault.action(stage) {
                Some(_) => {
                    let _ = write!(doc, " {} |", expected(stage, fault).code);
                }
                None => doc.push_str(" — |"),
            }
        }
        doc.push('\n');
    }
    doc.push_str(
        "\n— : while smtpsend writes the data it reads nothing; what a server sends then is\n\
         read as the reply after the final dot (that row).\n\
         \n\
         ## Every case\n\
         \n\
         | stage | the server | exit | smtpsend says (part of the message) | delivered | with `--queue on-failure` or `always` |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for stage in Stage::ALL {
        for fault in Fault::ALL {
            if fault.action(stage).is_none() {
                continue;
            }
            let expected = expected(stage, fault);
            let says = if expected.says.is_empty() {
                "(nothing)".to_string()
            } else {
                format!("`{}`", expected.says)
            };
            let _ = writeln!(
                doc,
                "| {} | {} | {} | {} | {} | {} |",
                stage.title(),
                fault.description(stage),
                expected.code,
                says,
                if expected.delivered { "once" } else { "no" },
                expected.with_outbox()
            );
        }
    }
    doc
}

#[test]
fn the_doc_matches_the_matrix() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/faults.md");
    let doc = render_doc();
    if std::env::var_os("SMTPSEND_REGENERATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().expect("docs/")).expect("create docs/");
        std::fs::write(&path, &doc).expect("write docs/faults.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "docs/faults.md is out of date; regenerate it with \
         SMTPSEND_REGENERATE_DOCS=1 cargo test --test integration faults::the_doc_matches_the_matrix"
    );
}
