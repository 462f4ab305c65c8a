//! `--setup` as a newcomer meets it: on a terminal (a pseudo-terminal here), questions
//! answered one by one, the account tested against a server, the configuration file
//! written (0600) and used by the next send; without a terminal, a polite refusal.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use crate::support::*;

/// Runs smtpsend with stdin and stderr on a pseudo-terminal that is its controlling
/// terminal; answers each question when the text before it has appeared. Returns the run
/// and everything the terminal showed.
fn on_terminal(run: Run, answers: &[(&str, &str)]) -> (Output, String) {
    let terminal = Pty::open();
    let running = run
        .stdin_from(Stdio::from(terminal.slave()))
        .stderr(Stdio::from(terminal.slave()))
        .controlling_terminal(terminal.slave_path())
        .spawn();
    let mut reader = terminal.into_master();
    let mut writer = reader.try_clone().unwrap();
    let answers: Vec<(String, String)> = answers
        .iter()
        .map(|(q, a)| (q.to_string(), a.to_string()))
        .collect();
    let typist = std::thread::spawn(move || {
        let mut shown = Vec::new();
        let mut chunk = [0u8; 512];
        let mut from = 0;
        for (question, answer) in answers {
            loop {
                let text = String::from_utf8_lossy(&shown[from..]).to_string();
                if let Some(at) = text.find(&question) {
                    from += at + question.len();
                    break;
                }
                match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => return String::from_utf8_lossy(&shown).to_string(),
                    Ok(n) => shown.extend_from_slice(&chunk[..n]),
                }
            }
            if question.starts_with("Password for") {
                wait_for_echo_off(&writer);
            }
            writer.write_all(answer.as_bytes()).unwrap();
        }
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            shown.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&shown).to_string()
    });
    let out = running.wait();
    (out, typist.join().unwrap())
}

/// Waits until the terminal no longer echoes (the password prompt has switched echo off),
/// so that typing the password cannot race the switch.
fn wait_for_echo_off(master: &std::fs::File) {
    use std::os::fd::AsRawFd;
    for _ in 0..500 {
        // SAFETY: tcgetattr fills the local struct from the terminal's settings.
        let echo = unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            libc::tcgetattr(master.as_raw_fd(), &mut settings) == 0
                && settings.c_lflag & libc::ECHO != 0
        };
        if !echo {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the terminal kept echoing at the password prompt");
}

#[test]
fn setup_asks_tests_and_writes_an_account_the_next_send_uses() {
    let server = Server::builder()
        .auth("PLAIN", "me@corp.test", "s3cret-pässword")
        .start();
    let home = Home::new();
    let address = format!("127.0.0.1:{}", server.port());
    let (out, shown) = on_terminal(
        home.run(["--setup", "me@corp.test"]),
        &[
            ("Server:", &format!("{address}\n")),
            ("Encryption", "none\n"),
            ("Log in as", "\n"),
            ("Where the password comes from", "config\n"),
            ("Password for me@corp.test: ", "s3cret-pässword\n"),
            ("A name for the account [corp]: ", "\n"),
            ("Make it the default account? (Y/n)", "\n"),
        ],
    );
    assert_eq!(out.code, 0, "{shown}");
    assert!(shown.contains("testing account corp (--check)"), "{shown}");
    assert!(out.stdout.contains(": ok ("), "{}", out.stdout);
    assert!(shown.contains("wrote account corp to"), "{shown}");
    assert!(shown.contains("password = (kept, not shown)"), "{shown}");
    assert!(!shown.contains("s3cret"), "the password was shown: {shown}");
    let file = home.config_file();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let config: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(config["default"].as_str(), Some("corp"), "{text}");
    let account = config["accounts"]["corp"].as_table().unwrap();
    assert_eq!(account["server"].as_str(), Some(address.as_str()));
    assert_eq!(account["tls"].as_str(), Some("none"));
    assert_eq!(account["user"].as_str(), Some("me@corp.test"));
    assert_eq!(account["from"].as_str(), Some("me@corp.test"));
    assert_eq!(account["password"].as_str(), Some("s3cret-pässword"));
    let names: Vec<String> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["config.toml"], "no trial file left behind");

    // The next send needs nothing but the message.
    let sent = home
        .run([
            "--to",
            "you@example.org",
            "--subject",
            "hi",
            "--body",
            "hello",
        ])
        .output();
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let record = server.finish();
    assert_eq!(record.connection_count(), 2, "the check, then the send");
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "me@corp.test");
    assert!(
        record
            .connections
            .iter()
            .all(|c| c.authenticated_as.is_some())
    );
}

#[test]
fn setup_adds_to_an_existing_file_and_a_failed_test_saves_nothing() {
    let home = Home::with_config(
        "default = \"old\"\n\n[accounts.old]\nserver = \"relay.example:25\"\n",
        0o600,
    );
    let closed = refused_addr();
    let (out, shown) = on_terminal(
        home.run(["--setup", "me@corp.test"]),
        &[
            ("Server:", &format!("{closed}\n")),
            ("Encryption", "none\n"),
            ("Log in as", "none\n"),
            ("A name for the account [corp]: ", "old\n"),
            ("there is already an account old", ""),
            ("A name for the account [corp]: ", "relay2\n"),
            ("Save the account anyway? (y/N)", "\n"),
        ],
    );
    assert_eq!(out.code, 69, "{shown}");
    assert!(shown.contains("cannot connect to"), "{shown}");
    assert!(shown.contains("nothing was written"), "{shown}");
    assert!(
        !shown.contains("Make it the default"),
        "a default exists: {shown}"
    );
    assert_eq!(
        std::fs::read_to_string(home.config_file()).unwrap(),
        "default = \"old\"\n\n[accounts.old]\nserver = \"relay.example:25\"\n"
    );
}

#[test]
fn setup_knows_a_providers_domain_and_ctrl_d_writes_nothing() {
    let home = Home::new();
    let (out, shown) = on_terminal(
        home.run(["--setup"]),
        &[
            ("Your email address: ", "jane@gmail.com\n"),
            ("How to log in", "\x04"),
        ],
    );
    assert_eq!(out.code, 64, "{shown}");
    assert!(
        shown.contains("gmail.com: the gmail preset (smtp.gmail.com:587, starttls)"),
        "{shown}"
    );
    assert!(
        shown.contains("stopped (end of input); nothing was written"),
        "{shown}"
    );
    assert!(!home.config_file().exists());
}

#[test]
fn setup_without_a_terminal_refuses_politely() {
    let home = Home::new();
    let out = home.run(["--setup", "me@corp.test"]).stdin("x\n").output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: --setup asks its questions on a terminal, and stdin or stderr is not one; \
         write the account into the configuration file yourself (man smtpsend, FILES, has an \
         example)\n"
    );
    assert!(!home.config_file().exists());
}
