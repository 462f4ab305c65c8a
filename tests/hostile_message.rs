//! Hostile input: bodies built to smuggle a second message past a lenient server (a dot
//! between bare CRs or LFs), NUL bytes, files that are no files (FIFOs, devices), endless
//! stdin, and files that change between composing and sending or while they are sent.
//! Whatever the input, the server gets exactly one well-formed message per transaction,
//! or nothing; smtpsend never hangs on a file and never holds endless input.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;
use mail_parser::{MessageParser, MimeHeaders};

/// Ends the data early for a server that also takes a bare CR or LF as a line end, then
/// opens a forged transaction; every lenient end-of-data form is in it.
const SMUGGLER: &str = "Hello,\r.\r\nMAIL FROM:<forged@evil.example>\r\nRCPT TO:<victim@example.com>\r\n\
DATA\r\nforged\n.\nRSET\r.\r\n.\rQUIT\r\n.\n";

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn assert_one_end_mark(wire: &[u8]) {
    assert_eq!(
        end_marks(wire),
        (1, 1),
        "{:?}",
        String::from_utf8_lossy(wire)
    );
    assert!(wire.ends_with(b"\r\n.\r\n"));
}

/// The decoded body and transfer encoding of the message's `media_type` part.
fn text_part(message: &[u8], media_type: &str) -> (Vec<u8>, String) {
    let parsed = MessageParser::default()
        .parse(message)
        .expect("a MIME message");
    let part = parsed
        .parts
        .iter()
        .find(|part| {
            part.content_type()
                .map(|t| format!("{}/{}", t.ctype(), t.subtype().unwrap_or_default()))
                .as_deref()
                == Some(media_type)
        })
        .unwrap_or_else(|| panic!("no {media_type} part: {}", String::from_utf8_lossy(message)));
    let encoding = part.content_transfer_encoding().unwrap_or_default();
    (part.contents().to_vec(), encoding.to_string())
}

/// The part decodes to the input; only its line ends may have become CRLF.
fn assert_same_text(decoded: &[u8], input: &[u8]) {
    assert!(
        decoded == input || decoded == lf_to_crlf(input),
        "decoded {:?}\n  input {:?}",
        String::from_utf8_lossy(decoded),
        String::from_utf8_lossy(input)
    );
}

#[test]
fn a_smuggling_body_arrives_as_one_message_whatever_gives_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.txt");
    std::fs::write(&file, SMUGGLER).unwrap();
    let file = path(&file);
    let cases: [(&str, Vec<&str>, &[u8], &str); 4] = [
        ("--body", vec!["--body", SMUGGLER], b"", "text/plain"),
        ("--body-file", vec!["--body-file", file], b"", "text/plain"),
        ("stdin", vec![], SMUGGLER.as_bytes(), "text/plain"),
        (
            "--html",
            vec!["--html", file, "--body", "plain"],
            b"",
            "text/html",
        ),
    ];
    for chunking in [false, true] {
        for (given_by, extra, stdin, media_type) in &cases {
            let builder = Server::builder();
            let server = match chunking {
                true => builder.capability("CHUNKING").start(),
                false => builder.start(),
            };
            let mut args = vec!["--to", "victim@example.com", "--subject", "hi"];
            args.extend(extra);
            let out = Run::new(&args)
                .server(&server)
                .sender("a@example.com")
                .stdin(stdin)
                .output();
            assert_eq!(out.code, 0, "{given_by}: {}", out.stderr);
            let record = server.finish();
            let mails = record
                .commands()
                .iter()
                .filter(|c| c.starts_with("MAIL"))
                .count();
            assert_eq!(mails, 1, "{given_by}: {:?}", record.commands());
            let sent = record.only_completed();
            assert_eq!(sent.recipients(), ["victim@example.com"]);
            if chunking {
                assert_eq!(sent.bdat_chunks, [sent.message.len()], "{given_by}");
            } else {
                assert_one_end_mark(&sent.data_wire);
            }
            let (decoded, encoding) = text_part(&sent.message, media_type);
            assert_eq!(encoding, "quoted-printable", "{given_by}");
            assert_same_text(&decoded, SMUGGLER.as_bytes());
            assert!(!sent.message.contains(&b'\0') && sent.message.is_ascii());
        }
    }
}

#[test]
fn a_nul_byte_in_a_composed_body_is_escaped() {
    let body = b"nul\0here\r\n\0\0and a bare\rCR\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.txt");
    std::fs::write(&file, body).unwrap();
    for (given_by, extra, stdin) in [
        ("--body-file", vec!["--body-file", path(&file)], &b""[..]),
        ("stdin", vec![], &body[..]),
    ] {
        let server = Server::start();
        let mut args = vec!["--to", "b@example.com"];
        args.extend(extra);
        let out = Run::new(&args)
            .server(&server)
            .sender("a@example.com")
            .stdin(stdin)
            .output();
        assert_eq!(out.code, 0, "{given_by}: {}", out.stderr);
        let record = server.finish();
        let sent = record.only_completed();
        let text = sent.message_text();
        assert!(
            text.contains("nul=00here\r\n=00=00and a bare=0DCR\r\n"),
            "{text}"
        );
        let (decoded, encoding) = text_part(&sent.message, "text/plain");
        assert_eq!(encoding, "quoted-printable");
        assert_same_text(&decoded, body);
    }
}

/// A complete message whose body has a NUL byte.
const NUL_MESSAGE: &[u8] =
    b"From: a@example.com\nTo: b@example.com\nSubject: nul\n\nbefore\0after\r.\r\n";

#[test]
fn a_raw_body_with_a_nul_byte_goes_only_with_binarymime() {
    let dir = tempfile::tempdir().unwrap();
    let bulk = dir.path().join("nul.eml");
    std::fs::write(&bulk, NUL_MESSAGE).unwrap();
    for (server, extra) in [
        (Server::start(), vec!["--raw", "b@example.com"]),
        (Server::start(), vec!["-t"]),
        (
            Server::builder().capability("CHUNKING").start(),
            vec!["b@example.com"],
        ),
        (
            Server::builder().capability("BINARYMIME").start(),
            vec!["--raw", "b@example.com"],
        ),
        (Server::start(), vec!["--bulk", path(&bulk)]),
    ] {
        let stdin = if extra[0] == "--bulk" {
            b""
        } else {
            NUL_MESSAGE
        };
        let out = Run::new(&extra)
            .server(&server)
            .sender("a@example.com")
            .stdin(stdin)
            .output();
        assert_eq!(out.code, 69, "{extra:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(
                "the body has a NUL byte and the server does not offer BINARYMIME with CHUNKING"
            ),
            "{extra:?}: {}",
            out.stderr
        );
        let record = server.finish();
        let commands = record.commands();
        assert!(
            !commands.iter().any(|c| c.starts_with("MAIL")),
            "{extra:?}: {commands:?}"
        );
        assert!(record.transactions().is_empty());
    }
    let server = Server::builder()
        .capability("CHUNKING")
        .capability("BINARYMIME")
        .start();
    let out = Run::new(["--raw", "b@example.com"])
        .server(&server)
        .sender("a@example.com")
        .stdin(NUL_MESSAGE)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let sent = record.only_completed();
    assert!(sent.mail_params().contains(&"BODY=BINARYMIME"));
    assert!(sent.message.ends_with(b"\r\n\r\nbefore\0after\r.\r\n"));
}

#[test]
fn a_fifo_socket_or_device_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let fifo = path(&fifo);
    let listening = dir.path().join("socket");
    let _socket = std::os::unix::net::UnixListener::bind(&listening).unwrap();
    let socket = path(&listening);
    let to = ["--to", "b@example.com", "--body", "x"];
    let cases: [(Vec<&str>, &str); 7] = [
        (
            [&to[..], &["-a", fifo]].concat(),
            "attachment FIFO is a FIFO (a pipe), not a regular file",
        ),
        (
            [&to[..], &["--html", fifo]].concat(),
            "HTML file FIFO is a FIFO (a pipe), not a regular file",
        ),
        (
            vec!["--bulk", fifo],
            "message FIFO is a FIFO (a pipe), not a regular file",
        ),
        (
            [&to[..], &["-a", "/dev/zero"]].concat(),
            "attachment /dev/zero is a character device, not a regular file",
        ),
        (
            [&to[..], &["--html", "/dev/zero"]].concat(),
            "HTML file /dev/zero is a character device, not a regular file",
        ),
        (
            vec!["--to", "b@example.com", "--body-file", "/dev/zero"],
            "body file /dev/zero is a character device, not a regular file",
        ),
        (
            vec!["--to", "b@example.com", "--body-file", socket],
            "socket",
        ),
    ];
    for (args, says) in cases {
        let server = Server::start();
        let started = Instant::now();
        let out = Run::new(&args)
            .server(&server)
            .sender("a@example.com")
            .output();
        let says = says.replace("FIFO is", &format!("{fifo} is"));
        assert_eq!(out.code, 66, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(&says), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{args:?} waited"
        );
        assert_eq!(server.finish().connection_count(), 0, "{args:?}");
    }
}

/// Runs smtpsend to its end; `meanwhile` runs once `when` holds (looked at every few
/// milliseconds), and must have run by the end.
fn run_meanwhile(run: Run, when: impl Fn(&Running) -> bool, meanwhile: impl FnOnce()) -> Output {
    let running = run.stdin_from(Stdio::null()).spawn();
    let mut meanwhile = Some(meanwhile);
    while !running.has_exited() {
        if meanwhile.is_some() && when(&running) {
            (meanwhile.take().unwrap())();
        }
        thread::sleep(Duration::from_millis(2));
    }
    let out = running.wait();
    assert!(
        meanwhile.is_none(),
        "it ended before the moment came: {}",
        out.stderr
    );
    out
}

#[test]
fn endless_stdin_stops_at_the_limit() {
    for (mode, args) in [
        ("raw", vec!["--raw", "b@example.com"]),
        ("-t", vec!["-t"]),
        ("compose", vec!["--to", "b@example.com", "--subject", "s"]),
    ] {
        let server = Server::start();
        let zero = std::fs::File::open("/dev/zero").unwrap();
        let run = Run::new(["--max-input-size", "1M"])
            .args(&args)
            .server(&server)
            .stdin_from(zero)
            .output();
        assert_eq!(run.code, 65, "{mode}: {}", run.stderr);
        let what = if mode == "compose" {
            "the body on stdin"
        } else {
            "the message on stdin"
        };
        assert_eq!(
            run.stderr,
            format!(
                "smtpsend: {what} is larger than 1 MiB (--max-input-size 1M); give a larger \
                 --max-input-size, or send big content with --attach\n"
            )
        );
        assert!(run.elapsed < Duration::from_secs(10), "{mode}");
        assert_eq!(server.finish().connection_count(), 0, "{mode}");
    }
}

/// smtpsend holds at most `--max-input-size` of stdin and reads no further: with the
/// limit's worth read it is still small, and past it it stops reading and leaves.
#[test]
fn stdin_is_read_no_further_than_the_limit() {
    use std::io::Write;
    const LIMIT: usize = 1 << 20;
    for args in [
        vec!["--raw", "b@example.com"],
        vec!["--to", "b@example.com", "--subject", "s"],
    ] {
        let mut running = Run::new(["--max-input-size", "1M"])
            .args(&args)
            .server("127.0.0.1:1")
            .stdin_from(Stdio::piped())
            .spawn();
        let mut stdin = running.take_stdin();
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..LIMIT / chunk.len() {
            stdin.write_all(&chunk).unwrap();
        }
        // All of it but a pipe's worth has been read; once the pipe is empty smtpsend has
        // read the whole limit and waits for more.
        let ends = Instant::now() + Duration::from_secs(20);
        while unread(&stdin) > 0 && Instant::now() < ends {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            unread(&stdin),
            0,
            "{args:?}: it stopped reading within the limit"
        );
        let held = running.high_water_kib().expect("smtpsend is still running");
        assert!(held < 40 * 1024, "{args:?}: {held} KiB with 1 MiB read");
        let mut more = 0;
        while more < 64 * LIMIT {
            match stdin.write(&chunk) {
                Ok(written) => more += written,
                Err(_) => break,
            }
        }
        assert!(
            more <= 2 * chunk.len(),
            "{args:?}: it read {more} bytes past the limit"
        );
        drop(stdin);
        let out = running.wait();
        assert_eq!(out.code, 65, "{args:?}: {}", out.stderr);
    }
}

/// Bytes written to the pipe and not read yet.
fn unread(pipe: &std::process::ChildStdin) -> usize {
    use std::os::fd::AsRawFd;
    let mut bytes: libc::c_int = 0;
    // SAFETY: FIONREAD writes the count into the int; the descriptor is the test's own.
    let done = unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &mut bytes) };
    assert_eq!(done, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    bytes as usize
}

#[test]
fn input_just_within_the_limit_is_sent() {
    let server = Server::start();
    let body = "x\n".repeat(512);
    let out = Run::new(["--to", "b@example.com", "--max-input-size", "1K"])
        .server(&server)
        .sender("a@example.com")
        .stdin(body.as_bytes())
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert!(
        record
            .only_completed()
            .message_text()
            .ends_with(&"x\r\n".repeat(512))
    );
    let server = Server::start();
    let out = Run::new(["--to", "b@example.com", "--max-input-size", "1K"])
        .server(&server)
        .sender("a@example.com")
        .stdin(format!("{body}!").as_bytes())
        .output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("larger than 1 KiB (--max-input-size 1K)")
    );
}

#[test]
fn a_body_file_fifo_is_read_when_written_and_given_up_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("body");
    mkfifo(&fifo);
    // Nobody ever writes: the run ends at the --timeout deadline, not never.
    let server = Server::start();
    let run_alone = Run::new(["--to", "b@example.com", "--timeout", "2", "--body-file"])
        .arg(&fifo)
        .server(&server)
        .stdin_from(Stdio::null())
        .output();
    assert_eq!(run_alone.code, 66, "{}", run_alone.stderr);
    assert!(
        run_alone
            .stderr
            .contains("is a pipe that nothing wrote to within 2s (--timeout)"),
        "{}",
        run_alone.stderr
    );
    assert_eq!(run_alone.stderr.lines().count(), 1);
    assert!(
        run_alone.elapsed >= Duration::from_millis(1900),
        "{:?}",
        run_alone.elapsed
    );
    assert!(
        run_alone.elapsed < Duration::from_secs(10),
        "{:?}",
        run_alone.elapsed
    );
    assert_eq!(server.finish().connection_count(), 0);

    // A writer that comes late: its text is the body.
    let server = Server::start();
    let writer_path = fifo.clone();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        std::fs::write(writer_path, SMUGGLER).unwrap();
    });
    let run_written = Run::new(["--to", "b@example.com", "--timeout", "10", "--body-file"])
        .arg(&fifo)
        .server(&server)
        .stdin_from(Stdio::null())
        .output();
    writer.join().unwrap();
    assert_eq!(run_written.code, 0, "{}", run_written.stderr);
    let record = server.finish();
    let sent = record.only_completed();
    assert_one_end_mark(&sent.data_wire);
    let (decoded, encoding) = text_part(&sent.message, "text/plain");
    assert_eq!(encoding, "quoted-printable");
    assert_same_text(&decoded, SMUGGLER.as_bytes());
}

/// What happens to a file after the message was composed.
#[derive(Clone, Copy, Debug)]
enum Change {
    Shrinks,
    Grows,
    Vanishes,
    /// The same size, other bytes.
    Rewritten,
    /// Replaced by a FIFO nobody writes to.
    BecomesFifo,
}

impl Change {
    fn apply(self, file: &Path) {
        match self {
            Change::Shrinks => {
                let size = std::fs::metadata(file).unwrap().len();
                let handle = std::fs::OpenOptions::new().write(true).open(file).unwrap();
                handle.set_len(size / 2).unwrap();
            }
            Change::Grows => {
                use std::io::Write;
                let mut handle = std::fs::OpenOptions::new().append(true).open(file).unwrap();
                handle.write_all(b"more\n").unwrap();
            }
            Change::Vanishes => std::fs::remove_file(file).unwrap(),
            Change::Rewritten => {
                let size = std::fs::metadata(file).unwrap().len() as usize;
                std::fs::write(file, "Z".repeat(size)).unwrap();
            }
            Change::BecomesFifo => {
                std::fs::remove_file(file).unwrap();
                mkfifo(file);
            }
        }
    }

    fn exit_code(self) -> i32 {
        match self {
            Change::Vanishes => 66,
            _ => 74,
        }
    }
}

/// The server saw no whole message and no QUIT: the connection was closed inside the data.
fn assert_abandoned(record: &Record, case: &str) {
    assert!(record.completed().is_empty(), "{case}: {record:#?}");
    let commands = record.commands();
    assert!(
        !commands.iter().any(|c| c == "QUIT"),
        "{case}: {commands:?}"
    );
    for transaction in record.transactions() {
        assert!(!transaction.data_wire.ends_with(b"\r\n.\r\n"), "{case}");
        let quit = transaction.data_wire.windows(4).any(|w| w == b"QUIT");
        assert!(!quit, "{case}: QUIT inside the data");
    }
}

#[test]
fn a_file_that_changes_before_it_is_sent_stops_the_send_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let changes = [
        Change::Shrinks,
        Change::Grows,
        Change::Vanishes,
        Change::Rewritten,
        Change::BecomesFifo,
    ];
    // Each case waits on its server: they run side by side.
    let mut cases = Vec::new();
    for chunking in [false, true] {
        for role in ["attachment", "body file", "HTML file"] {
            for change in changes {
                let file = dir.path().join(format!(
                    "{}-{change:?}-{chunking}.txt",
                    role.replace(' ', "-")
                ));
                cases.push(thread::spawn(move || {
                    changed_before_sending(&file, role, change, chunking)
                }));
            }
        }
    }
    for case in cases {
        case.join().unwrap();
    }
}

/// One message whose `role` file (attachment, body file, HTML file) undergoes `change`
/// after the message was composed, before its data.
fn changed_before_sending(file: &Path, role: &str, change: Change, chunking: bool) {
    let case = format!("{role} {change:?}, chunking {chunking}");
    std::fs::write(file, "a line of text\n".repeat(2000)).unwrap();
    // Slow to say hello: the file changes after composing, before the data.
    let builder = Server::builder().on(Verb::Ehlo, Action::Delay(Duration::from_millis(500)));
    let server = match chunking {
        true => builder.capability("CHUNKING").start(),
        false => builder.start(),
    };
    let flag = match role {
        "attachment" => "-a",
        "body file" => "--body-file",
        _ => "--html",
    };
    let mut run = Run::new(["--timeout", "20", "--to", "b@example.com", flag])
        .arg(file)
        .server(&server);
    if role != "body file" {
        run = run.args(["--body", "see the file"]);
    }
    let changed = file.to_path_buf();
    // Once it has a socket it has composed the message and connects to the server.
    let run = run_meanwhile(run, Running::has_socket, move || change.apply(&changed));
    if matches!(change, Change::Rewritten) && role == "attachment" {
        // An attachment is measured by its size: the same size goes, well-formed.
        assert_eq!(run.code, 0, "{case}: {}", run.stderr);
        server.finish().only_completed();
        return;
    }
    assert_eq!(run.code, change.exit_code(), "{case}: {}", run.stderr);
    let named = format!("{role} {}", file.display());
    assert!(run.stderr.contains(&named), "{case}: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{case}: {}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "{case}: {:?}",
        run.elapsed
    );
    assert_abandoned(&server.finish(), &case);
}

#[test]
fn an_attachment_that_changes_while_it_is_sent_stops_the_send_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // More than the socket buffers hold: smtpsend is still reading the file while the
    // server pauses in the middle of the data.
    let big: Vec<u8> = (0..40u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
        .collect();
    let cases: Vec<_> = [Change::Shrinks, Change::Grows, Change::Vanishes]
        .into_iter()
        .map(|change| {
            let first = dir.path().join(format!("big-{change:?}.bin"));
            let second = dir.path().join(format!("small-{change:?}.txt"));
            std::fs::write(&first, &big).unwrap();
            std::fs::write(&second, "small\n").unwrap();
            thread::spawn(move || changed_while_sending(&first, &second, change))
        })
        .collect();
    for case in cases {
        case.join().unwrap();
    }
}

/// A message with a big attachment `first` and a small one `second`: while the server
/// pauses in the data, the big one shrinks or grows as it is read, or the small one, not
/// opened yet, vanishes.
fn changed_while_sending(first: &Path, second: &Path, change: Change) {
    let server = Server::builder()
        .capabilities(&["PIPELINING", "8BITMIME"])
        .on(Verb::MidData, Action::Delay(Duration::from_secs(2)))
        .start();
    let run = Run::new([
        "--timeout",
        "20",
        "--to",
        "b@example.com",
        "--body",
        "two files",
        "-a",
        path(first),
        "-a",
        path(second),
    ])
    .server(&server);
    let named: PathBuf = match change {
        Change::Vanishes => second.to_path_buf(),
        _ => first.to_path_buf(),
    };
    let changed = named.clone();
    // The big file is being sent: more than 1 MiB of it read, and the server paused.
    let reading = first.to_path_buf();
    let run = run_meanwhile(
        run,
        move |running| running.file_offset(&reading).is_some_and(|at| at > 1 << 20),
        move || change.apply(&changed),
    );
    let case = format!("{change:?}");
    assert_eq!(run.code, change.exit_code(), "{case}: {}", run.stderr);
    let says = format!("attachment {}", named.display());
    assert!(run.stderr.contains(&says), "{case}: {}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "{case}: {:?}",
        run.elapsed
    );
    let record = server.finish();
    assert_abandoned(&record, &case);
    assert!(
        record.transactions()[0].data_wire.len() > 1 << 20,
        "{case}: the file was being sent when it changed"
    );
}
