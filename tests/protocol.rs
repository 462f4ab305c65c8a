//! Protocol extensions as the user sees them: enhanced status codes, DSN, the 452 split,
//! CHUNKING, SMTPUTF8 — what reached the server, the exit code, stderr, round trips.

mod support;

use support::*;

fn args<'a>(server: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--server", server, "--from", "a@example.com"];
    all.extend_from_slice(extra);
    all
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", out.stdout))
}

// --- Enhanced status codes (RFC 3463, RFC 2034) ---

#[test]
fn enhanced_codes_appear_once_in_error_lines_and_with_their_meaning_in_json() {
    let server = Server::builder()
        .on_rcpt(
            "gone",
            Action::reply(
                550,
                "5.1.1 The account does not exist.\n5.1.1 Please check the address.",
            ),
        )
        .start();
    let addr = server.addr();
    let out = smtpsend(
        &args(
            &addr,
            &["--to", "gone@example.com", "--body", "x", "--json"],
        ),
        b"",
    );
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: nothing sent: the server refused 1 of 1 recipients: <gone@example.com> \
         (550 5.1.1 The account does not exist. Please check the address.)\n"
    );
    let report = json(&out);
    let gone = &report["recipients"][0];
    assert_eq!(gone["enhanced_code"], "5.1.1");
    assert_eq!(gone["enhanced_meaning"], "bad destination mailbox address");
}

#[test]
fn a_refused_sender_shows_the_enhanced_code_and_exits_69() {
    let server = Server::builder()
        .on(Verb::Mail, Action::reply(553, "5.7.1 sender rejected"))
        .start();
    let addr = server.addr();
    let out = smtpsend(
        &args(&addr, &["--to", "b@example.com", "--body", "x", "--json"]),
        b"",
    );
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "smtpsend: server refused MAIL FROM: 553 5.7.1 sender rejected\n"
    );
    let report = json(&out);
    assert_eq!(report["reply"]["enhanced_code"], "5.7.1");
    assert_eq!(
        report["reply"]["enhanced_meaning"],
        "delivery not authorized, message refused"
    );
}

#[test]
fn a_code_of_the_wrong_class_is_not_taken_for_an_enhanced_code() {
    let server = Server::builder()
        .on_rcpt("b@", Action::reply(550, "2.0.0 confused server"))
        .start();
    let addr = server.addr();
    let out = smtpsend(
        &args(&addr, &["--to", "b@example.com", "--body", "x", "--json"]),
        b"",
    );
    assert_eq!(out.code, 67, "{}", out.stderr);
    assert_eq!(
        json(&out)["recipients"][0]["enhanced_code"],
        serde_json::Value::Null
    );
}
