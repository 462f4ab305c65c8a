//! The bad-input matrix: input smtpsend must refuse before it connects anywhere. Each case
//! runs with `--server` pointing at a live test server; the case passes when the exit code
//! is the one DESIGN §6 gives, stderr is one line starting `smtpsend: ` that names the
//! problem, and the server saw no connection at all.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::*;

/// One bad input and what must come of it.
struct Case {
    name: &'static str,
    /// Arguments after `--server ADDR`.
    args: Vec<OsString>,
    stdin: Vec<u8>,
    env: Vec<(&'static str, String)>,
    code: i32,
    /// A part of the one-line message.
    says: String,
}

fn case(name: &'static str, args: &[&str], code: i32, says: &str) -> Case {
    Case {
        name,
        args: args.iter().map(OsString::from).collect(),
        stdin: Vec::new(),
        env: Vec::new(),
        code,
        says: says.to_string(),
    }
}

impl Case {
    fn stdin(mut self, stdin: &[u8]) -> Case {
        self.stdin = stdin.to_vec();
        self
    }

    fn env(mut self, name: &'static str, value: &str) -> Case {
        self.env.push((name, value.to_string()));
        self
    }

    /// Replaces argument `index` with raw bytes (not UTF-8).
    fn raw_arg(mut self, index: usize, bytes: &[u8]) -> Case {
        self.args[index] = OsString::from_vec(bytes.to_vec());
        self
    }
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name)
        .to_str()
        .expect("UTF-8 temp path")
        .to_string()
}

/// Runs each case against its own live server and checks it.
fn check(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in &cases {
        let server = Server::start();
        let mut run = Run::new(&case.args).stdin(&case.stdin);
        // Cases about --server give their own (unusable) one.
        if !case.args.iter().any(|arg| arg == "--server") {
            run = run.server(&server);
        }
        for (name, value) in &case.env {
            run = run.env(name, value);
        }
        let out = run.output();
        let connections = server.finish().connection_count();
        let one_line = out.stderr.starts_with("smtpsend: ") && out.stderr.lines().count() == 1;
        if out.code != case.code
            || !one_line
            || !out.stderr.contains(&case.says)
            || connections != 0
        {
            failures.push(format!(
                "{}: exit {} (want {}), {connections} connections, stderr {:?} (want one line with {:?})",
                case.name, out.code, case.code, out.stderr, case.says
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

const LONG: usize = 1200;

#[test]
fn malformed_addresses_are_usage_errors() {
    let body = ["--body", "x"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [extra, &body[..]].concat() };
    check(vec![
        case(
            "--to",
            &with(&["--to", "not[an]address"]),
            64,
            "invalid address \"not[an]address\": the user name \"not[an]address\" has characters an address can only have in quotes: []",
        ),
        case(
            "--cc",
            &with(&["--to", "b@example.com", "--cc", "a@"]),
            64,
            "invalid address \"a@\"",
        ),
        case(
            "--bcc",
            &with(&["--to", "b@example.com", "--bcc", "@example.com"]),
            64,
            "invalid address \"@example.com\"",
        ),
        case(
            "--reply-to",
            &with(&["--to", "b@example.com", "--reply-to", "a b@example.com"]),
            64,
            "invalid address \"a b@example.com\"",
        ),
        case(
            "--from",
            &with(&["--to", "b@example.com", "--from", "<a@example.com"]),
            64,
            "a < without its >",
        ),
        case(
            "--envelope-from",
            &with(&["--to", "b@example.com", "--envelope-from", "x@"]),
            64,
            "invalid address \"x@\"",
        ),
        case(
            "-f (sendmail form)",
            &with(&["--to", "b@example.com", "-fnobody@"]),
            64,
            "invalid address \"nobody@\"",
        ),
        case(
            "recipient argument",
            &with(&["nobody@"]),
            64,
            "invalid address \"nobody@\": there is nothing after the @ (the domain is missing)",
        ),
        case(
            "empty --to",
            &with(&["--to", ""]),
            64,
            "the address is empty",
        ),
        case(
            "no recipient at all",
            &with(&["--subject", "hello"]),
            64,
            "no recipients",
        ),
        case(
            "-t, a malformed To field",
            &["-t"],
            65,
            "To field: invalid address",
        )
        .stdin(b"To: someone@\nSubject: x\n\nhi\n"),
    ]);
}

#[test]
fn line_breaks_in_header_bearing_flags_are_refused() {
    let ok = ["--to", "b@example.com", "--body", "x"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&ok[..], extra].concat() };
    check(vec![
        case(
            "--subject CRLF",
            &with(&["--subject", "hi\r\nBcc: x@example.com"]),
            65,
            "--subject contains a line break",
        ),
        case(
            "--header LF",
            &with(&["--header", "X-A: b\nBcc: x@example.com"]),
            65,
            "--header contains a line break",
        ),
        case(
            "-H CR",
            &with(&["-H", "X-A: b\rc"]),
            65,
            "--header contains a line break",
        ),
        case(
            "--from CRLF",
            &with(&["--from", "a@example.com\r\nBcc: x@example.com"]),
            65,
            "contains a line break",
        ),
        case(
            "--from-name LF, no --from",
            &with(&["--from-name", "Jo\nBcc: x@example.com"]),
            65,
            "--from-name contains a line break",
        ),
        case(
            "-F LF (sendmail form)",
            &with(&["-F", "Jo\nBcc: x@example.com"]),
            65,
            "--from-name contains a line break",
        ),
        case(
            "--to CRLF",
            &[
                "--to",
                "b@example.com\r\nRCPT TO:<x@example.com>",
                "--body",
                "x",
            ],
            65,
            "contains a line break",
        ),
        case(
            "--cc LF",
            &with(&["--cc", "c@example.com\nBcc: x@example.com"]),
            65,
            "contains a line break",
        ),
        case(
            "--bcc CR",
            &with(&["--bcc", "c@example.com\rRCPT TO:<x@example.com>"]),
            65,
            "contains a line break",
        ),
        case(
            "--reply-to LF",
            &with(&["--reply-to", "r@example.com\nBcc: x@example.com"]),
            65,
            "contains a line break",
        ),
        case(
            "--envelope-from CRLF",
            &with(&[
                "--envelope-from",
                "a@example.com>\r\nRCPT TO:<x@example.com",
            ]),
            65,
            "contains a line break",
        ),
        case(
            "--ehlo-name CRLF",
            &with(&["--ehlo-name", "client\r\nMAIL FROM:<x@example.com>"]),
            65,
            "--ehlo-name contains a line break",
        ),
    ]);
}

#[test]
fn complete_messages_that_cannot_go_out_as_they_are() {
    let long_subject = format!("To: b@example.com\nSubject: {}\n\nhi\n", "a".repeat(LONG));
    let long_folded = format!(
        "To: b@example.com\nX-Long: a\n {}\n\nhi\n",
        "b".repeat(LONG)
    );
    check(vec![
        case("-t, empty stdin", &["-t"], 65, "no message on stdin"),
        case("-t, blank stdin", &["-t"], 65, "no message on stdin").stdin(b" \n\n\t\n"),
        case("-t, no recipient in the header", &["-t"], 65, "no recipients")
            .stdin(b"Subject: hello\n\nhi\n"),
        case("--raw, empty stdin", &["--raw", "b@example.com"], 65, "no message on stdin"),
        case(
            "recipient arguments, empty stdin",
            &["b@example.com"],
            65,
            "no message on stdin",
        ),
        case(
            "-t, a header line over 998 octets",
            &["-t"],
            65,
            "line 2 of the message header (Subject field) is 1209 octets long; RFC 5322 allows at most 998",
        )
        .stdin(long_subject.as_bytes()),
        case(
            "--raw, a continuation line over 998 octets",
            &["--raw", "b@example.com"],
            65,
            "line 3 of the message header (X-Long field) is 1201 octets long",
        )
        .stdin(long_folded.as_bytes()),
        case(
            "-t, a NUL byte in a header value",
            &["-t"],
            65,
            "line 2 of the message header (Subject field) contains a NUL byte",
        )
        .stdin(b"To: b@example.com\nSubject: a\0b\n\nhi\n"),
        case(
            "-B 7BIT with 8-bit data",
            &["-B", "7BIT", "b@example.com"],
            65,
            "-B 7BIT",
        )
        .stdin("Subject: x\n\nGrüße\n".as_bytes()),
    ]);
}

#[test]
fn arguments_that_are_not_utf8() {
    let ok = ["--to", "b@example.com", "--body", "x"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&ok[..], extra].concat() };
    check(vec![
        case("--subject", &with(&["--subject", "?"]), 64, "invalid UTF-8")
            .raw_arg(5, b"Gr\xfc\xdfe"),
        case("--to", &["--to", "?", "--body", "x"], 64, "invalid UTF-8")
            .raw_arg(1, b"b\xff@example.com"),
        case("recipient argument", &["?"], 64, "invalid UTF-8").raw_arg(0, b"b\xff@example.com"),
        case("--header", &with(&["--header", "?"]), 64, "invalid UTF-8")
            .raw_arg(5, b"X-A: \xc3\x28"),
        case(
            "-F (sendmail form)",
            &with(&["-F", "?"]),
            64,
            "invalid UTF-8",
        )
        .raw_arg(5, b"J\xf6rg"),
        // A file name need not be UTF-8: it is looked up as given (and here missing).
        case(
            "-a, a missing file",
            &with(&["-a", "?"]),
            66,
            "cannot read attachment",
        )
        .raw_arg(5, b"/nonexistent/\xff.pdf"),
    ]);
}

#[test]
fn files_that_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let empty = path(dir.path(), "empty");
    std::fs::create_dir(&empty).unwrap();
    let only_subdirs = path(dir.path(), "only-subdirs");
    std::fs::create_dir_all(format!("{only_subdirs}/sub")).unwrap();
    let file = path(dir.path(), "file.txt");
    std::fs::write(&file, "text").unwrap();
    let under_file = format!("{file}/inside.txt");
    let socket = path(dir.path(), "socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let missing = path(dir.path(), "missing.pdf");
    let ok = ["--to", "b@example.com", "--body", "x"];
    let attach = |target: &str| -> Vec<String> {
        ok.iter()
            .map(|s| s.to_string())
            .chain(["-a".to_string(), target.to_string()])
            .collect()
    };
    let as_case = |name: &'static str, args: Vec<String>, code: i32, says: &str| -> Case {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        case(name, &args, code, says)
    };
    let mut cases = vec![
        as_case("-a missing", attach(&missing), 66, "missing.pdf"),
        as_case(
            "-a empty directory",
            attach(&empty),
            66,
            "has no regular files",
        ),
        as_case(
            "-a directory with only subdirectories",
            attach(&only_subdirs),
            66,
            "has no regular files",
        ),
        as_case("-a a unix socket", attach(&socket), 66, "socket"),
        as_case(
            "-a below a regular file",
            attach(&under_file),
            66,
            "Not a directory",
        ),
        as_case(
            "--body-file missing",
            vec![
                "--to".into(),
                "b@example.com".into(),
                "--body-file".into(),
                missing.clone(),
            ],
            66,
            "cannot read body file",
        ),
        as_case(
            "--body-file a directory",
            vec![
                "--to".into(),
                "b@example.com".into(),
                "--body-file".into(),
                empty.clone(),
            ],
            66,
            "Is a directory",
        ),
        as_case(
            "--html missing",
            [&ok[..], &["--html", missing.as_str()]]
                .concat()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            66,
            "cannot read HTML file",
        ),
    ];
    // Permission bits do not stop root, so this case only means something for other users.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let locked = path(dir.path(), "locked.txt");
        std::fs::write(&locked, "secret").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        cases.push(as_case(
            "-a unreadable",
            attach(&locked),
            66,
            "Permission denied",
        ));
    }
    check(cases);
}

#[test]
fn conflicting_flags_are_usage_errors() {
    check(vec![
        case(
            "--raw with --subject",
            &["--raw", "--subject", "x", "b@example.com"],
            64,
            "cannot be used with",
        ),
        case(
            "-t with --to",
            &["-t", "--to", "b@example.com"],
            64,
            "cannot be used with",
        ),
        case(
            "--body with --body-file",
            &[
                "--to",
                "b@example.com",
                "--body",
                "x",
                "--body-file",
                "x.txt",
            ],
            64,
            "cannot be used with",
        ),
        case(
            "--bulk with -t",
            &["-t", "--bulk", "x.eml"],
            64,
            "cannot be used with",
        ),
        case(
            "-bs (SMTP on stdin)",
            &["-bs"],
            64,
            "-bs (SMTP on stdin and stdout) is not supported",
        ),
        case(
            "--header Bcc",
            &[
                "--to",
                "b@example.com",
                "--body",
                "x",
                "-H",
                "Bcc: x@example.com",
            ],
            64,
            "--header cannot set Bcc",
        ),
        case(
            "--header without a colon",
            &["--to", "b@example.com", "--body", "x", "-H", "NoColon"],
            64,
            "is not of the form 'Name: value'",
        ),
        case(
            "unknown option",
            &["--to", "b@example.com", "--body", "x", "--frobnicate"],
            64,
            "--frobnicate",
        ),
    ]);
}

#[test]
fn bad_configuration_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| -> String {
        let file = path(dir.path(), name);
        std::fs::write(&file, text).unwrap();
        file
    };
    let good = write("good.toml", "[accounts.work]\nfrom = \"a@example.com\"\n");
    let broken = write("broken.toml", "[accounts.work\nfrom = \"a@example.com\"\n");
    let unknown_key = write("unknown.toml", "[accounts.work]\nsever = \"mx\"\n");
    let bad_value = write("bad.toml", "[accounts.work]\ntls = \"sometimes\"\n");
    let nul = write(
        "nul.toml",
        "[accounts.work]\nfrom = \"a\\u0000@example.com\"\n",
    );
    let missing = path(dir.path(), "missing.toml");
    let send = ["--to", "b@example.com", "--body", "x"];
    let with = |extra: &[&str]| -> Vec<String> {
        [&send[..], extra]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let as_case = |name: &'static str, args: Vec<String>, says: &str| -> Case {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        case(name, &args, 78, says)
    };
    check(vec![
        as_case(
            "unknown account",
            with(&["--config", &good, "--account", "home"]),
            "home",
        ),
        as_case(
            "unknown account from SMTPSEND_ACCOUNT",
            with(&["--config", &good]),
            "SMTPSEND_ACCOUNT",
        )
        .env("SMTPSEND_ACCOUNT", "home"),
        as_case(
            "--account without a configuration file",
            with(&["--account", "work"]),
            "no configuration file",
        ),
        as_case(
            "broken TOML",
            with(&["--config", &broken]),
            "broken.toml line 1",
        ),
        as_case(
            "unknown key",
            with(&["--config", &unknown_key]),
            "line 2, key sever",
        ),
        as_case(
            "bad value",
            with(&["--config", &bad_value]),
            "line 2, key tls",
        ),
        as_case(
            "NUL byte in a value",
            with(&["--config", &nul, "--account", "work"]),
            "key from",
        ),
        as_case(
            "--config names a missing file",
            with(&["--config", &missing]),
            "missing.toml",
        ),
    ]);
}

#[test]
fn bad_server_timeout_and_option_values_are_usage_errors() {
    let send = ["--to", "b@example.com", "--body", "x"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&send[..], extra].concat() };
    check(vec![
        case(
            "--server port out of range",
            &with(&["--server", "127.0.0.1:99999"]),
            64,
            "the port must be a number from 1 to 65535",
        ),
        case(
            "--server unknown scheme",
            &with(&["--server", "gopher://127.0.0.1"]),
            64,
            "unsupported scheme gopher://",
        ),
        case(
            "--server empty",
            &with(&["--server", ""]),
            64,
            "missing or invalid host name",
        ),
        case(
            "--timeout 0",
            &with(&["--timeout", "0"]),
            64,
            "--timeout 0: give a number of seconds above 0",
        ),
        case(
            "--timeout -1",
            &with(&["--timeout", "-1"]),
            64,
            "--timeout -1: give a number of seconds above 0",
        ),
        case(
            "--timeout inf",
            &with(&["--timeout", "inf"]),
            64,
            "(at most 86400)",
        ),
        case(
            "--timeout abc",
            &with(&["--timeout", "abc"]),
            64,
            "invalid value 'abc' for '--timeout <SECONDS>'",
        ),
        case(
            "SMTPSEND_TIMEOUT=0",
            &send,
            64,
            "SMTPSEND_TIMEOUT=0: give a number",
        )
        .env("SMTPSEND_TIMEOUT", "0"),
        case(
            "SMTPSEND_TIMEOUT=abc",
            &send,
            64,
            "invalid value 'abc' in SMTPSEND_TIMEOUT (the variable for --timeout <SECONDS>)",
        )
        .env("SMTPSEND_TIMEOUT", "abc"),
        case(
            "SMTPSEND_RETRIES=1000",
            &send,
            64,
            "SMTPSEND_RETRIES=1000: give at most 100",
        )
        .env("SMTPSEND_RETRIES", "1000"),
        case(
            "--retries 1000 (the flag, not the variable)",
            &with(&["--retries", "1000"]),
            64,
            "--retries 1000: give at most 100",
        )
        .env("SMTPSEND_RETRIES", "1"),
        case(
            "--tls bogus",
            &with(&["--tls", "bogus"]),
            64,
            "invalid value 'bogus' for '--tls",
        ),
        case(
            "-N bogus",
            &with(&["-N", "BOGUS"]),
            64,
            "give NEVER, or a comma list",
        ),
    ]);
}

/// A clap error is one line, but a complete one: the conflicting option, the missing one,
/// the possible values and a similar option's name are on it.
#[test]
fn command_line_errors_are_one_complete_line() {
    let send = ["--to", "b@example.com", "--body", "x"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&send[..], extra].concat() };
    let cases = [
        (
            vec!["--bulk", "x", "--subject", "y"],
            "smtpsend: the argument '--bulk <PATH>' cannot be used with '--subject <TEXT>' (see --help)",
        ),
        (
            with(&["--tls-cert", "cert.pem"]),
            "smtpsend: --tls-key <PEM> is required with --tls-cert (see --help)",
        ),
        (
            with(&["--tls", "bogus"]),
            "smtpsend: invalid value 'bogus' for '--tls <MODE>' (possible values: auto, starttls, implicit, none) (see --help)",
        ),
        (
            with(&["--body-fil", "x"]),
            "smtpsend: unexpected argument '--body-fil' (did you mean '--body-file'?) (see --help)",
        ),
        (
            vec!["--body", "a", "--body", "b"],
            "smtpsend: the argument '--body <TEXT>' cannot be used multiple times (see --help)",
        ),
    ];
    let mut wrong = Vec::new();
    for (args, want) in cases {
        let out = Run::new(&args).output();
        if out.code != 64 || out.stderr != format!("{want}\n") {
            wrong.push(format!(
                "{args:?}: exit {}, stderr {:?}",
                out.code, out.stderr
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    let out = Run::new(send).env("SMTPSEND_TLS", "bogus").output();
    assert_eq!(out.code, 64);
    assert_eq!(
        out.stderr,
        "smtpsend: invalid value 'bogus' in SMTPSEND_TLS (the variable for --tls <MODE>) \
         (possible values: auto, starttls, implicit, none) (see --help)\n"
    );
}

/// `smtpsend … < somedir`: stdin is a directory, said as such (not "os error 21").
#[test]
fn stdin_that_is_a_directory_is_named_as_such() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    for extra in [
        &["--to", "b@example.com"][..],
        &["b@example.com"][..],
        &["-t"][..],
    ] {
        let out = Run::new(extra)
            .server(&server)
            .stdin_from(std::fs::File::open(dir.path()).unwrap())
            .output();
        assert_eq!(out.code, 66, "{extra:?}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            "smtpsend: stdin is a directory: redirect a file (< message.eml) or pipe the text in\n",
            "{extra:?}"
        );
    }
    assert_eq!(server.finish().connection_count(), 0);
}

#[test]
fn options_of_other_mail_tools_get_the_smtpsend_way_never_a_different_option() {
    for (args, says) in [
        (
            &["--port", "587"][..],
            "'--port': the port goes with the server: --server HOST:PORT",
        ),
        (
            &["--host", "mx"],
            "'--host': the server is --server HOST[:PORT]",
        ),
        (
            &["-C", "f"],
            "'-C': the configuration file is --config PATH",
        ),
        (
            &["-P"],
            "'-P': --show-config prints the settings a send would use",
        ),
        (&["--serverinfo"], "'--serverinfo': --server-info"),
        (
            &["--auth-user", "me"],
            "'--auth-user': log in as a user with --user NAME",
        ),
        (
            &["--mail-from", "a@example.com"],
            "'--mail-from': the envelope sender alone is --envelope-from ADDR",
        ),
        (
            &["--mail-rcpt", "b@example.com"],
            "'--mail-rcpt': envelope recipients are arguments",
        ),
        (&["-S", "smtp=x"], "'-S': mailx's -S sets a variable"),
        (
            &["--passwordeval", "pass x"],
            "'--passwordeval': --password-command COMMAND",
        ),
    ] {
        let out = Run::new(args)
            .args(["--dry-run", "--to", "b@example.com", "--body", "x"])
            .output();
        assert_eq!(out.code, 64, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .starts_with(&format!("smtpsend: unexpected argument {says}")),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(!out.stderr.contains("--partial"), "{}", out.stderr);
        assert!(!out.stderr.contains("use '--"), "{}", out.stderr);
    }
}
