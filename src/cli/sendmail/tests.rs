//! Unit tests of `sendmail`.

use super::*;

#[test]
fn recognises_a_sendmail_call() {
    let call = |args: &[&str]| {
        let args: Vec<OsString> = std::iter::once("smtpsend")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        looks_like_sendmail_call(&args)
    };
    assert!(call(&["-a", "work", "-oi", "--", "bob@example.com"]));
    assert!(call(&["-a", "work", "-i", "bob@example.com"]));
    assert!(call(&["-a", "work", "--", "bob@example.com"]));
    assert!(!call(&["-a", "work", "--to", "bob@example.com"]));
}

fn rewrite(args: &[&str]) -> Result<Vec<String>, String> {
    let mut command = crate::cli::command();
    command.build();
    let mut all = vec![OsString::from("sendmail")];
    all.extend(args.iter().map(OsString::from));
    normalize(all, &command).map(|out| {
        out.into_iter()
            .skip(1)
            .map(|arg| arg.into_string().unwrap())
            .collect()
    })
}

#[test]
fn cron_call() {
    assert_eq!(
        rewrite(&[
            "-FCronDaemon",
            "-i",
            "-B8BITMIME",
            "-oem",
            "user@example.com"
        ])
        .unwrap(),
        [
            "--from-name=CronDaemon",
            "--body-type=8BITMIME",
            "user@example.com"
        ]
    );
}

#[test]
fn ignored_options() {
    for form in [
        "-oi", "-oem", "-odi", "-odb", "-oee", "-om", "-i", "-bm", "-m", "-n", "-U", "-G", "-h17",
    ] {
        assert_eq!(
            rewrite(&[form, "a@example.com"]).unwrap(),
            ["a@example.com"],
            "{form}"
        );
    }
    assert_eq!(
        rewrite(&[
            "-o",
            "i",
            "-O",
            "DeliveryMode=b",
            "-L",
            "tag",
            "-X",
            "/tmp/log",
            "b@x.org"
        ])
        .unwrap(),
        ["b@x.org"]
    );
}

#[test]
fn grouped_letters_and_values() {
    assert_eq!(rewrite(&["-ti"]).unwrap(), ["--read-recipients"]);
    assert_eq!(rewrite(&["-it"]).unwrap(), ["--read-recipients"]);
    assert_eq!(rewrite(&["-oi", "-t"]).unwrap(), ["--read-recipients"]);
    assert_eq!(
        rewrite(&["-tif", "me@x.org"]).unwrap(),
        ["--read-recipients", "--from=me@x.org"]
    );
    assert_eq!(rewrite(&["-fme@x.org"]).unwrap(), ["--from=me@x.org"]);
    assert_eq!(rewrite(&["-f", "me@x.org"]).unwrap(), ["--from=me@x.org"]);
    assert_eq!(rewrite(&["-r", "me@x.org"]).unwrap(), ["--from=me@x.org"]);
    assert_eq!(
        rewrite(&["-F", "Cron Daemon"]).unwrap(),
        ["--from-name=Cron Daemon"]
    );
    assert_eq!(rewrite(&["-f", "<>"]).unwrap(), ["--envelope-from=<>"]);
    assert_eq!(rewrite(&["-vv"]).unwrap(), ["--debug", "--debug"]);
}

#[test]
fn dsn_and_body_type() {
    assert_eq!(
        rewrite(&[
            "-N",
            "success,failure",
            "-Rhdrs",
            "-V",
            "id42",
            "-B",
            "7BIT"
        ])
        .unwrap(),
        [
            "--dsn-notify=success,failure",
            "--dsn-return=hdrs",
            "--dsn-envid=id42",
            "--body-type=7BIT"
        ]
    );
    assert_eq!(rewrite(&["-V"]).unwrap(), ["--version"]);
}

#[test]
fn smtpsend_letters_pass_through() {
    assert_eq!(
        rewrite(&["-dd", "-sHello", "-a", "f.txt", "x@y.org"]).unwrap(),
        ["-d", "-d", "--subject=Hello", "--attach=f.txt", "x@y.org"]
    );
    assert_eq!(rewrite(&["-s", "-oi"]).unwrap(), ["--subject=-oi"]);
    assert_eq!(rewrite(&["-h"]).unwrap(), ["-h"]);
}

#[test]
fn long_option_values_are_not_rewritten() {
    assert_eq!(
        rewrite(&["--subject", "-oi", "--body=-t", "x@y.org"]).unwrap(),
        ["--subject", "-oi", "--body=-t", "x@y.org"]
    );
}

#[test]
fn double_dash_ends_options() {
    assert_eq!(
        rewrite(&["-oi", "--", "-t", "-oi"]).unwrap(),
        ["--", "-t", "-oi"]
    );
}

#[test]
fn daemon_and_test_modes_are_refused() {
    for mode in ["-bs", "-bd", "-bt"] {
        let err = rewrite(&[mode]).unwrap_err();
        assert!(err.contains("not supported"), "{mode}: {err}");
        assert!(err.contains("-bm"), "{mode}: {err}");
    }
}

#[test]
fn alias_modes_and_the_names_sendmail_is_installed_under() {
    assert_eq!(rewrite(&["-bi"]).unwrap(), ["--check-aliases"]);
    assert_eq!(rewrite(&["-I"]).unwrap(), ["--check-aliases"]);
    let mut command = crate::cli::command();
    command.build();
    let as_named = |name: &str, args: &[&str]| {
        let all = std::iter::once(name).chain(args.iter().copied());
        normalize(all.map(OsString::from).collect(), &command)
            .unwrap()
            .into_iter()
            .skip(1)
            .map(|arg| arg.into_string().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(as_named("/usr/bin/mailq", &[]), ["--list-queue"]);
    assert_eq!(as_named("newaliases", &[]), ["--check-aliases"]);
    assert_eq!(
        as_named("/usr/sbin/sendmail", &["-oi", "x@y.org"]),
        ["x@y.org"]
    );
}

#[test]
fn sendmail_calls_are_recognised_by_name_and_flags() {
    let call_of = |args: &[&str]| {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        call(&args)
    };
    assert_eq!(
        call_of(&["/usr/sbin/sendmail", "root"]).as_deref(),
        Some("invoked as sendmail")
    );
    assert_eq!(call_of(&["smtpsend", "-t"]).as_deref(), Some("-t"));
    assert_eq!(call_of(&["smtpsend", "-oi", "x@y"]).as_deref(), Some("-oi"));
    assert_eq!(call_of(&["smtpsend", "-ti"]).as_deref(), Some("-ti"));
    assert_eq!(call_of(&["smtpsend", "--to", "x@y", "--body", "hi"]), None);
    assert_eq!(call_of(&["smtpsend", "-s", "it", "x@y"]), None);
}

#[test]
fn queue_letters_reach_the_outbox() {
    assert_eq!(rewrite(&["-q"]).unwrap(), ["--flush-queue"]);
    assert_eq!(rewrite(&["-bp"]).unwrap(), ["--list-queue"]);
    assert_eq!(
        rewrite(&["-v", "-q"]).unwrap(),
        ["--debug", "--flush-queue"]
    );
    let err = rewrite(&["-q30m"]).unwrap_err();
    assert!(err.contains("cron"), "{err}");
}

#[test]
fn a_missing_value_is_a_usage_error() {
    assert_eq!(
        rewrite(&["-t", "-f"]).unwrap_err(),
        "option -f needs a value"
    );
}
