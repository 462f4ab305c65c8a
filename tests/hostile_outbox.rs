//! The outbox against a hostile or damaged file system, as a user sees it: a queue directory
//! that is a symbolic link, another user's or writable by others is refused (78) with
//! nothing read or written there; files that are not the outbox's are never deleted or
//! followed; a message or meta file changed after it was queued is never sent (65), stays
//! as it is, and is named by `-q` and `--list-queue`; `--drop-queue` removes an entry in
//! any state.
// The report of a test run goes to the test output; the program's own rule (all output
// through its scrubber) is for the program.
#![allow(clippy::disallowed_macros)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::support::*;

/// A message from a@example.com to b@example.com; its subject and more flags follow.
const MESSAGE: [&str; 6] = [
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--body",
    "hello",
];

/// Queues one message for `server` (which must refuse it for now) and returns its id.
fn queue_for(home: &Home, server: &(impl Target + ?Sized), subject: &str) -> String {
    let out = home
        .run(MESSAGE)
        .args(["--subject", subject, "--queue", "on-failure"])
        .server(server)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    queued_id(&out.stderr)
}

/// A server that refuses the first `n` messages for now (451 to RCPT), then takes all.
fn server_refusing_first(n: usize) -> Server {
    Server::builder()
        .on_first(n, Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .start()
}

/// Everything about a directory tree a user would notice: names, types, modes, owners,
/// contents, link targets.
fn snapshot(dir: &Path) -> Vec<String> {
    let mut seen = Vec::new();
    let top = fs::symlink_metadata(dir).unwrap();
    seen.push(format!(
        ". mode {:o} uid {}",
        top.mode() & 0o7777,
        top.uid()
    ));
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for name in names {
        if name == ".flush.lock" {
            // The outbox's own, made by the first flush.
            continue;
        }
        let path = dir.join(&name);
        let metadata = fs::symlink_metadata(&path).unwrap();
        let what = if metadata.file_type().is_symlink() {
            format!("link to {}", fs::read_link(&path).unwrap().display())
        } else if metadata.is_dir() {
            format!("dir [{}]", snapshot(&path).join("; "))
        } else if metadata.is_file() {
            format!(
                "file {:?}",
                String::from_utf8_lossy(&fs::read(&path).unwrap())
            )
        } else {
            "special".to_string()
        };
        seen.push(format!(
            "{} mode {:o} uid {} {what}",
            name.to_string_lossy(),
            metadata.mode() & 0o7777,
            metadata.uid()
        ));
    }
    seen
}

/// A directory of the user's own files, some with names the outbox might like.
fn users_directory(home: &Home, name: &str) -> PathBuf {
    let dir = home.join(name);
    fs::create_dir_all(&dir).unwrap();
    for (file, text) in [
        ("notes.eml", "my notes"),
        ("x.json", "{\"mine\": true}"),
        ("0640a1b2c3d4e-0badf0.eml", "looks like an entry"),
        ("0640a1b2c3d4e-0badf0.eml.tmp", "looks like a leftover"),
        ("other.txt", "other"),
    ] {
        fs::write(dir.join(file), text).unwrap();
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Asserts that every outbox command and both queueing modes refuse the outbox with a
/// one-line error (78, or the temporary failure's code when the outbox was only needed to
/// keep a message) saying `why`, and that `untouched` is exactly as it was.
fn assert_outbox_refused(home: &Home, why: &str, untouched: &Path) {
    let before = snapshot(untouched);
    let unused = Server::start();
    let healthy = unused.addr();
    let out = home
        .run(MESSAGE)
        .args(["--subject", "always", "--queue", "always"])
        .server(&healthy)
        .output();
    assert_eq!(out.code, 78, "--queue always: {}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(why), "{}", out.stderr);
    assert!(
        out.stderr.contains("the message was not sent"),
        "{}",
        out.stderr
    );
    assert_eq!(unused.finish().connection_count(), 0, "nothing was sent");

    // The outbox is needed only after a temporary failure: that failure's exit code, and
    // the message says the outbox could not keep the message.
    let refusing = Server::builder()
        .on(Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .start();
    let garbling = Server::builder()
        .on(
            Verb::Rcpt,
            Action::Raw(b"HTTP/1.1 400 Bad Request\r\n".to_vec()),
        )
        .start();
    for (server, code) in [(&refusing, 75), (&garbling, 76)] {
        let out = home
            .run(MESSAGE)
            .args(["--subject", "later", "--queue", "on-failure"])
            .server(server)
            .output();
        assert_eq!(out.code, code, "--queue on-failure: {}", out.stderr);
        assert!(
            out.stderr
                .contains("and the outbox could not keep the message: "),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(why), "{}", out.stderr);
        assert!(!out.stderr.contains("queued as"), "{}", out.stderr);
    }
    for args in [
        &["-q"][..],
        &["-q", "--json"],
        &["--list-queue"],
        &["-bp"],
        &["--drop-queue", "0640a1b2c3d4e-0badf0"],
    ] {
        let out = home.run(args).output();
        assert_eq!(out.code, 78, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
    }
    assert_eq!(snapshot(untouched), before, "{why}: changed");
}

#[test]
fn a_queue_directory_that_is_a_link_is_refused_and_its_target_left_alone() {
    let home = Home::new();
    let mail = users_directory(&home, "mail");
    fs::create_dir_all(home.join("state/smtpsend")).unwrap();
    symlink(&mail, home.queue_dir()).unwrap();
    let why = format!(
        "the outbox directory {} is a symbolic link (to {}), which smtpsend does not follow",
        home.queue_dir().display(),
        mail.display()
    );
    assert_outbox_refused(&home, &why, &mail);
    assert_eq!(fs::metadata(&mail).unwrap().mode() & 0o777, 0o755);
}

#[test]
fn a_smtpsend_directory_that_is_a_link_is_refused() {
    let home = Home::new();
    let elsewhere = home.join("elsewhere");
    fs::create_dir_all(elsewhere.join("queue")).unwrap();
    fs::set_permissions(elsewhere.join("queue"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(elsewhere.join("queue/notes.eml"), "mine").unwrap();
    fs::write(elsewhere.join("queue/0640a1b2c3d4e-0badf0.eml"), "mine too").unwrap();
    fs::create_dir_all(home.join("state")).unwrap();
    symlink(&elsewhere, home.join("state/smtpsend")).unwrap();
    let why = format!(
        "the outbox directory {} is a symbolic link",
        home.join("state/smtpsend").display()
    );
    assert_outbox_refused(&home, &why, &elsewhere);
}

#[test]
fn a_queue_directory_that_is_a_file_is_refused() {
    let home = Home::new();
    fs::create_dir_all(home.join("state/smtpsend")).unwrap();
    fs::write(home.queue_dir(), "not a directory").unwrap();
    let why = format!(
        "the outbox directory {} is not a directory",
        home.queue_dir().display()
    );
    assert_outbox_refused(&home, &why, &home.join("state/smtpsend"));
}

#[test]
fn directories_others_can_write_are_refused_and_keep_their_mode() {
    for (dir, mode) in [
        ("state/smtpsend/queue", 0o770),
        ("state/smtpsend/queue", 0o777),
        ("state/smtpsend/queue", 0o702),
        ("state/smtpsend/queue", 0o1777),
        ("state/smtpsend", 0o777),
        ("state/smtpsend", 0o720),
    ] {
        let home = Home::new();
        fs::create_dir_all(home.queue_dir()).unwrap();
        fs::write(home.queue_file("notes.eml"), "mine").unwrap();
        fs::set_permissions(
            home.join("state/smtpsend"),
            fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        fs::set_permissions(home.queue_dir(), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(home.join(dir), fs::Permissions::from_mode(mode)).unwrap();
        let why = format!(
            "the outbox directory {} can be written by group or others (mode {mode:04o}); make \
             it private with chmod 700 {}",
            home.join(dir).display(),
            home.join(dir).display()
        );
        assert_outbox_refused(&home, &why, &home.join("state/smtpsend"));
        let now = fs::metadata(home.join(dir)).unwrap().mode() & 0o7777;
        assert_eq!(now, mode, "{dir}");
    }
}

#[test]
fn directories_of_another_user_are_refused() {
    if !is_root() {
        eprintln!("skipped: giving a directory to another user needs root");
        return;
    }
    for dir in ["state/smtpsend/queue", "state/smtpsend"] {
        let home = Home::new();
        fs::create_dir_all(home.queue_dir()).unwrap();
        fs::write(home.queue_file("notes.eml"), "theirs").unwrap();
        for own in ["state/smtpsend", "state/smtpsend/queue"] {
            fs::set_permissions(home.join(own), fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::os::unix::fs::chown(home.join(dir), Some(65534), Some(65534)).unwrap();
        let why = format!(
            "the outbox directory {} belongs to uid 65534, not to you (uid 0)",
            home.join(dir).display()
        );
        assert_outbox_refused(&home, &why, &home.join("state/smtpsend"));
        assert_eq!(fs::metadata(home.join(dir)).unwrap().uid(), 65534);
    }
}

#[test]
fn a_flush_never_deletes_or_follows_what_is_not_the_outboxs() {
    let home = Home::new();
    let server = server_refusing_first(1);
    let id = queue_for(&home, &server, "real");
    let notes = home.join("notes.txt");
    fs::write(&notes, "the user's notes").unwrap();
    let foreign = [
        "notes.eml",
        "1234.eml",
        "abc-def.json",
        "abc-def.eml.tmp",
        "0640A1B2C3D4E-0BADF0.eml",
        "0640a1b2c3d4e-0badf0.eml.bak",
        "0640a1b2c3d4e-0badf0.eml.tmp~",
    ];
    for name in foreign {
        fs::write(home.queue_file(name), format!("foreign {name}")).unwrap();
    }
    // Links, a FIFO and a directory under names the outbox uses, belonging to no entry.
    symlink(&notes, home.queue_file("0640a1b2c3d4e-0badf1.eml")).unwrap();
    symlink(&notes, home.queue_file("0640a1b2c3d4e-0badf2.eml.tmp")).unwrap();
    symlink(&notes, home.queue_file("0640a1b2c3d4e-0badf3.json.tmp")).unwrap();
    mkfifo(&home.queue_file("0640a1b2c3d4e-0badf4.eml"));
    fs::create_dir(home.queue_file("0640a1b2c3d4e-0badf5.eml.tmp")).unwrap();
    // A real leftover of a killed write: regular, the outbox's name, unlocked. Removed.
    fs::write(
        home.queue_file("0640a1b2c3d4e-0badf6.eml.tmp"),
        "half a message",
    )
    .unwrap();
    let before: Vec<String> = snapshot(&home.queue_dir())
        .into_iter()
        .filter(|line| !line.starts_with(&id) && !line.starts_with("0640a1b2c3d4e-0badf6"))
        .collect();

    let listed = home.run(["--list-queue"]).output();
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let also = listed
        .stdout
        .lines()
        .find(|line| line.contains("also holds files that are not the outbox's, left alone: "))
        .unwrap_or_else(|| panic!("{}", listed.stdout));
    for name in foreign {
        assert!(also.contains(name), "{name}: {also}");
    }
    for name in ["0640a1b2c3d4e-0badf1.eml", "0640a1b2c3d4e-0badf4.eml"] {
        assert!(also.contains(name), "{name}: {also}");
    }
    assert!(!also.contains(&id), "{also}");

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(snapshot(&home.queue_dir()), before);
    assert_eq!(fs::read(&notes).unwrap(), b"the user's notes");
    let record = server.finish();
    assert!(
        record
            .only_completed()
            .message_text()
            .contains("Subject: real")
    );
}

#[test]
fn a_message_file_replaced_by_a_link_is_not_followed_nor_sent() {
    let home = Home::new();
    let server = server_refusing_first(1);
    let id = queue_for(&home, &server, "linked");
    // The user's file has the very bytes that were queued: following the link would pass
    // every check of size and hash.
    let secret = home.join("secret.eml");
    fs::rename(home.queue_file(&format!("{id}.eml")), &secret).unwrap();
    symlink(&secret, home.queue_file(&format!("{id}.eml"))).unwrap();
    let before = snapshot(&home.queue_dir());

    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().next().unwrap(),
        format!(
            "smtpsend: {id}: not sent, kept in the outbox as it is (drop it with --drop-queue \
             {id}): damaged entry: {id}.eml is a symbolic link, which the outbox never makes; \
             it was not followed"
        )
    );
    assert_eq!(snapshot(&home.queue_dir()), before);
    let listed = home.run(["--list-queue"]).output().stdout;
    assert!(
        listed.contains(&format!("    damaged entry: {id}.eml is a symbolic link")),
        "{listed}"
    );
    assert!(listed.contains("1 message in "), "{listed}");
    assert!(listed.contains("(1 damaged)"), "{listed}");

    let out = home.run(["--drop-queue", &id]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
    assert!(fs::symlink_metadata(&secret).unwrap().is_file());
    let record = server.finish();
    assert_eq!(record.connection_count(), 1, "only the first try connected");
    assert!(record.completed().is_empty());
}

#[test]
fn a_meta_file_replaced_by_a_link_is_not_followed() {
    let home = Home::new();
    let server = server_refusing_first(1);
    let id = queue_for(&home, &server, "linked meta");
    let copy = home.join("x.json");
    fs::rename(home.queue_file(&format!("{id}.json")), &copy).unwrap();
    symlink(&copy, home.queue_file(&format!("{id}.json"))).unwrap();
    let kept = fs::read(&copy).unwrap();

    let out = home.run(["-q", "--json"]).output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report[0]["id"], id.as_str());
    assert_eq!(report[0]["status"], "damaged");
    assert_eq!(report[0]["exit_code"], 65);
    assert!(
        report[0]["error"]
            .as_str()
            .unwrap()
            .contains(&format!("{id}.json is a symbolic link")),
        "{report}"
    );
    let listed = home.run(["--list-queue"]).output().stdout;
    assert!(
        listed.contains(&format!(
            "{id}  damaged entry: {id}.json is a symbolic link"
        )),
        "{listed}"
    );
    let out = home.run(["--drop-queue", &id]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.files().is_empty(), "{:?}", home.files());
    assert_eq!(fs::read(&copy).unwrap(), kept);
    assert!(server.finish().completed().is_empty());
}

#[test]
fn a_message_cut_short_added_to_or_edited_is_not_sent_and_is_named() {
    type Change = fn(&[u8]) -> Vec<u8>;
    let cases: [(&str, Change, &str); 4] = [
        ("truncated", |b| b[..b.len() / 2].to_vec(), "cut short"),
        ("emptied", |_| Vec::new(), "cut short"),
        (
            "extended",
            |b| [b, b"\r\nBcc: evil@example.com\r\n"].concat(),
            "added to",
        ),
        (
            "edited",
            |b| {
                let mut edited = b.to_vec();
                let at = edited.len() - 1;
                edited[at] ^= 0x20;
                edited
            },
            "its SHA-256 differs from the one recorded",
        ),
    ];
    for (case, change, says) in cases {
        let home = Home::new();
        let server = server_refusing_first(2);
        let good = queue_for(&home, &server, "good");
        let id = queue_for(&home, &server, "bad");
        let eml = home.queue_file(&format!("{id}.eml"));
        let original = fs::read(&eml).unwrap();
        fs::write(&eml, change(&original)).unwrap();
        let json = fs::read(home.queue_file(&format!("{id}.json"))).unwrap();
        let changed = fs::read(&eml).unwrap();

        let out = home.run(["-q"]).output();
        assert_eq!(out.code, 65, "{case}: {}", out.stderr);
        let line = out
            .stderr
            .lines()
            .find(|line| line.starts_with(&format!("smtpsend: {id}: ")))
            .unwrap_or_else(|| panic!("{case}: {}", out.stderr));
        assert!(line.contains("damaged entry: "), "{case}: {line}");
        assert!(line.contains(&format!("{id}.eml")), "{case}: {line}");
        assert!(line.contains(says), "{case}: {line}");
        assert!(!out.stderr.contains(&good), "{case}: {}", out.stderr);
        // Kept exactly as it was: not rewritten, no attempt counted.
        assert_eq!(home.files(), [format!("{id}.eml"), format!("{id}.json")]);
        assert_eq!(fs::read(&eml).unwrap(), changed, "{case}");
        assert_eq!(
            fs::read(home.queue_file(&format!("{id}.json"))).unwrap(),
            json
        );

        let listed = home.run(["--list-queue"]).output();
        assert_eq!(listed.code, 0, "{}", listed.stderr);
        assert!(
            listed.stdout.contains(&format!("{id}  ")) && listed.stdout.contains(says),
            "{case}: {}",
            listed.stdout
        );
        assert!(
            listed.stdout.contains("1 message in ") && listed.stdout.contains("(1 damaged)"),
            "{case}: {}",
            listed.stdout
        );
        let listed: serde_json::Value =
            serde_json::from_str(&home.run(["--list-queue", "--json"]).output().stdout).unwrap();
        assert_eq!(listed[0]["status"], "damaged", "{case}");
        assert_eq!(listed[0]["exit_code"], 65, "{case}");
        assert_eq!(listed[0]["envelope"]["recipients"][0], "b@example.com");

        let again = home.run(["-q", "--json"]).output();
        assert_eq!(again.code, 65, "{case}: {}", again.stderr);
        let report: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
        assert_eq!(report[0]["status"], "damaged", "{case}");

        let record = server.finish();
        let subjects: Vec<String> = record
            .completed()
            .iter()
            .map(|t| t.message_text())
            .collect();
        assert_eq!(subjects.len(), 1, "{case}: only the good one was sent");
        assert!(subjects[0].contains("Subject: good"), "{case}");
    }
}

#[test]
fn a_message_cut_short_with_its_recorded_size_edited_to_match_is_caught_by_its_hash() {
    let home = Home::new();
    let server = server_refusing_first(1);
    let id = queue_for(&home, &server, "cut");
    let eml = home.queue_file(&format!("{id}.eml"));
    let bytes = fs::read(&eml).unwrap();
    let cut = &bytes[..bytes.len() - 10];
    fs::write(&eml, cut).unwrap();
    home.edit_meta(&id, |meta| meta["size"] = cut.len().into());
    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "damaged entry: {id}.eml is not the message that was queued: its SHA-256 differs"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(home.files(), [format!("{id}.eml"), format!("{id}.json")]);
    assert!(server.finish().completed().is_empty());
}

#[test]
fn line_breaks_edited_into_a_stored_envelope_never_reach_the_wire() {
    const EVIL: &str = "b@example.com\r\nRCPT TO:<evil@example.com>";
    type Edit = Box<dyn Fn(&mut serde_json::Value, &str)>;
    let cases: [(&str, Edit, &str); 6] = [
        (
            "recipient",
            Box::new(|m, _| m["envelope"]["recipients"][0] = EVIL.into()),
            "damaged entry: its recipient \"b@example.com\\r\\nRCPT TO:<evil@example.com>\" is \
             not a valid address: it contains a line break",
        ),
        (
            "second recipient",
            Box::new(|m, _| {
                m["envelope"]["recipients"] = serde_json::json!(["c@example.com", EVIL])
            }),
            "damaged entry: its recipient \"b@example.com\\r\\nRCPT",
        ),
        (
            "sender",
            Box::new(|m, _| m["envelope"]["from"] = EVIL.into()),
            "damaged entry: its envelope sender \"b@example.com\\r\\nRCPT",
        ),
        (
            "DSN envelope id",
            Box::new(|m, _| {
                m["dsn"] = serde_json::json!({"envid": "x\r\nRCPT TO:<evil@example.com>"})
            }),
            "damaged entry: its DSN ENVID \"x\\r\\nRCPT",
        ),
        (
            "DSN notify",
            Box::new(|m, _| {
                m["dsn"] = serde_json::json!({"notify": "SUCCESS\r\nRCPT TO:<evil@example.com>"})
            }),
            "damaged entry: its DSN NOTIFY \"SUCCESS\\r\\nRCPT",
        ),
        (
            "option",
            Box::new(|m, addr| {
                m["options"] = serde_json::json!([
                    format!("--server={addr}"),
                    "--ehlo-name=x\r\nRCPT TO:<evil@example.com>"
                ])
            }),
            "--ehlo-name contains a line break (CR or LF): \"x\\r\\nRCPT",
        ),
    ];
    for (case, edit, says) in cases {
        let home = Home::new();
        let server = server_refusing_first(1);
        let addr = server.addr();
        let id = queue_for(&home, &addr, "edited");
        home.edit_meta(&id, |meta| edit(meta, &addr));
        let out = home.run(["-q"]).output();
        assert_eq!(out.code, 65, "{case}: {}", out.stderr);
        assert!(
            out.stderr
                .starts_with(&format!("smtpsend: {id}: not sent, kept")),
            "{case}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(says), "{case}: {}", out.stderr);
        assert_eq!(home.files().len(), 2, "{case}: kept");
        let out = home.run(["--list-queue"]).output();
        assert!(out.stdout.contains(&id), "{case}: {}", out.stdout);
        let record = server.finish();
        let commands = record.commands();
        assert!(
            !commands.iter().any(|c| c.contains("evil")),
            "{case}: {commands:?}"
        );
        assert!(record.completed().is_empty(), "{case}");
    }
}

#[test]
fn an_entry_without_recipients_is_named_by_every_flush_and_never_retried_as_temporary() {
    let home = Home::new();
    let server = server_refusing_first(1);
    let id = queue_for(&home, &server, "nobody");
    home.edit_meta(&id, |meta| {
        meta["envelope"]["recipients"] = serde_json::json!([]);
    });
    let json = fs::read(home.queue_file(&format!("{id}.json"))).unwrap();
    for _ in 0..2 {
        let out = home.run(["-q"]).output();
        assert_eq!(out.code, 65, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "smtpsend: {id}: not sent, kept in the outbox as it is (drop it with \
                 --drop-queue {id}): damaged entry: it has no recipients"
            )),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("still queued"), "{}", out.stderr);
        let out = home.run(["-q", "--json"]).output();
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(report[0]["status"], "damaged");
        assert_eq!(report[0]["exit_code"], 65);
    }
    // Not an attempt: the entry is as it was, for the user to look at.
    assert_eq!(
        fs::read(home.queue_file(&format!("{id}.json"))).unwrap(),
        json
    );
    let listed = home.run(["--list-queue"]).output().stdout;
    assert!(
        listed.contains(&format!("{id}  damaged entry: it has no recipients")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!(
            "    not sent; inspect it, or drop it with --drop-queue {id}"
        )),
        "{listed}"
    );
    assert_eq!(server.finish().connection_count(), 1);
}

#[test]
fn meta_files_of_other_formats() {
    let home = Home::new();
    let server = server_refusing_first(3);
    // Format 1 (no hash) is still sent, when its size is right.
    let old = queue_for(&home, &server, "format one");
    home.edit_meta(&old, |meta| {
        meta["format"] = 1.into();
        meta.as_object_mut().unwrap().remove("sha256");
    });
    let old_cut = queue_for(&home, &server, "format one, cut");
    home.edit_meta(&old_cut, |meta| {
        meta["format"] = 1.into();
        meta.as_object_mut().unwrap().remove("sha256");
    });
    let eml = home.queue_file(&format!("{old_cut}.eml"));
    let bytes = fs::read(&eml).unwrap();
    fs::write(&eml, &bytes[..bytes.len() - 3]).unwrap();
    let newer = queue_for(&home, &server, "format three");
    home.edit_meta(&newer, |meta| meta["format"] = 3.into());

    let out = home.run(["-q", "--json"]).output();
    assert_eq!(out.code, 65, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let status = |id: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| (r["status"].clone(), r["error"].clone()))
            .unwrap_or_else(|| panic!("{id} not in {report}"))
    };
    assert_eq!(status(&old).0, "sent");
    assert_eq!(status(&old_cut).0, "damaged");
    assert!(status(&old_cut).1.as_str().unwrap().contains("cut short"));
    assert_eq!(status(&newer).0, "damaged");
    assert!(
        status(&newer)
            .1
            .as_str()
            .unwrap()
            .contains("its format 3 is not one this smtpsend reads"),
        "{report}"
    );
    let record = server.finish();
    assert!(
        record
            .only_completed()
            .message_text()
            .contains("Subject: format one\r\n")
    );
}

#[test]
fn a_fifo_where_a_message_should_be_does_not_hang_the_flush() {
    let home = Home::new();
    let server = server_refusing_first(1);
    let id = queue_for(&home, &server, "fifo");
    fs::remove_file(home.queue_file(&format!("{id}.eml"))).unwrap();
    mkfifo(&home.queue_file(&format!("{id}.eml")));
    for args in [&["-q"][..], &["--list-queue"]] {
        let out = home.run(args).output();
        assert!(
            out.elapsed < std::time::Duration::from_secs(10),
            "{args:?} took {:?}",
            out.elapsed
        );
        assert!(
            out.stderr
                .contains("is a FIFO (a pipe), not a regular file")
                || out
                    .stdout
                    .contains("is a FIFO (a pipe), not a regular file"),
            "{args:?}: {} {}",
            out.stdout,
            out.stderr
        );
    }
    assert_eq!(home.run(["-q"]).output().code, 65);
    assert!(server.finish().completed().is_empty());
}

#[test]
fn links_under_the_outboxs_lock_and_temporary_names_are_not_followed() {
    let home = Home::new();
    let server = Server::builder()
        .on(Verb::Rcpt, Action::reply(451, "4.3.0 later"))
        .start();
    let id = queue_for(&home, &server, "links");
    let mine = home.join("mine.txt");
    fs::write(&mine, "do not touch").unwrap();
    fs::set_permissions(&mine, fs::Permissions::from_mode(0o644)).unwrap();

    // A link as the flush lock: the flush stops (74), the file it points to is untouched.
    symlink(&mine, home.queue_file(".flush.lock")).unwrap();
    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 74, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot open the flush lock"),
        "{}",
        out.stderr
    );
    fs::remove_file(home.queue_file(".flush.lock")).unwrap();

    // A link as the entry's temporary meta name: recording the attempt replaces the link
    // itself, and the file it pointed to is untouched.
    symlink(&mine, home.queue_file(&format!("{id}.json.tmp"))).unwrap();
    let out = home.run(["-q"]).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: {id}: still queued: nothing sent: the server refused 1 of 1 recipients: \
             <b@example.com> (451 4.3.0 later)\n\
             smtpsend: 1 of 1 queued messages not sent (each named above)\n"
        )
    );
    assert_eq!(home.meta(&id)["attempts"], 2);
    assert_eq!(home.files(), [format!("{id}.eml"), format!("{id}.json")]);
    assert_eq!(fs::read(&mine).unwrap(), b"do not touch");
    assert_eq!(fs::metadata(&mine).unwrap().mode() & 0o777, 0o644);
    drop(server);
}

/// An entry left in one broken shape or another, by a crash, a disk error or a user.
fn break_entry(home: &Home, id: &str, shape: &str) {
    let eml = home.queue_file(&format!("{id}.eml"));
    let json = home.queue_file(&format!("{id}.json"));
    match shape {
        "meta not JSON" => fs::write(&json, "{\"format\": 2, \"env").unwrap(),
        "meta invalid" => {
            home.edit_meta(id, |m| m["envelope"]["recipients"] = serde_json::json!([]))
        }
        "meta not UTF-8" => fs::write(&json, [0xff, 0xfe, 0x00]).unwrap(),
        "message missing" => fs::remove_file(&eml).unwrap(),
        "meta missing" => fs::remove_file(&json).unwrap(),
        "only temporary files" => {
            fs::rename(&eml, home.queue_file(&format!("{id}.eml.tmp"))).unwrap();
            fs::rename(&json, home.queue_file(&format!("{id}.json.tmp"))).unwrap();
        }
        "message a link" => {
            fs::remove_file(&eml).unwrap();
            symlink(home.join("mine.eml"), &eml).unwrap();
        }
        "meta a link" => {
            fs::remove_file(&json).unwrap();
            symlink(home.join("mine.json"), &json).unwrap();
        }
        "message a FIFO" => {
            fs::remove_file(&eml).unwrap();
            mkfifo(&eml);
        }
        "message truncated" => fs::write(&eml, "Subj").unwrap(),
        other => panic!("no shape {other}"),
    }
}

const SHAPES: [&str; 10] = [
    "meta not JSON",
    "meta invalid",
    "meta not UTF-8",
    "message missing",
    "meta missing",
    "only temporary files",
    "message a link",
    "meta a link",
    "message a FIFO",
    "message truncated",
];

#[test]
fn drop_queue_removes_an_entry_in_every_broken_shape() {
    for shape in SHAPES {
        let home = Home::new();
        fs::write(home.join("mine.eml"), "the user's message").unwrap();
        fs::write(home.join("mine.json"), "{\"the user's\": 1}").unwrap();
        let id = queue_for(&home, &refused_addr(), shape);
        let other = queue_for(&home, &refused_addr(), "other");
        fs::write(home.queue_file("notes.eml"), "mine").unwrap();
        break_entry(&home, &id, shape);

        // A flush does not send it, does not remove it (unless nothing of it is an entry),
        // and still flushes the rest.
        let out = home.run(["-q"]).output();
        assert_ne!(out.code, 0, "{shape}: {}", out.stderr);
        let left: Vec<String> = home
            .files()
            .into_iter()
            .filter(|name| name.starts_with(&id))
            .collect();
        if !matches!(shape, "meta missing" | "only temporary files") {
            assert!(!left.is_empty(), "{shape}: removed by the flush");
            assert!(
                out.stderr.contains(&format!("smtpsend: {id}: ")),
                "{shape}: {}",
                out.stderr
            );
        }

        let out = home.run(["--drop-queue", &id]).output();
        if left.is_empty() {
            assert_eq!(out.code, 64, "{shape}: {}", out.stderr);
        } else {
            assert_eq!(out.code, 0, "{shape}: {}", out.stderr);
            assert!(
                out.stderr.starts_with(&format!("smtpsend: dropped {id} (")),
                "{shape}: {}",
                out.stderr
            );
        }
        assert_eq!(
            home.files(),
            [
                format!("{other}.eml"),
                format!("{other}.json"),
                "notes.eml".to_string()
            ],
            "{shape}"
        );
        assert_eq!(
            fs::read(home.join("mine.eml")).unwrap(),
            b"the user's message"
        );
        assert_eq!(
            fs::read(home.join("mine.json")).unwrap(),
            b"{\"the user's\": 1}"
        );
    }
}

#[test]
fn drop_queue_removes_leftovers_a_flush_has_not_cleared_yet() {
    for shape in ["meta missing", "only temporary files"] {
        let home = Home::new();
        let id = queue_for(&home, &refused_addr(), shape);
        break_entry(&home, &id, shape);
        let out = home.run(["--drop-queue", &id]).output();
        assert_eq!(out.code, 0, "{shape}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "smtpsend: dropped {id} (what an interrupted write left; removed "
            )),
            "{shape}: {}",
            out.stderr
        );
        assert!(home.files().is_empty(), "{shape}: {:?}", home.files());
    }
}

#[test]
fn drop_queue_refuses_an_entry_in_use_and_names_that_are_no_ids() {
    let home = Home::new();
    let id = queue_for(&home, &refused_addr(), "busy");
    fs::write(home.queue_file("abc-def.json"), "{}").unwrap();
    fs::write(home.queue_file("notes.eml"), "mine").unwrap();
    let before = home.files();
    // Another process holds the entry's lock (a send in progress).
    let held = fs::File::open(home.queue_file(&format!("{id}.eml"))).unwrap();
    // SAFETY: flock(2) on a descriptor this test owns.
    assert_eq!(
        unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    break_entry(&home, &id, "meta not JSON");
    let out = home.run(["--drop-queue", &id]).output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    assert!(
        out.stderr.contains("is being sent right now"),
        "{}",
        out.stderr
    );
    assert_eq!(home.files(), before);
    drop(held);

    for name in [
        "abc-def",
        "notes",
        "../queue/notes",
        "0640A1B2C3D4E-0BADF0",
        "1234",
    ] {
        let out = home.run(["--drop-queue", name]).output();
        assert_eq!(out.code, 64, "{name}: {}", out.stderr);
        assert!(out.stderr.contains("is not an outbox id"), "{}", out.stderr);
    }
    // A valid id with another name wrong: nothing at all is removed.
    let out = home
        .run(["--drop-queue", &id, "--drop-queue", "abc-def"])
        .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: \"abc-def\" is not an outbox id (ids look like 0640a1b2c3d4e-0badf0; see \
         --list-queue)\n"
    );
    assert_eq!(home.files(), before);
    let out = home.run(["--drop-queue", &id]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(home.files(), ["abc-def.json", "notes.eml"]);
}
