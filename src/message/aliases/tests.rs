//! Unit tests of `aliases`.

use super::*;

fn parse(text: &str) -> anyhow::Result<Aliases> {
    Aliases::parse(Path::new("/etc/aliases"), text)
}

fn error(text: &str) -> String {
    let err = parse(text).unwrap_err();
    assert_eq!(crate::base::exit::code_for(&err), 78);
    crate::base::exit::one_line(&err)
}

#[test]
fn names_expand_to_addresses_through_other_names() {
    let aliases = parse(
        "# the admins\n\
         root: admin@example.com, ops@example.com  # both\n\
         postmaster: root\n\
         WWW-Data: root,\n  web@example.com\n\
         \n",
    )
    .unwrap();
    assert_eq!(
        aliases.expand("root").unwrap(),
        ["admin@example.com", "ops@example.com"]
    );
    assert_eq!(
        aliases.expand("www-data").unwrap(),
        ["admin@example.com", "ops@example.com", "web@example.com"]
    );
    assert_eq!(aliases.expand("Postmaster").unwrap().len(), 2);
    assert_eq!(aliases.expand("nobody").unwrap(), ["nobody"]);
}

#[test]
fn default_stands_for_any_other_name() {
    let aliases = parse("root: admin@example.com\ndefault: root, log@example.com\n").unwrap();
    assert_eq!(
        aliases.expand("backup").unwrap(),
        ["admin@example.com", "log@example.com"]
    );
    assert_eq!(aliases.expand("root").unwrap(), ["admin@example.com"]);
}

#[test]
fn loops_are_errors_naming_the_chain() {
    let aliases = parse("a: b\nb: c\nc: a\n").unwrap();
    let err = aliases.expand("a").unwrap_err();
    assert_eq!(crate::base::exit::code_for(&err), 78);
    assert_eq!(
        crate::base::exit::one_line(&err),
        "alias file /etc/aliases: the aliases loop (a → b → c → a); see line 1"
    );
    // default pointing at a name it stands for is a loop too.
    let aliases = parse("default: someone\n").unwrap();
    assert!(
        crate::base::exit::one_line(&aliases.expand("x").unwrap_err())
            .contains("(default → default)")
    );
}

#[test]
fn what_only_a_local_agent_can_do_is_refused() {
    for (text, says) in [
        ("root: |/usr/bin/procmail\n", "is a command"),
        ("root: /var/mail/root\n", "is a file"),
        ("root: :include: /etc/list\n", "is an :include:"),
        ("root: a@example.com,\n", "empty address"),
        ("root@example.com: a@example.com\n", "not a local name"),
        (
            "root: a@example.com\nROOT: b@example.com\n",
            "defined twice (first on line 1)",
        ),
        ("just a line\n", "expected name: address"),
        ("root: two words\n", "contains a space"),
    ] {
        let message = error(text);
        assert!(message.contains(says), "{text:?}: {message}");
        assert!(
            message.starts_with("alias file /etc/aliases line "),
            "{message}"
        );
    }
}
