//! Unit tests of `outbox`.

use super::*;
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

fn meta() -> Meta {
    Meta {
        format: FORMAT,
        created: now(),
        envelope: Envelope {
            from: "a@example.com".into(),
            recipients: vec!["b@example.com".into()],
        },
        size: 0,
        sha256: None,
        server: "mx.test:25".into(),
        account: None,
        options: vec!["--server=mx.test:25".into()],
        partial: false,
        declare_8bitmime: false,
        dsn: Default::default(),
        attempts: 0,
        last_attempt: None,
        last_error: None,
        last_exit_code: None,
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn queue(home: &Path) -> Queue {
    Outbox::at(home.join("queue")).create().unwrap()
}

fn add(queue: &Queue, bytes: &[u8]) -> Claim {
    queue
        .add(&meta(), &Content::from_bytes(bytes.to_vec()))
        .unwrap()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn add_writes_both_files_privately_and_reads_back() {
    let home = tempfile::tempdir().unwrap();
    let outbox = Outbox::locate_in(home.path().join("state"));
    let claim = outbox
        .add(
            &meta(),
            &Content::from_bytes(b"Subject: x\r\n\r\nhi\r\n".to_vec()),
        )
        .unwrap();
    let id = claim.id().to_string();
    assert!(valid_id(&id), "{id}");
    let dir = outbox.dir();
    assert_eq!(dir, home.path().join("state/smtpsend/queue"));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(dir.parent().unwrap()), 0o700);
    assert_eq!(mode(&dir.join(format!("{id}.eml"))), 0o600);
    assert_eq!(mode(&dir.join(format!("{id}.json"))), 0o600);
    let queue = outbox.open().unwrap().unwrap();
    assert_eq!(
        sorted(queue.file_names().unwrap()),
        [format!("{id}.eml"), format!("{id}.json")]
    );
    let meta = claim.meta().unwrap();
    assert_eq!(meta.format, 2);
    assert_eq!(meta.size, 18);
    assert_eq!(
        meta.sha256.as_deref(),
        Some(sha256_hex(b"Subject: x\r\n\r\nhi\r\n").as_str())
    );
    assert_eq!(
        claim.content(&meta).unwrap().as_bytes().unwrap(),
        b"Subject: x\r\n\r\nhi\r\n"
    );
    drop(claim);
    let entries = queue.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, id);
}

#[test]
fn a_claimed_entry_is_busy_for_others_and_remove_deletes_it() {
    let home = tempfile::tempdir().unwrap();
    let queue = queue(home.path());
    let claim = add(&queue, b"x\r\n");
    let id = claim.id().to_string();
    assert!(matches!(queue.claim(&id).unwrap(), Claimed::Busy));
    assert!(matches!(queue.drop_entry(&id).unwrap(), Dropped::Busy));
    let mut updated = claim.meta().unwrap();
    updated.record_failure(&fail(Kind::TempFail, "451 later"));
    claim.update(&updated).unwrap();
    assert_eq!(claim.meta().unwrap().attempts, 1);
    claim.remove().unwrap();
    assert!(matches!(queue.claim(&id).unwrap(), Claimed::Gone));
    assert!(queue.file_names().unwrap().is_empty());
}

#[test]
fn leftovers_are_removed_but_entries_in_use_and_other_files_are_not() {
    let home = tempfile::tempdir().unwrap();
    let queue = queue(home.path());
    let dir = queue.dir().to_path_buf();
    let kept = add(&queue, b"x\r\n");
    let kept_id = kept.id().to_string();
    drop(kept);
    fs::write(dir.join("0000000000001-000001.eml"), "orphan").unwrap();
    fs::write(dir.join("0000000000002-000002.eml.tmp"), "half").unwrap();
    fs::write(dir.join(format!("{kept_id}.json.tmp")), "{").unwrap();
    let busy = add(&queue, b"y\r\n");
    let busy_id = busy.id().to_string();
    fs::write(dir.join(format!("{busy_id}.json.tmp")), "{").unwrap();
    // Not the outbox's: other names, ids of another shape, and links under its names.
    let user_file = home.path().join("notes.eml");
    fs::write(&user_file, "mine").unwrap();
    let foreign = [
        "notes.eml",
        "1234.eml",
        "abc-def.json.tmp",
        "0000000000003-00000G.eml",
        "0000000000004-000004.EML",
        "0000000000005-000005.eml.tmp.bak",
    ];
    for name in foreign {
        fs::write(dir.join(name), "foreign").unwrap();
    }
    symlink(&user_file, dir.join("0000000000006-000006.eml")).unwrap();
    symlink(&user_file, dir.join("0000000000007-000007.eml.tmp")).unwrap();
    queue.remove_leftovers();
    let mut expected = vec![
        format!("{kept_id}.eml"),
        format!("{kept_id}.json"),
        format!("{busy_id}.eml"),
        format!("{busy_id}.json"),
        format!("{busy_id}.json.tmp"),
        "0000000000006-000006.eml".to_string(),
        "0000000000007-000007.eml.tmp".to_string(),
    ];
    expected.extend(foreign.iter().map(|name| name.to_string()));
    assert_eq!(sorted(queue.file_names().unwrap()), sorted(expected));
    assert_eq!(fs::read(&user_file).unwrap(), b"mine");
    let mut listed: Vec<String> = foreign.iter().map(|name| name.to_string()).collect();
    listed.push("0000000000006-000006.eml".to_string());
    listed.push("0000000000007-000007.eml.tmp".to_string());
    assert_eq!(queue.foreign_names().unwrap(), sorted(listed));
    drop(busy);
}

#[test]
fn ids_are_exactly_what_new_id_makes() {
    assert!(valid_id(&new_id()));
    assert!(valid_id("0640a1b2c3d4e-0badf0"));
    for not_an_id in [
        "../x",
        "",
        "a/b",
        "notes",
        "1234",
        "abc-def",
        "deadbeef-00000001",
        "0640A1B2C3D4E-0BADF0",
        "0640a1b2c3d4e-0badf",
        "0640a1b2c3d4e0badf00",
        "0640a1b2c3d4e-0badf0x",
        "0640a1b2c3d4g-0badf0",
    ] {
        assert!(!valid_id(not_an_id), "{not_an_id:?}");
    }
}

#[test]
fn the_directory_must_be_private_and_real() {
    let home = tempfile::tempdir().unwrap();
    let elsewhere = home.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o755)).unwrap();
    let state = home.path().join("state");
    fs::create_dir_all(state.join("smtpsend")).unwrap();
    symlink(&elsewhere, state.join("smtpsend/queue")).unwrap();
    let outbox = Outbox::locate_in(state.clone());
    for result in [
        outbox.create().err(),
        outbox.open().err(),
        outbox
            .add(&meta(), &Content::from_bytes(b"x".to_vec()))
            .err(),
    ] {
        let err = result.expect("refused");
        assert_eq!(crate::base::exit::code_for(&err), 78);
        assert!(
            crate::base::exit::one_line(&err).contains("is a symbolic link (to "),
            "{err:#}"
        );
    }
    assert_eq!(mode(&elsewhere), 0o755, "its mode was left alone");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);

    fs::remove_file(state.join("smtpsend/queue")).unwrap();
    fs::create_dir(state.join("smtpsend/queue")).unwrap();
    for loose in [0o770, 0o707, 0o777] {
        fs::set_permissions(
            state.join("smtpsend/queue"),
            fs::Permissions::from_mode(loose),
        )
        .unwrap();
        let err = outbox.open().err().expect("refused");
        assert_eq!(crate::base::exit::code_for(&err), 78);
        assert!(
            crate::base::exit::one_line(&err).contains("written by group or others"),
            "{err:#}"
        );
        assert_eq!(mode(&state.join("smtpsend/queue")), loose);
    }
    fs::set_permissions(
        state.join("smtpsend/queue"),
        fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    assert!(outbox.open().unwrap().is_some());
    // A file where a directory should be.
    fs::remove_dir(state.join("smtpsend/queue")).unwrap();
    fs::write(state.join("smtpsend/queue"), "").unwrap();
    let err = outbox.create().err().expect("refused");
    assert_eq!(crate::base::exit::code_for(&err), 78, "{err:#}");
    assert!(crate::base::exit::one_line(&err).contains("is not a directory"));
}

#[test]
fn a_missing_outbox_is_created_only_when_writing() {
    let home = tempfile::tempdir().unwrap();
    let outbox = Outbox::locate_in(home.path().join("state"));
    assert!(outbox.open().unwrap().is_none());
    assert!(!home.path().join("state").exists());
    outbox.create().unwrap();
    assert_eq!(mode(&home.path().join("state/smtpsend")), 0o700);
    assert_eq!(mode(&home.path().join("state/smtpsend/queue")), 0o700);
}

#[test]
fn a_message_that_changed_is_damaged() {
    let home = tempfile::tempdir().unwrap();
    let queue = queue(home.path());
    let claim = add(&queue, b"Subject: x\r\n\r\nhello\r\n");
    let id = claim.id().to_string();
    let meta = claim.meta().unwrap();
    drop(claim);
    let eml = queue.dir().join(format!("{id}.eml"));
    for (bytes, says) in [
        (&b"Subject: x\r\n\r\nhel"[..], "cut short"),
        (b"Subject: x\r\n\r\nhello\r\nmore\r\n", "added to"),
        (b"Subject: y\r\n\r\nhello\r\n", "SHA-256 differs"),
    ] {
        fs::write(&eml, bytes).unwrap();
        let Claimed::Mine(claim) = queue.claim(&id).unwrap() else {
            panic!("not claimed")
        };
        let err = claim.content(&meta).expect_err("damaged");
        assert!(is_damaged(&err));
        assert_eq!(crate::base::exit::code_for(&err), 65);
        assert!(crate::base::exit::one_line(&err).contains(says), "{err:#}");
        let err = queue.verify(&id, &meta).expect_err("damaged");
        assert!(crate::base::exit::one_line(&err).contains(says), "{err:#}");
    }
    // Format 1 has no hash: an edit of the same size goes unseen, a new size does not.
    let old = Meta {
        format: 1,
        sha256: None,
        ..meta.clone()
    };
    let Claimed::Mine(claim) = queue.claim(&id).unwrap() else {
        panic!("not claimed")
    };
    assert!(claim.content(&old).is_ok());
    fs::write(&eml, b"short").unwrap();
    assert!(is_damaged(&claim.content(&old).err().unwrap()));
}

#[test]
fn stored_fields_are_checked_as_if_typed() {
    let bad = |change: &dyn Fn(&mut Meta)| {
        let mut meta = meta();
        meta.sha256 = Some("0".repeat(64));
        change(&mut meta);
        meta.problem()
    };
    assert_eq!(bad(&|_| {}), None);
    assert_eq!(bad(&|m| m.envelope.from.clear()), None, "the null sender");
    assert_eq!(
        bad(&|m| m.dsn = crate::smtp::dsn::Dsn {
            notify: Some("SUCCESS,DELAY".into()),
            ret: Some("HDRS".into()),
            envid: Some("x-42".into()),
        }),
        None
    );
    type Change = dyn Fn(&mut Meta);
    let cases: [(&Change, &str); 15] = [
        (
            &|m| m.envelope.recipients = vec!["b@x.org\r\nRCPT TO:<evil@x.org>".into()],
            "recipient",
        ),
        (&|m| m.envelope.recipients.clear(), "no recipients"),
        (&|m| m.envelope.recipients.push("no body".into()), "space"),
        (
            &|m| m.envelope.recipients.push("<c@x.org>".into()),
            "recipient",
        ),
        (
            &|m| m.envelope.from = "a@x.org\nX".into(),
            "envelope sender",
        ),
        (
            &|m| m.envelope.from = "a\u{1b}@x.org".into(),
            "envelope sender",
        ),
        (&|m| m.envelope.from = "<>".into(), "envelope sender"),
        (&|m| m.format = 3, "format 3"),
        (&|m| m.format = 0, "format 0"),
        (&|m| m.sha256 = None, "no SHA-256"),
        (&|m| m.sha256 = Some("AB".repeat(32)), "hex digits"),
        (&|m| m.options = vec!["--no-such-option".into()], "options"),
        (
            &|m| m.options = vec!["evil@x.org".into()],
            "not an --option",
        ),
        (&|m| m.dsn.notify = Some("SUCCESS\r\nRSET".into()), "NOTIFY"),
        (&|m| m.dsn.envid = Some("has space".into()), "ENVID"),
    ];
    for (change, says) in cases {
        let problem = bad(change).expect(says);
        assert!(problem.contains(says), "{problem}");
    }
    assert!(bad(&|m| m.dsn.ret = Some("full".into())).is_some());
    assert!(bad(&|m| m.server = "x\u{1b}[2J".into()).is_some());
    let old = Meta {
        format: 1,
        sha256: None,
        ..meta()
    };
    assert_eq!(old.problem(), None, "format 1 needs no hash");
}

#[test]
fn an_entry_that_would_be_refused_is_not_written() {
    let home = tempfile::tempdir().unwrap();
    let queue = queue(home.path());
    let mut odd = meta();
    odd.envelope.from = "john doe@example.com".into();
    let err = queue
        .add(&odd, &Content::from_bytes(b"x\r\n".to_vec()))
        .err()
        .expect("refused");
    assert_eq!(crate::base::exit::code_for(&err), 65);
    assert_eq!(
        crate::base::exit::one_line(&err),
        "the outbox does not keep this message: its envelope sender \"john \
         doe@example.com\" is not a valid address: it contains a space; an address has \
         none (a display name is written Name <address>)"
    );
    assert!(queue.file_names().unwrap().is_empty());
}

#[test]
fn drop_removes_an_entry_in_any_state() {
    let home = tempfile::tempdir().unwrap();
    let queue = queue(home.path());
    let dir = queue.dir().to_path_buf();
    let user_file = home.path().join("notes.eml");
    fs::write(&user_file, "mine").unwrap();
    type Damage = dyn Fn(&Path, &str);
    let shapes: [(&str, &Damage); 6] = [
        ("meta not JSON", &|dir, id| {
            fs::write(dir.join(format!("{id}.json")), "{").unwrap()
        }),
        ("message missing", &|dir, id| {
            fs::remove_file(dir.join(format!("{id}.eml"))).unwrap()
        }),
        ("meta missing", &|dir, id| {
            fs::remove_file(dir.join(format!("{id}.json"))).unwrap()
        }),
        ("message a link", &|dir, id| {
            let eml = dir.join(format!("{id}.eml"));
            fs::remove_file(&eml).unwrap();
            symlink(dir.parent().unwrap().join("notes.eml"), eml).unwrap();
        }),
        ("only temporary files", &|dir, id| {
            fs::rename(
                dir.join(format!("{id}.eml")),
                dir.join(format!("{id}.eml.tmp")),
            )
            .unwrap();
            fs::rename(
                dir.join(format!("{id}.json")),
                dir.join(format!("{id}.json.tmp")),
            )
            .unwrap();
        }),
        ("message a FIFO", &|dir, id| {
            let eml = dir.join(format!("{id}.eml"));
            fs::remove_file(&eml).unwrap();
            let name = CString::new(eml.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: mkfifo(3) on a path in our own temporary directory.
            assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        }),
    ];
    for (shape, damage) in shapes {
        let claim = add(&queue, b"x\r\n");
        let id = claim.id().to_string();
        drop(claim);
        damage(&dir, &id);
        match queue.drop_entry(&id).unwrap() {
            Dropped::Removed { files, .. } => assert!(!files.is_empty(), "{shape}"),
            _ => panic!("{shape}: not dropped"),
        }
        assert!(queue.file_names().unwrap().is_empty(), "{shape}");
        assert!(matches!(queue.drop_entry(&id).unwrap(), Dropped::Gone));
    }
    assert_eq!(fs::read(&user_file).unwrap(), b"mine");
}
