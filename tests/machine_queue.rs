//! Nothing lost on the sendmail path, and a record of what was sent: the log file and the
//! system log, queued mail delivered by the next send over its connection and by `-q`
//! (exactly once), `-q --server` rerouting, options `-q` has no use for, the spool of users
//! without a home, and `mailq`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

const USER: &str = "relay-user";
const PASSWORD: &str = "Log-Secret-8d1f";

/// The name the password database gives the user running the tests (the spool's
/// directories are named so).
fn my_name() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A datagram socket in the home standing in for the system log, and its path.
fn syslog_socket(home: &Home) -> (std::path::PathBuf, UnixDatagram) {
    let path = home.join("log.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (path, socket)
}

/// A system file whose account `relay` (the default) logs to `log` and to syslog.
fn logging_config(home: &Home, server: &Server, log: &Path) -> PathBuf {
    home.write_system_config(
        &format!(
            "default = \"relay\"\n[accounts.relay]\nserver = \"{}\"\ntls = \"starttls\"\n\
             user = \"{USER}\"\nlog-file = \"{}\"\nsyslog = \"mail\"\n",
            server.addr(),
            log.display()
        ),
        0o644,
    );
    home.system_config_file()
}

#[test]
fn each_attempt_is_one_line_in_the_log_and_the_system_log_without_secrets() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .starttls(certs.identity.clone())
        .auth("PLAIN", USER, PASSWORD)
        .on(
            Verb::EndOfData,
            Action::reply(250, "2.0.0 Ok: queued as 4ABCD1234"),
        )
        .start();
    let home = Home::new();
    let log = home.join("smtpsend.log");
    logging_config(&home, &server, &log);
    let (socket_path, socket) = syslog_socket(&home);
    let out = home
        .run([
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--body",
            "hi",
        ])
        .args(["--tls-ca-file", certs.ca_file(), "--json"])
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .env("SMTPSEND_SYSLOG_SOCKET", &socket_path)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    server.finish();
    // The size is the message's, as --json reports it (the wire adds the end mark).
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let size = &report["size"];
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let (time, line) = lines[0].split_once(' ').unwrap();
    assert!(time.len() == 25 && time.as_bytes()[10] == b'T', "{time}");
    let tls = line
        .split(' ')
        .find(|field| field.starts_with("tls="))
        .unwrap_or_else(|| panic!("no tls: {line}"));
    assert!(tls.starts_with("tls=TLSv1."), "{line}");
    assert_eq!(
        line,
        format!(
            "result=sent exit=0 account=relay server={} {tls} user={USER} \
             from=<a@example.com> to=<b@example.com>:250 size={size} \
             message-id=<pinned@smtpsend.test> queue-id=4ABCD1234",
            server_addr_of(&home)
        )
    );
    let mut datagram = [0u8; 4096];
    let received = socket.recv(&mut datagram).unwrap();
    let datagram = String::from_utf8_lossy(&datagram[..received]).into_owned();
    assert!(datagram.starts_with("<22>"), "{datagram}");
    assert!(datagram.ends_with(&format!("]: {line}")), "{datagram}");
    assert!(datagram.contains(" smtpsend["), "{datagram}");
}

/// The server address a home's system file names.
fn server_addr_of(home: &Home) -> String {
    let text = std::fs::read_to_string(home.system_config_file()).unwrap();
    let line = text
        .lines()
        .find(|line| line.starts_with("server"))
        .unwrap();
    line.split('"').nth(1).unwrap().to_string()
}

#[test]
fn a_server_echoing_the_password_leaves_none_in_the_log() {
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .starttls(certs.identity.clone())
        .auth("PLAIN", USER, PASSWORD)
        .on(
            Verb::Rcpt,
            Action::reply(550, &format!("5.1.1 no {PASSWORD} here")),
        )
        .start();
    let home = Home::new();
    let log = home.join("smtpsend.log");
    logging_config(&home, &server, &log);
    let (socket_path, socket) = syslog_socket(&home);
    let out = home
        .run([
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--body",
            "hi",
        ])
        .args(["--tls-ca-file", certs.ca_file()])
        .env("SMTPSEND_PASSWORD", PASSWORD)
        .env("SMTPSEND_SYSLOG_SOCKET", &socket_path)
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    server.finish();
    let text = std::fs::read_to_string(&log).unwrap();
    let mut datagram = [0u8; 4096];
    let received = socket.recv(&mut datagram).unwrap();
    let datagram = String::from_utf8_lossy(&datagram[..received]).into_owned();
    for written in [&text, &datagram] {
        assert!(!written.contains(PASSWORD), "{written}");
        assert!(written.contains("result=failed exit=67 "), "{written}");
        assert!(written.contains("to=<b@example.com>:550 "), "{written}");
        assert!(written.contains("5.1.1 no <redacted> here"), "{written}");
    }
    assert!(datagram.starts_with("<19>"), "mail.err: {datagram}");
}

#[test]
fn many_writers_at_once_append_whole_lines() {
    let server = Server::start();
    let home = Home::new();
    let log = home.join("smtpsend.log");
    let runs: Vec<Running> = (0..8)
        .map(|n| {
            home.run(["--to", "b@example.com", "--body", "hi"])
                .server(&server)
                .sender(&format!("sender{n}@example.com"))
                .args(["--log-file", log.to_str().unwrap()])
                .spawn()
        })
        .collect();
    for run in runs {
        assert_eq!(run.wait().code, 0);
    }
    server.finish();
    let text = std::fs::read_to_string(&log).unwrap();
    let mut senders: Vec<&str> = text
        .lines()
        .map(|line| {
            assert!(line.contains(" result=sent exit=0 "), "{line}");
            let from = line.split(" from=<").nth(1).unwrap();
            from.split('>').next().unwrap()
        })
        .collect();
    senders.sort_unstable();
    let expected: Vec<String> = (0..8).map(|n| format!("sender{n}@example.com")).collect();
    assert_eq!(senders, expected);
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_log_that_cannot_be_written_costs_a_warning_not_the_mail() {
    let server = Server::start();
    let home = Home::new();
    let target = home.join("elsewhere");
    std::fs::write(&target, "").unwrap();
    let link = home.join("link.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = home
        .run(["--to", "b@example.com", "--body", "hi", "--log-file"])
        .arg(&link)
        .server(&server)
        .sender("a@example.com")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: warning: cannot write to the log file {}: it is a symbolic link, which \
             smtpsend does not follow; the mail is not affected\n",
            link.display()
        )
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"");
    assert_eq!(server.finish().completed().len(), 1);
}

/// A complete message with this subject, as a sendmail caller hands it over.
fn message(subject: &str) -> String {
    format!("From: a@example.com\nTo: b@example.com\nSubject: {subject}\n\nbody\n")
}

#[test]
fn queued_mail_goes_with_the_next_send_over_its_connection_exactly_once() {
    let home = Home::new();
    let log = home.join("smtpsend.log");
    let server = Server::builder()
        .on_first(2, Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .start();
    let mut queued = Vec::new();
    for subject in ["first", "second"] {
        let out = home
            .run(["-i", "b@example.com"])
            .server(&server)
            .stdin(message(subject))
            .output();
        assert_eq!(out.code, 0, "{}", out.stderr);
        queued.push(queued_id(&out.stderr));
    }
    assert_eq!(home.ids(), queued);

    let out = home
        .run(["-i", "b@example.com", "--log-file"])
        .arg(&log)
        .server(&server)
        .stdin(message("third"))
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert!(home.ids().is_empty(), "{:?}", home.files());
    // Nothing left for -q, and a later send sends only its own message.
    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = home
        .run(["-i", "b@example.com"])
        .server(&server)
        .stdin(message("fourth"))
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);

    let record = server.finish();
    assert_eq!(record.connection_count(), 4);
    let third = &record.connections[2];
    let subjects: Vec<String> = third
        .transactions
        .iter()
        .filter(|t| t.completed)
        .map(|t| t.message_text().lines().nth(2).unwrap().to_string())
        .collect();
    assert_eq!(
        subjects,
        ["Subject: third", "Subject: first", "Subject: second"]
    );
    // EHLO; MAIL+RCPT+DATA; each end of data with the next message's commands behind it;
    // the last one's with QUIT.
    assert_eq!(third.round_trips, 5);
    assert_eq!(record.completed().len(), 4);
    let text = std::fs::read_to_string(&log).unwrap();
    let outboxes: Vec<&str> = text
        .lines()
        .map(|line| line.split(" outbox=").nth(1).unwrap_or("-"))
        .collect();
    assert_eq!(outboxes, ["-", queued[0].as_str(), queued[1].as_str()]);
}

#[test]
fn q_with_server_or_account_reroutes_and_list_queue_shows_where() {
    let home = Home::new();
    let dead = refused_addr();
    let out = home
        .run(["-i", "b@example.com"])
        .server(&dead)
        .stdin(message("rerouted"))
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);

    let server = Server::start();
    let out = home
        .run(["--list-queue", "--server", &server.addr()])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "    via {}, rerouted (queued for {dead})\n",
            server.addr()
        )),
        "{}",
        out.stdout
    );
    let out = home.run(["--list-queue"]).output();
    assert!(
        out.stdout.contains(&format!("    via {dead}\n")),
        "{}",
        out.stdout
    );
    // As queued, it still cannot go.
    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(home.ids(), std::slice::from_ref(&id));

    let out = home.run(["-q", "--server", &server.addr()]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.ids().is_empty());
    let record = server.finish();
    assert!(
        record
            .only_completed()
            .message_text()
            .contains("Subject: rerouted")
    );

    // An account of the configuration file is a route too.
    let server = Server::start();
    home.write_config(
        &format!("[accounts.backup]\nserver = \"{}\"\n", server.addr()),
        0o600,
    );
    let out = home
        .run(["-i", "b@example.com"])
        .server(&dead)
        .stdin(message("by account"))
        .output();
    queued_id(&out.stderr);
    let out = home.run(["-q", "--account", "backup"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);
}

#[test]
fn options_the_outbox_commands_have_no_use_for_are_refused() {
    for (args, says) in [
        (
            &["-q", "--tls", "none"][..],
            "-q --tls: each queued message goes as it was queued; give --server or --account \
             with -q (or --list-queue) to send them all another way",
        ),
        (
            &["-q", "--partial"],
            "-q works on messages already queued, each as it was queued; --partial is for \
             sending a new one",
        ),
        (
            &["--list-queue", "--from", "a@example.com"],
            "--list-queue works on messages already queued, each as it was queued; --from is \
             for sending a new one",
        ),
        (
            &[
                "--drop-queue",
                "0640a1b2c3d4e-0badf0",
                "--server",
                "x.example",
            ],
            "--drop-queue removes messages without sending them; --server and --account do not \
             apply",
        ),
    ] {
        let out = Run::new(args).output();
        assert_eq!(out.code, 64, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr, format!("smtpsend: {says}\n"), "{args:?}");
    }
    // What a CI job sets for every step is not "given": -q runs.
    let out = Run::new(["-q"]).env("SMTPSEND_QUEUE", "always").output();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// A spool like the administrator makes one: root's (here the test user's), not writable
/// by others, with a private directory for the user.
fn spool(home: &Home, with_user_dir: bool) -> PathBuf {
    let spool = home.join("spool");
    std::fs::create_dir(&spool).unwrap();
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o755)).unwrap();
    if with_user_dir {
        let mine = spool.join(my_name());
        std::fs::create_dir(&mine).unwrap();
        std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    home.write_system_config(&format!("spool = \"{}\"\n", spool.display()), 0o644);
    spool
}

/// A run as a daemon's user: no HOME nor XDG directories, the system file of `home`.
fn homeless(home: &Home, args: &[&str]) -> Run {
    Run::new(args)
        .env("SMTPSEND_SYSTEM_CONFIG", home.system_config_file())
        .env_remove("HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
}

#[test]
fn users_without_a_home_keep_their_outbox_in_the_spool() {
    let home = Home::new();
    let spool = spool(&home, true);
    let dead = refused_addr();
    let out = homeless(&home, &["-i", "b@example.com"])
        .server(&dead)
        .stdin(message("spooled"))
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    let mine = spool.join(my_name());
    assert!(mine.join(format!("{id}.json")).is_file());
    // HOME=/nonexistent (nobody's) is no home either.
    let out = homeless(&home, &["--list-queue"])
        .env("HOME", "/nonexistent")
        .output();
    assert!(out.stdout.contains(&id), "{}", out.stdout);

    let server = Server::start();
    let out = homeless(&home, &["-q", "--server", &server.addr()]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!mine.join(format!("{id}.json")).exists());
    assert_eq!(server.finish().completed().len(), 1);
}

#[test]
fn without_a_place_for_the_outbox_the_send_says_how_to_make_one() {
    let home = Home::new();
    let spool = spool(&home, false);
    let name = my_name();
    let out = homeless(&home, &["-i", "b@example.com"])
        .server(&refused_addr())
        .stdin(message("lost?"))
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&format!(
            "and the outbox could not keep the message: the spool has no directory for \
             {name}: create it with install -d -o {name} -m 700 {}/{name} (see \
             docs/sendmail.md)\n",
            spool.display()
        )),
        "{}",
        out.stderr
    );
    // A spool others may write to is not used.
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = homeless(&home, &["-i", "b@example.com"])
        .server(&refused_addr())
        .stdin(message("lost?"))
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "the spool {} can be written by group or others (mode 0777)",
            spool.display()
        )),
        "{}",
        out.stderr
    );
    // No spool at all.
    let out = homeless(&Home::new(), &["-i", "b@example.com"])
        .server(&refused_addr())
        .stdin(message("lost?"))
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "no place for the outbox of {name}: neither XDG_STATE_HOME nor HOME is set"
        )),
        "{}",
        out.stderr
    );
    // nobody's home, and none of the directories it names are made.
    let out = homeless(&Home::new(), &["-i", "b@example.com"])
        .env("HOME", "/nonexistent/smtpsend-test")
        .server(&refused_addr())
        .stdin(message("lost?"))
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "no place for the outbox of {name}: its home /nonexistent/smtpsend-test does not \
             exist or cannot be written to; give it a home, or name a spool"
        )),
        "{}",
        out.stderr
    );
    assert!(!Path::new("/nonexistent/smtpsend-test").exists());
}

#[test]
fn each_message_of_a_bulk_run_is_logged() {
    let server = Server::builder()
        .on_rcpt("refused", Action::reply(550, "5.1.1 no such user"))
        .start();
    let home = Home::new();
    let dir = home.join("bulk");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("1.eml"),
        "From: a@example.com\nTo: b@example.com\n\none\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("2.eml"),
        "From: a@example.com\nTo: refused@example.com\n\ntwo\n",
    )
    .unwrap();
    let log = home.join("bulk.log");
    let out = home
        .run(["--bulk"])
        .arg(&dir)
        .arg("--log-file")
        .arg(&log)
        .server(&server)
        .output();
    assert_eq!(out.code, 67, "{}", out.stderr);
    server.finish();
    let text = std::fs::read_to_string(&log).unwrap();
    let results: Vec<&str> = text
        .lines()
        .map(|line| line.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(results, ["result=sent", "result=failed"], "{text}");
    assert!(text.contains(" to=<refused@example.com>:550 "), "{text}");
}

#[test]
fn mailq_lists_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("mailq");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_smtpsend"), &link).unwrap();
    let home = Home::new();
    let out = home
        .run(["-i", "b@example.com"])
        .server(&refused_addr())
        .stdin(message("listed"))
        .output();
    let id = queued_id(&out.stderr);
    let out = home.run(Vec::<&str>::new()).program(&link).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(&id), "{}", out.stdout);
    assert!(out.stdout.contains("1 message in "), "{}", out.stdout);
}
