//! Self-test of tests/support: drives the scripted server with a plain TcpStream client.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{Action, Home, Reply, Run, Server, TestCerts, Verb, queued_id, refused_addr};

/// A bare-hands SMTP client: writes exactly what it is told, reads whole replies.
struct Client<S: Read + Write> {
    stream: S,
    input: Vec<u8>,
}

fn connect(server: &Server) -> Client<TcpStream> {
    let stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    Client {
        stream,
        input: Vec::new(),
    }
}

impl<S: Read + Write> Client<S> {
    fn send(&mut self, bytes: &str) {
        self.stream.write_all(bytes.as_bytes()).unwrap();
    }

    /// The next complete reply (all its lines), or None when the server closed first.
    fn reply(&mut self) -> Option<String> {
        loop {
            let mut start = 0;
            while let Some(lf) = self.input[start..].iter().position(|&b| b == b'\n') {
                let line = &self.input[start..start + lf + 1];
                start += lf + 1;
                if line.len() < 4 || line[3] != b'-' {
                    let reply: Vec<u8> = self.input.drain(..start).collect();
                    return Some(String::from_utf8(reply).unwrap());
                }
            }
            let mut chunk = [0; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn replies(&mut self, count: usize) -> Vec<String> {
        (0..count).map(|_| self.reply().expect("a reply")).collect()
    }

    /// True when the server closed the connection (after any replies still unread).
    fn closed(&mut self) -> bool {
        while self.reply().is_some() {}
        true
    }
}

#[test]
fn pipelined_session_takes_three_round_trips_and_is_recorded() {
    let server = Server::start();
    let mut client = connect(&server);
    assert_eq!(client.reply().unwrap(), "220 test.local ESMTP\r\n");
    client.send("EHLO client.example\r\n");
    assert_eq!(
        client.reply().unwrap(),
        "250-test.local\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n\
         250 ENHANCEDSTATUSCODES\r\n"
    );
    client.send(
        "MAIL FROM:<a@example.com> SIZE=40 BODY=8BITMIME\r\nRCPT TO:<b@example.com>\r\n\
         RCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com> NOTIFY=NEVER\r\nDATA\r\n",
    );
    assert_eq!(
        client.replies(5),
        [
            "250 2.1.0 Ok\r\n",
            "250 2.1.5 Ok\r\n",
            "250 2.1.5 Ok\r\n",
            "250 2.1.5 Ok\r\n",
            "354 End data with <CR><LF>.<CR><LF>\r\n"
        ]
    );
    client.send("Subject: hi\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n");
    assert_eq!(
        client.replies(2),
        ["250 2.0.0 Ok: queued as ABC\r\n", "221 2.0.0 Bye\r\n"]
    );
    assert!(client.closed());
    drop(client);

    let record = server.finish();
    assert_eq!(record.connection_count(), 1);
    assert_eq!(record.round_trips(), 3);
    assert_eq!(record.commands()[0], "EHLO client.example");
    assert_eq!(record.commands().last().unwrap(), "QUIT");
    let mail = record.only_completed();
    assert_eq!(mail.mail_from, "<a@example.com> SIZE=40 BODY=8BITMIME");
    assert_eq!(mail.sender(), "a@example.com");
    assert_eq!(mail.mail_params(), ["SIZE=40", "BODY=8BITMIME"]);
    assert_eq!(
        mail.recipients(),
        ["b@example.com", "c@example.com", "d@example.com"]
    );
    assert_eq!(mail.rcpt_to[2], "<d@example.com> NOTIFY=NEVER");
    assert_eq!(mail.data_wire, b"Subject: hi\r\n\r\n..leading dot\r\n.\r\n");
    assert_eq!(mail.message_text(), "Subject: hi\r\n\r\n.leading dot\r\n");
}

#[test]
fn one_command_per_write_counts_one_round_trip_each() {
    let server = Server::start();
    let mut client = connect(&server);
    client.reply().unwrap();
    for command in [
        "EHLO x\r\n",
        "MAIL FROM:<a@x>\r\n",
        "RCPT TO:<b@x>\r\n",
        "DATA\r\n",
        "body\r\n.\r\n",
        "QUIT\r\n",
    ] {
        client.send(command);
        client.reply().unwrap();
    }
    drop(client);
    let record = server.finish();
    assert_eq!(record.round_trips(), 6);
    assert_eq!(record.only_completed().message, b"body\r\n");
}

#[test]
fn several_connections_and_transactions_with_rset() {
    let server = Server::start();
    let mut probe = connect(&server);
    probe.reply().unwrap();
    probe.send("QUIT\r\n");
    probe.closed();

    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("HELO x\r\n");
    assert_eq!(client.reply().unwrap(), "250 test.local\r\n");
    client.send("MAIL FROM:<a@x>\r\nRSET\r\nMAIL FROM:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n");
    client.replies(5);
    client.send(".\r\nMAIL FROM:<d@x>\r\nRCPT TO:<e@x>\r\nDATA\r\n");
    client.replies(4);
    client.send("second\r\n.\r\nQUIT\r\n");
    client.replies(2);
    drop((probe, client));

    let record = server.finish();
    assert_eq!(record.connection_count(), 2);
    assert_eq!(record.connections[0].commands(), ["QUIT"]);
    let transactions = record.transactions();
    assert_eq!(transactions.len(), 3);
    assert!(!transactions[0].completed, "the RSET one");
    assert_eq!(
        transactions[1].message, b"",
        "a lone dot is an empty message"
    );
    assert_eq!(transactions[2].message_text(), "second\r\n");
    assert_eq!(record.completed().len(), 2);
}

#[test]
fn per_recipient_rule_and_state_checks() {
    let server = Server::builder()
        .on_rcpt("bad", Action::reply(550, "5.1.1 no such user"))
        .start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send(
        "MAIL FROM:<a@x>\r\nEHLO x\r\nDATA\r\nMAIL FROM:<a@x>\r\nRCPT TO:<bad@x>\r\nDATA\r\n",
    );
    let replies = client.replies(6);
    assert!(
        replies[0].starts_with("503 5.5.1"),
        "MAIL before EHLO: {replies:?}"
    );
    assert!(replies[2].starts_with("503 5.5.1"), "DATA without MAIL");
    assert_eq!(replies[4], "550 5.1.1 no such user\r\n");
    assert!(
        replies[5].starts_with("554 5.5.1"),
        "DATA with no accepted recipient"
    );
    client.send("RCPT TO:<good@x>\r\nDATA\r\n");
    assert_eq!(
        client.replies(2)[1],
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    client.send("x\r\n.\r\nFOO\r\nQUIT\r\n");
    assert_eq!(client.replies(3)[1], "500 5.5.2 unrecognised\r\n");
    drop(client);
    let record = server.finish();
    let mail = record.only_completed();
    assert_eq!(mail.recipients(), ["bad@x", "good@x"]);
    assert_eq!(mail.accepted, ["good@x"]);
}

#[test]
fn early_rules_apply_to_the_first_connections_only() {
    let server = Server::builder()
        .on_first(2, Verb::Greeting, Action::reply(421, "4.3.2 busy"))
        .start();
    for _ in 0..2 {
        let mut client = connect(&server);
        assert_eq!(client.reply().unwrap(), "421 4.3.2 busy\r\n");
        assert!(client.closed());
    }
    let mut client = connect(&server);
    assert_eq!(client.reply().unwrap(), "220 test.local ESMTP\r\n");
    client.send("QUIT\r\n");
    assert!(client.reply().unwrap().starts_with("221 "));
    drop(client);
    assert_eq!(server.finish().connection_count(), 3);
}

#[test]
fn greeting_421_closes_and_ehlo_502_allows_helo() {
    let busy = Server::builder().greeting(421, "4.3.2 busy").start();
    let mut client = connect(&busy);
    assert_eq!(client.reply().unwrap(), "421 4.3.2 busy\r\n");
    assert!(client.reply().is_none());
    drop(client);
    assert_eq!(busy.finish().round_trips(), 0);

    let old = Server::builder().no_ehlo().start();
    let mut client = connect(&old);
    client.reply().unwrap();
    client.send("EHLO x\r\n");
    assert!(client.reply().unwrap().starts_with("502 "));
    client.send("HELO x\r\n");
    assert_eq!(client.reply().unwrap(), "250 test.local\r\n");
    drop(client);
    assert_eq!(old.finish().commands(), ["EHLO x", "HELO x"]);
}

#[test]
fn lmtp_replies_once_per_accepted_recipient() {
    let server = Server::builder()
        .lmtp()
        .on_lmtp_recipient("full", Action::Reply(Reply::new(452, "4.2.2 mailbox full")))
        .start();
    let mut client = connect(&server);
    assert_eq!(client.reply().unwrap(), "220 test.local LMTP\r\n");
    client.send("EHLO x\r\n");
    assert!(client.reply().unwrap().starts_with("500 "));
    client.send("LHLO x\r\n");
    client.reply().unwrap();
    client.send("MAIL FROM:<a@x>\r\nRCPT TO:<one@x>\r\nRCPT TO:<full@x>\r\nDATA\r\n");
    client.replies(4);
    client.send("hi\r\n.\r\n");
    assert_eq!(
        client.replies(2),
        [
            "250 2.0.0 <one@x> Ok: delivered\r\n",
            "452 4.2.2 mailbox full\r\n"
        ]
    );
    drop(client);
    assert!(server.finish().only_completed().completed);
}

#[test]
fn multi_line_override_delay_and_raw_bytes() {
    let server = Server::builder()
        .on(Verb::Mail, Action::reply(451, "4.3.0 first\n4.3.0 second"))
        .on(Verb::Noop, Action::Delay(Duration::from_millis(50)))
        .on(
            Verb::Vrfy,
            Action::Raw(b"garbage without a code\r\n".to_vec()),
        )
        .start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("EHLO x\r\nMAIL FROM:<a@x>\r\nNOOP\r\nVRFY a\r\n");
    let replies = client.replies(4);
    assert_eq!(replies[1], "451-4.3.0 first\r\n451 4.3.0 second\r\n");
    assert_eq!(replies[2], "250 2.0.0 Ok\r\n");
    assert_eq!(replies[3], "garbage without a code\r\n");
    drop(client);
    let record = server.finish();
    assert!(
        record.transactions().is_empty(),
        "a refused MAIL starts no transaction"
    );
    assert_eq!(record.round_trips(), 1);
}

/// Hang-up at each step of an ordinary pipelined session: the replies already due still
/// arrive, then the close; and the server always finishes.
#[test]
fn fault_matrix_hang_up_at_every_step() {
    // (step, replies the client gets before the close with HangUp, with HangUpDuringData)
    let steps = [
        (Verb::Greeting, 0, 0),
        (Verb::Ehlo, 1, 1),
        (Verb::Mail, 2, 2),
        (Verb::Rcpt, 3, 3),
        (Verb::Data, 4, 5),
        (Verb::EndOfData, 5, 5),
        (Verb::Quit, 6, 6),
    ];
    // (what the client writes, how many replies it then waits for)
    let groups = [
        ("", 1),
        ("EHLO x\r\n", 1),
        ("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n", 3),
        ("hello\r\n.\r\nQUIT\r\n", 2),
    ];
    for (verb, before_hang_up, before_hang_up_during_data) in steps {
        for (action, expected) in [
            (Action::HangUp, before_hang_up),
            (Action::HangUpDuringData, before_hang_up_during_data),
        ] {
            let server = Server::builder().on(verb, action.clone()).start();
            let mut client = connect(&server);
            let mut replies = 0;
            'session: for (group, count) in groups {
                if client.stream.write_all(group.as_bytes()).is_err() {
                    break;
                }
                for _ in 0..count {
                    match client.reply() {
                        Some(_) => replies += 1,
                        None => break 'session,
                    }
                }
            }
            assert!(client.reply().is_none(), "{verb:?} {action:?}: closed");
            assert_eq!(replies, expected, "{verb:?} {action:?}");
            drop(client);
            let record = server.finish();
            assert_eq!(record.connection_count(), 1);
            let completed = !record.completed().is_empty();
            assert_eq!(completed, verb == Verb::Quit, "{verb:?} {action:?}");
            if verb == Verb::Data && matches!(action, Action::HangUpDuringData) {
                let partial = &record.transactions()[0];
                assert_eq!(partial.data_wire, b"hello\r\n.\r\nQUIT\r\n");
                assert!(!partial.completed);
            }
        }
    }
}

#[test]
fn runner_runs_the_binary() {
    let output = Run::new(["--version"]).output();
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stdout.contains("smtpsend"), "{}", output.stdout);
}

#[test]
fn silent_server_keeps_the_connection_open_until_the_client_leaves() {
    let server = Server::builder().on(Verb::Rcpt, Action::Silent).start();
    let mut client = connect(&server);
    client
        .stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    client.reply().unwrap();
    client.send("EHLO x\r\n");
    client.reply().unwrap();
    client.send("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\n");
    assert_eq!(client.reply().unwrap(), "250 2.1.0 Ok\r\n");
    let mut byte = [0];
    let err = client.stream.read(&mut byte).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    drop(client);
    assert_eq!(server.finish().transactions().len(), 1);
}

#[test]
fn bdat_chunks_are_recorded_when_chunking_is_offered() {
    let server = Server::builder().capability("CHUNKING").start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send(
        "EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nBDAT 5\r\n.a\r\nbBDAT 3 LAST\r\nc\r\n",
    );
    let replies = client.replies(5);
    assert_eq!(replies[3], "250 2.0.0 5 octets received\r\n");
    assert_eq!(replies[4], "250 2.0.0 Ok: queued as ABC\r\n");
    drop(client);
    let record = server.finish();
    let mail = record.only_completed();
    assert_eq!(mail.bdat_chunks, [5, 3]);
    assert_eq!(mail.message, b".a\r\nbc\r\n", "no dot-unstuffing in BDAT");
    assert_eq!(record.round_trips(), 1);
}

#[test]
fn auth_login_exchange_is_recorded() {
    let server = Server::builder().capability("AUTH PLAIN LOGIN").start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("EHLO x\r\nAUTH CRAM-MD5\r\nAUTH LOGIN\r\n");
    let replies = client.replies(3);
    assert!(replies[1].starts_with("504 "));
    assert_eq!(replies[2], "334 VXNlcm5hbWU6\r\n");
    client.send("dXNlcg==\r\n");
    assert_eq!(client.reply().unwrap(), "334 UGFzc3dvcmQ6\r\n");
    client.send("cGFzcw==\r\n");
    assert_eq!(
        client.reply().unwrap(),
        "235 2.7.0 Authentication successful\r\n"
    );
    drop(client);
    let commands = server.finish().commands();
    assert_eq!(commands[2..], ["AUTH LOGIN", "dXNlcg==", "cGFzcw=="]);
}

#[test]
fn starttls_upgrades_and_the_session_continues_encrypted() {
    let certs = TestCerts::localhost();
    let server = Server::builder().starttls(certs.identity.clone()).start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("EHLO x\r\n");
    assert!(client.reply().unwrap().contains("250 STARTTLS\r\n"));
    client.send("STARTTLS\r\n");
    assert_eq!(client.reply().unwrap(), "220 2.0.0 Ready to start TLS\r\n");
    let connector = native_tls::TlsConnector::builder()
        .add_root_certificate(certs.ca_certificate())
        .build()
        .unwrap();
    let tls = connector
        .connect("localhost", client.stream)
        .expect("TLS handshake");
    let mut client = Client {
        stream: tls,
        input: Vec::new(),
    };
    client.send("MAIL FROM:<a@x>\r\n");
    assert!(
        client.reply().unwrap().starts_with("503 "),
        "EHLO again after STARTTLS"
    );
    client.send("EHLO x\r\nQUIT\r\n");
    client.replies(2);
    drop(client);
    let record = server.finish();
    assert!(record.connections[0].tls);
    assert!(
        std::fs::read_to_string(certs.ca_file())
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
}

#[test]
fn implicit_tls_greets_inside_tls() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .implicit_tls(certs.identity.clone())
        .start();
    let connector = native_tls::TlsConnector::builder()
        .add_root_certificate(certs.ca_certificate())
        .build()
        .unwrap();
    let tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let tls = connector.connect("127.0.0.1", tcp).expect("TLS handshake");
    let mut client = Client {
        stream: tls,
        input: Vec::new(),
    };
    assert_eq!(client.reply().unwrap(), "220 test.local ESMTP\r\n");
    client.send("QUIT\r\n");
    client.reply().unwrap();
    drop(client);
    assert!(server.finish().connections[0].tls);
}

#[test]
fn refused_addr_refuses_and_an_idle_server_finishes_empty() {
    let err = TcpStream::connect(crate::support::refused_addr()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let server = Server::start();
    assert_eq!(server.finish().connection_count(), 0);
}

#[test]
fn unstuff_keeps_the_final_crlf() {
    assert_eq!(
        crate::support::unstuff(b"a\r\n..b\r\n.\r\n"),
        b"a\r\n.b\r\n"
    );
    assert_eq!(crate::support::unstuff(b".\r\n"), b"");
    assert_eq!(
        crate::support::unstuff(b"no terminator.\r\n"),
        b"no terminator.\r\n"
    );
}

#[test]
fn reply_then_hang_up_long_line_and_endless_reply() {
    let server = Server::builder()
        .on(Verb::Ehlo, Action::long_line(250, 200_000))
        .start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("EHLO x\r\n");
    let line = client.reply().unwrap();
    assert!(line.starts_with("250 xxx") && line.ends_with("x\r\n"));
    assert_eq!(
        line.len(),
        "250 ".len() + 4 * 64 * 1024 + 2,
        "whole 64 KiB fills"
    );
    assert!(client.reply().is_none(), "closed after the line");
    drop(client);
    server.finish();

    let server = Server::builder()
        .on(Verb::Mail, Action::endless_reply(250))
        .start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("EHLO x\r\n");
    client.reply().unwrap();
    client.send("MAIL FROM:<a@x>\r\n");
    let mut endless = Vec::new();
    let mut chunk = [0; 64 * 1024];
    while endless.len() < 1024 * 1024 {
        let n = client.stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the endless reply ended");
        endless.extend_from_slice(&chunk[..n]);
    }
    assert!(endless.starts_with(b"250-more\r\n250-more\r\n"));
    drop(client);
    assert!(server.finish().transactions().is_empty());

    let server = Server::builder()
        .on(Verb::Rcpt, Action::reply_then_hang_up(421, "4.3.2 bye"))
        .start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    let replies = client.replies(3);
    assert_eq!(replies[2], "421 4.3.2 bye\r\n");
    assert!(client.reply().is_none(), "closed after the 421");
    drop(client);
    server.finish();
}

#[test]
fn mid_data_reply_comes_early_and_the_rest_of_the_data_is_dropped() {
    let server = Server::builder()
        .on(Verb::MidData, Action::reply(552, "5.3.4 too big"))
        .start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    client.replies(4);
    client.send("first piece\r\n");
    assert_eq!(client.reply().unwrap(), "552 5.3.4 too big\r\n");
    client.send("second piece\r\n.\r\nQUIT\r\n");
    assert_eq!(
        client.reply().unwrap(),
        "221 2.0.0 Bye\r\n",
        "no reply to the data"
    );
    drop(client);
    let record = server.finish();
    assert!(record.completed().is_empty());
    assert_eq!(
        record.transactions()[0].data_wire,
        b"first piece\r\nsecond piece\r\n.\r\n"
    );

    let server = Server::builder().on(Verb::MidData, Action::Silent).start();
    let mut client = connect(&server);
    client.reply().unwrap();
    client.send("EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    client.replies(4);
    client.stream.set_nonblocking(true).unwrap();
    let piece = vec![b'x'; 64 * 1024];
    let mut written = 0usize;
    let blocked = loop {
        match client.stream.write(&piece) {
            Ok(n) => written += n,
            Err(err) if err.kind() == ErrorKind::WouldBlock => break true,
            Err(err) => panic!("{err}"),
        }
        if written > 256 * 1024 * 1024 {
            break false;
        }
    };
    assert!(blocked, "a silent server mid-data stops reading");
    drop(client);
    assert!(server.finish().completed().is_empty());
}

#[test]
fn runner_reads_the_peak_memory_of_a_run_however_short() {
    // A run that ends within milliseconds still has its peak (read as it exits).
    let out = Run::new(["--version"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let peak = out.peak_rss_kib();
    assert!(peak > 0 && peak < 64 * 1024, "{peak} KiB");
    // A short-lived peak is seen: a shell that holds 32 MiB for a moment, then exits.
    let out = Run::new([
        "-c",
        "x=$(head -c 33554432 /dev/zero | tr '\\0' a); echo ${#x}",
    ])
    .program("sh")
    .output();
    assert_eq!(out.stdout, "33554432\n", "{}", out.stderr);
    assert!(out.peak_rss_kib() > 32 * 1024, "{} KiB", out.peak_rss_kib());
}

#[test]
fn a_home_is_where_smtpsend_looks_for_its_config_and_keeps_its_outbox() {
    let home = Home::new();
    home.write_config("[accounts.a]\nserver = \"a.example:2525\"\n", 0o600);
    let out = home.run(["--show-config", "--account", "a"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let config_line = format!("config          {}  (", home.config_file().display());
    assert!(out.stdout.starts_with(&config_line), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "a.example:2525  (account a, {} line 2)",
            home.config_file().display()
        )),
        "{}",
        out.stdout
    );
    let system_line = format!(
        "system-config   {}  (SMTPSEND_SYSTEM_CONFIG, not found)",
        home.system_config_file().display()
    );
    assert!(out.stdout.contains(&system_line), "{}", out.stdout);

    let out = home
        .run(["--to", "b@example.com", "--body", "x", "--queue", "always"])
        .server(&refused_addr())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert_eq!(home.ids(), std::slice::from_ref(&id));
    assert_eq!(home.files(), [format!("{id}.eml"), format!("{id}.json")]);
    assert_eq!(home.meta(&id)["envelope"]["recipients"][0], "b@example.com");
    assert!(home.queue_dir().starts_with(home.path()));
}
