//! Unit tests of `credentials`.

use super::*;

fn first_line(chunks: &[&[u8]]) -> Result<Vec<u8>, ()> {
    let mut line = FirstLine::default();
    for chunk in chunks {
        line.feed(chunk).map_err(|TooLong| ())?;
    }
    Ok(line.into_password())
}

#[test]
fn the_first_line_is_the_password_and_its_length_is_bounded() {
    assert_eq!(first_line(&[b"pw\r\nsecond"]).unwrap(), b"pw");
    assert_eq!(first_line(&[b"p", b"w", b"\n", b"x"]).unwrap(), b"pw");
    assert_eq!(first_line(&[b"\nsecond\n"]).unwrap(), b"");
    let longest = vec![b'x'; PASSWORD_LIMIT as usize];
    assert_eq!(first_line(&[&longest, b"\r\n"]).unwrap(), longest);
    assert!(first_line(&[&longest, b"y"]).is_err());
    // A long second line is no concern of the first.
    assert!(first_line(&[b"pw\n", &vec![b'x'; 10_000]]).is_ok());
}

#[test]
fn a_password_must_be_utf8_without_nul() {
    assert_eq!(check_password(b"p\xc3\xa4ss", "x").unwrap(), "päss");
    for (bytes, says) in [
        (&b"p\xffss"[..], "x: the password is not UTF-8 text"),
        (b"", "x: the password is empty"),
        (b"a\0b", "x: the password contains a NUL byte"),
    ] {
        let err = check_password(bytes, "x").unwrap_err();
        assert_eq!(crate::base::exit::code_for(&err), 78);
        assert!(
            crate::base::exit::one_line(&err).starts_with(says),
            "{err:#}"
        );
    }
}

#[test]
fn child_processes_are_made_in_one_place() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let spawns = text.lines().any(|line| {
                line.contains("Command::new(") && !line.contains("clap::Command::new(")
            });
            if spawns && !path.ends_with("credentials.rs") {
                offenders.push(path);
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "start child processes with credentials::child_command: {offenders:?}"
    );
    let command = child_command("true");
    assert!(
        command
            .get_envs()
            .any(|(name, value)| name == PASSWORD_VAR && value.is_none())
    );
}
