//! smtpsend as the machine's sendmail: the system file beneath the user's, aliases, the
//! sender when nothing names one, the log and the system log, the outbox a sendmail call
//! keeps, queued mail delivered by the next send and by `-q` (rerouted with `--server`),
//! the spool of users without a home, and the names it is installed under.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::*;

/// smtpsend under another name (`sendmail`, `mailq`, `newaliases`), in a directory of its own.
fn named(dir: &Path, name: &str) -> PathBuf {
    let link = dir.join(name);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_smtpsend"), &link).unwrap();
    link
}

/// A system file for a relay: the account `relay` is the default.
fn system_relay(server: &str, extra: &str) -> String {
    format!("default = \"relay\"\n\n[accounts.relay]\nserver = \"{server}\"\n{extra}")
}

#[test]
fn the_system_file_is_read_beneath_the_users_and_show_config_names_each_line() {
    let server = Server::start();
    let home = Home::new();
    let system = home.write_system_config(
        &system_relay(
            &server.addr(),
            "from = \"host@example.com\"\ntimeout = 20\n",
        ),
        0o644,
    );
    let user = home.write_config("[accounts.relay]\nfrom = \"me@example.com\"\n", 0o600);
    let out = home
        .run(["b@example.com"])
        .stdin("Subject: x\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    assert_eq!(record.only_completed().sender(), "me@example.com");

    let out = home.run(["--show-config"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (system, user) = (system.display(), user.display());
    for line in [
        format!("system-config   {system}  (SMTPSEND_SYSTEM_CONFIG)"),
        "account         relay  (default of the system file)".to_string(),
        format!(
            "server          {}  (account relay, {system} line 4)",
            server_addr(&out)
        ),
        format!("timeout         20s  (account relay, {system} line 6)"),
        format!("from            me@example.com  (account relay, {user} line 2)"),
    ] {
        assert!(out.stdout.contains(&line), "{line}\n{}", out.stdout);
    }
}

/// The server's address as --show-config printed it.
fn server_addr(out: &Output) -> String {
    let line = out
        .stdout
        .lines()
        .find(|line| line.starts_with("server "))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn the_system_file_works_without_a_home() {
    let server = Server::start();
    let home = Home::new();
    home.write_system_config(
        &system_relay(&server.addr(), "from = \"%U@example.com\"\n"),
        0o644,
    );
    let out = Run::new(["root"])
        .env("SMTPSEND_SYSTEM_CONFIG", home.system_config_file())
        .env_remove("HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env("LOGNAME", "cronjob")
        .stdin("Subject: nightly\n\ndone\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "cronjob@example.com");
    assert_eq!(transaction.recipients(), ["root"]);
}

#[test]
fn the_system_file_must_be_roots_to_change_and_hides_its_password_from_all() {
    let home = Home::new();
    home.write_system_config(&system_relay("relay.example:25", ""), 0o664);
    let out = home.run(["--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: the system config {} can be written by group or others (mode 0664); \
             run: chmod go-w {}: every user who sends mail obeys it (its password-command runs \
             as each of them), so only root may change it\n",
            home.system_config_file().display(),
            home.system_config_file().display()
        )
    );

    let with_password = system_relay(
        "relay.example:25",
        "user = \"relay\"\npassword = \"system-secret-Pw1\"\n",
    );
    home.write_system_config(&with_password, 0o644);
    let out = home.run(["--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("holds a password (line 6) but every user can read it (mode 0644)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("system-secret"), "{}", out.stderr);
    // Readable by its group only, it may.
    home.write_system_config(&with_password, 0o640);
    let out = home.run(["--show-config"]).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("system-secret"), "{}", out.stdout);

    // Nor may anyone else replace it: its directory is root's alone too.
    let dir = home.system_config_file().parent().unwrap().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o775)).unwrap();
    let out = home.run(["--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "is in {}, which can be written by group or others (mode 0775)",
            dir.display()
        )),
        "{}",
        out.stderr
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A spool is the system file's to name.
    home.write_config("spool = \"/var/spool/smtpsend\"\n", 0o600);
    let out = home.run(["--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("line 1, key spool: spool is read only from the system file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_password_file_the_system_file_names_may_be_read_by_its_group() {
    let server = Server::builder()
        .auth("PLAIN", "relay", "group-Secret-77")
        .start();
    let home = Home::new();
    let password_file = home.join("relay.pass");
    std::fs::write(&password_file, "group-Secret-77\n").unwrap();
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let account = format!(
        "user = \"relay\"\npassword-file = \"{}\"\n",
        password_file.display()
    );
    home.write_system_config(&system_relay(&server.addr(), &account), 0o644);
    let out = home
        .run(["--from", "a@example.com", "b@example.com"])
        .stdin("Subject: x\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.finish().completed().len(), 1);

    // The same file named in the user's own file must be private.
    let server = Server::builder()
        .auth("PLAIN", "relay", "group-Secret-77")
        .start();
    home.write_config(&system_relay(&server.addr(), &account), 0o600);
    let out = home
        .run(["--from", "a@example.com", "b@example.com"])
        .stdin("Subject: x\n\nhi\n")
        .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("run: chmod 600"), "{}", out.stderr);
    assert!(!out.stderr.contains("group-Secret"), "{}", out.stderr);
}

#[test]
fn local_recipients_go_to_their_aliases_and_dry_run_shows_it() {
    let server = Server::start();
    let home = Home::new();
    let aliases = home.join("aliases");
    std::fs::write(
        &aliases,
        "# admins\nroot: admin@example.com, ops\nops: ops@example.com\npostmaster: root\n",
    )
    .unwrap();
    home.write_system_config(
        &system_relay(
            &server.addr(),
            &format!(
                "from = \"host@example.com\"\naliases = \"{}\"\n",
                aliases.display()
            ),
        ),
        0o644,
    );
    let message = "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@vm> backup\n\nok\n";
    let out = home.run(["-i", "postmaster"]).stdin(message).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(
        transaction.recipients(),
        ["admin@example.com", "ops@example.com"]
    );
    assert_eq!(transaction.sender(), "host@example.com");
    // Without rewrite-local-headers the header is the message's own.
    assert!(
        transaction
            .message_text()
            .starts_with("From: root (Cron Daemon)\r\nTo: root\r\n"),
        "{}",
        transaction.message_text()
    );

    let out = home
        .run(["--dry-run", "-i", "root"])
        .stdin(message)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The envelope, after the aliases, on stderr; the message alone on stdout.
    assert!(
        out.stderr.starts_with(
            "MAIL FROM:<host@example.com>\nRCPT TO:<admin@example.com>\nRCPT TO:<ops@example.com>\n"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.starts_with("From: root"), "{}", out.stdout);
}

#[test]
fn rewrite_local_headers_makes_to_and_from_acceptable_to_a_relay() {
    let server = Server::start();
    let home = Home::new();
    let aliases = home.join("aliases");
    std::fs::write(&aliases, "root: admin@example.com\n").unwrap();
    home.write_system_config(
        &system_relay(
            &server.addr(),
            &format!(
                "from = \"cron@example.com\"\naliases = \"{}\"\nrewrite-local-headers = true\n",
                aliases.display()
            ),
        ),
        0o644,
    );
    let message = "From: root (Cron Daemon)\nTo: root\nCc: x@example.net\nSubject: s\n\nok\n";
    let out = home
        .run(["-FCronDaemon", "-i", "root"])
        .stdin(message)
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.recipients(), ["admin@example.com"]);
    assert!(
        transaction.message_text().starts_with(
            "From: \"CronDaemon\" <cron@example.com>\r\nTo: <admin@example.com>\r\n\
             Cc: x@example.net\r\nSubject: s\r\n"
        ),
        "{}",
        transaction.message_text()
    );
}

#[test]
fn an_alias_loop_or_a_missing_alias_file_is_a_configuration_error() {
    let home = Home::new();
    let aliases = home.join("aliases");
    std::fs::write(&aliases, "root: admins\nadmins: root\n").unwrap();
    home.write_config(
        &format!(
            "default = \"a\"\n[accounts.a]\nserver = \"{}\"\naliases = \"{}\"\n",
            refused_addr(),
            aliases.display()
        ),
        0o600,
    );
    let out = home
        .run(["-i", "root"])
        .stdin("Subject: x\n\nhi\n")
        .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: alias file {}: the aliases loop (root → admins → root); see line 1\n",
            aliases.display()
        )
    );
    assert!(home.ids().is_empty(), "nothing queued: {:?}", home.files());

    std::fs::remove_file(&aliases).unwrap();
    let out = home
        .run(["-i", "root"])
        .stdin("Subject: x\n\nhi\n")
        .output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: cannot read the alias file {}: No such file or directory\n",
            aliases.display()
        )
    );
}

#[test]
fn files_an_account_names_are_absolute_paths() {
    for key in ["aliases", "log-file"] {
        let home = Home::with_config(&format!("[accounts.a]\n{key} = \"aliases\"\n"), 0o600);
        let out = home.run(["--show-config"]).output();
        assert_eq!(out.code, 78, "{}", out.stderr);
        assert!(
            out.stderr.ends_with(&format!(
                "line 2, key {key}: give an absolute path (or one in your home, ~/…): sendmail \
                 is called from any directory\n"
            )),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn newaliases_and_bi_check_the_alias_file() {
    let dir = tempfile::tempdir().unwrap();
    let newaliases = named(dir.path(), "newaliases");
    let home = Home::new();
    let aliases = home.join("aliases");
    std::fs::write(&aliases, "root: admin@example.com\npostmaster: root\n").unwrap();
    home.write_config(
        &format!(
            "default = \"a\"\n[accounts.a]\naliases = \"{}\"\n",
            aliases.display()
        ),
        0o600,
    );
    let expected = format!(
        "root: admin@example.com\npostmaster: admin@example.com\n2 aliases in {}, none loops\n",
        aliases.display()
    );
    let out = home.run(Vec::<&str>::new()).program(&newaliases).output();
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, expected.as_str()),
        "{}",
        out.stderr
    );
    let out = home.run(["-bi"]).output();
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, expected.as_str()),
        "{}",
        out.stderr
    );

    std::fs::write(&aliases, "root: |/usr/bin/procmail\n").unwrap();
    let out = home.run(["-I"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("line 1: \"|/usr/bin/procmail\" is a command"),
        "{}",
        out.stderr
    );

    // Without an alias file there is nothing to check (package scripts call newaliases).
    let out = Run::new(Vec::<&str>::new()).program(&newaliases).output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("no alias file is configured"),
        "{}",
        out.stdout
    );
}

#[test]
fn from_substitutions_and_set_from_header() {
    let server = Server::start();
    let home = Home::new();
    home.write_system_config(
        &system_relay(
            &server.addr(),
            "from = \"Web %U <%U@example.com>\"\nset-from-header = \"always\"\n",
        ),
        0o644,
    );
    let out = home
        .run(["-i", "b@example.com"])
        .env("LOGNAME", "www-data")
        .stdin("From: someone@else.example\nSubject: s\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "www-data@example.com");
    assert!(
        transaction
            .message_text()
            .starts_with("From: \"Web www-data\" <www-data@example.com>\r\nSubject: s\r\n"),
        "{}",
        transaction.message_text()
    );

    // never: a message without From goes without one.
    let server = Server::start();
    home.write_system_config(
        &system_relay(
            &server.addr(),
            "from = \"%U@example.com\"\nset-from-header = \"never\"\n",
        ),
        0o644,
    );
    let out = home
        .run(["-i", "b@example.com"])
        .env("LOGNAME", "www-data")
        .stdin("Subject: s\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = server.finish();
    let transaction = record.only_completed();
    assert_eq!(transaction.sender(), "www-data@example.com");
    assert!(
        !transaction.message_text().contains("From:"),
        "{}",
        transaction.message_text()
    );

    // A % that is no substitution is named with its line.
    home.write_system_config(
        &system_relay("x.example:25", "from = \"%u@example.com\"\n"),
        0o644,
    );
    let out = home.run(["--show-config"]).output();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("line 5, key from: %u is not a substitution"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_refused_sender_made_from_the_login_and_host_name_says_so() {
    let server = Server::builder()
        .on(
            Verb::Mail,
            Action::reply(553, "5.1.8 sender domain does not exist"),
        )
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "hi"])
        .server(&server)
        .env("LOGNAME", "root")
        .output();
    assert_eq!(out.code, 69, "{}", out.stderr);
    let host = out
        .stderr
        .split("sender root@")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert_eq!(
        out.stderr,
        format!(
            "smtpsend: server refused MAIL FROM: 553 5.1.8 sender domain does not exist; \
             sender root@{host} was made from the login and host name; set from = … in the \
             configuration (for every user: from = \"%U@your.domain\" in the system file) or \
             give --from\n"
        )
    );
    server.finish();

    // Given with --from, it is the user's choice: nothing to add.
    let server = Server::builder()
        .on(
            Verb::Mail,
            Action::reply(553, "5.1.8 sender domain does not exist"),
        )
        .start();
    let out = Run::new(["--to", "b@example.com", "--body", "hi"])
        .server(&server)
        .sender("root@vm")
        .output();
    assert_eq!(
        out.stderr,
        "smtpsend: server refused MAIL FROM: 553 5.1.8 sender domain does not exist\n"
    );
    server.finish();

    // Postfix refuses senders at RCPT; a sendmail call queues it, saying why.
    let server = Server::builder()
        .on(
            Verb::Rcpt,
            Action::reply(
                450,
                "4.1.8 <root@vm>: Sender address rejected: Domain not found",
            ),
        )
        .start();
    let home = Home::new();
    let out = home
        .run(["-i", "b@example.com"])
        .server(&server)
        .env("LOGNAME", "root")
        .stdin("Subject: s\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("smtpsend: queued as "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("was made from the login and host name; set from = …"),
        "{}",
        out.stderr
    );
    server.finish();
}

#[test]
fn a_sendmail_call_keeps_what_it_cannot_send_and_says_so_in_show_config() {
    let dir = tempfile::tempdir().unwrap();
    let sendmail = named(dir.path(), "sendmail");
    let home = Home::new();
    let out = home
        .run(["root"])
        .program(&sendmail)
        .server(&refused_addr())
        .stdin("Subject: s\n\nhi\n")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = queued_id(&out.stderr);
    assert_eq!(home.ids(), [id]);

    let out = home.run(["--show-config"]).program(&sendmail).output();
    assert!(
        out.stdout.contains(
            "queue           on-failure  (default for a sendmail call: invoked as sendmail)"
        ),
        "{}",
        out.stdout
    );
    let out = home.run(["-oi", "--show-config"]).output();
    assert!(
        out.stdout
            .contains("queue           on-failure  (default for a sendmail call: -oi)"),
        "{}",
        out.stdout
    );
    // smtpsend's own command line queues only when asked to.
    let out = home
        .run(["--to", "b@example.com", "--body", "hi"])
        .server(&refused_addr())
        .output();
    assert_eq!(out.code, 75, "{}", out.stderr);
    let out = home.run(["--show-config"]).output();
    assert!(
        out.stdout.contains("queue           never  (default)"),
        "{}",
        out.stdout
    );
}
