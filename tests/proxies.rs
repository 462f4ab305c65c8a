//! `--proxy` against SOCKS5 and HTTP CONNECT proxies on loopback: the message arrives
//! through the tunnel, the proxy is asked for the server by name (socks5h, CONNECT) or by
//! address (socks5), the proxy login comes from a credential source and is never printed,
//! and a proxy that refuses the destination or cannot be reached is named in the error.

use crate::support::*;

const MESSAGE: [&str; 6] = [
    "--from",
    "a@example.com",
    "--to",
    "b@example.com",
    "--body",
    "through the proxy",
];

/// The test server as a name the proxy resolves (`localhost:PORT`).
fn by_name(server: &Server) -> String {
    format!("localhost:{}", server.port())
}

#[test]
fn socks5h_asks_the_proxy_for_the_name_and_the_message_arrives() {
    let server = Server::start();
    let proxy = TestProxy::start(ProxyProtocol::Socks5, None, false);
    let out = Run::new(MESSAGE)
        .server(&by_name(&server))
        .args(["--proxy", &proxy.url("socks5h"), "-d"])
        .output();
    let port = server.port();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record.only_completed().recipients(), ["b@example.com"]);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].destination, format!("localhost:{port}"));
    assert!(
        out.stderr.contains("via socks5h://127.0.0.1:"),
        "{}",
        out.stderr
    );
}

#[test]
fn socks5_resolves_the_name_here_and_sends_an_address() {
    let server = Server::start();
    let proxy = TestProxy::start(ProxyProtocol::Socks5, None, false);
    let out = Run::new(MESSAGE)
        .server(&by_name(&server))
        .args(["--proxy", &proxy.url("socks5")])
        .output();
    let port = server.port();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record.completed().len(), 1);
    let asked: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|r| r.destination)
        .collect();
    assert!(
        asked.contains(&format!("127.0.0.1:{port}")) || asked.contains(&format!("[::1]:{port}")),
        "{asked:?}"
    );
    assert!(
        !asked.iter().any(|d| d.starts_with("localhost")),
        "{asked:?}"
    );
}

#[test]
fn http_connect_tunnels_the_session() {
    let server = Server::start();
    let proxy = TestProxy::start(ProxyProtocol::HttpConnect, None, false);
    let out = Run::new(MESSAGE)
        .server(&by_name(&server))
        .args(["--proxy", &proxy.url("http")])
        .output();
    let port = server.port();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record.only_completed().recipients(), ["b@example.com"]);
    assert_eq!(proxy.requests()[0].destination, format!("localhost:{port}"));
}

#[test]
fn starttls_runs_end_to_end_through_the_tunnel() {
    // Through a proxy the server is never "local", so STARTTLS is used and the login may go.
    let certs = TestCerts::localhost();
    let server = Server::builder()
        .starttls(certs.identity.clone())
        .auth("PLAIN", "alice", "Tunnel-Pass-42")
        .start();
    let proxy = TestProxy::start(ProxyProtocol::Socks5, None, false);
    let out = Run::new(MESSAGE)
        .server(&by_name(&server))
        .args([
            "--proxy",
            &proxy.url("socks5h"),
            "--tls-ca-file",
            certs.ca_file(),
        ])
        .args(["--user", "alice"])
        .env("SMTPSEND_PASSWORD", "Tunnel-Pass-42")
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(record.connections[0].tls);
    assert_eq!(
        record.connections[0].authenticated_as,
        Some(("PLAIN".to_string(), "alice".to_string()))
    );
}

#[test]
fn a_proxy_that_refuses_the_destination_is_named() {
    for (protocol, scheme) in [
        (ProxyProtocol::Socks5, "socks5h"),
        (ProxyProtocol::HttpConnect, "http"),
    ] {
        let server = Server::start();
        let proxy = TestProxy::start(protocol, None, true);
        let out = Run::new(MESSAGE)
            .server(&by_name(&server))
            .args(["--proxy", &proxy.url(scheme)])
            .output();
        let record = server.finish();
        let line = out.stderr.lines().last().unwrap_or_default().to_string();
        assert!(
            line.contains(&format!("the proxy {}", proxy.url(scheme))),
            "{line}"
        );
        match protocol {
            ProxyProtocol::Socks5 => {
                assert_eq!(out.code, 75, "{line}");
                assert!(
                    line.contains("connection refused (SOCKS5 reply 5)"),
                    "{line}"
                );
            }
            ProxyProtocol::HttpConnect => {
                assert_eq!(out.code, 69, "{line}");
                assert!(line.contains("403 Forbidden"), "{line}");
            }
        }
        assert_eq!(record.connection_count(), 0);
    }
}

#[test]
fn a_proxy_that_cannot_be_reached_is_temporary_and_queued() {
    let home = Home::new();
    let out = home
        .run(MESSAGE)
        .server("localhost:25")
        .args(["--proxy", &format!("socks5h://{}", refused_addr())])
        .args(["--queue", "on-failure"])
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot connect to the proxy socks5h://"),
        "{}",
        out.stderr
    );
    assert_eq!(home.ids().len(), 1);
}

#[test]
fn the_proxy_login_comes_from_a_credential_source_and_is_never_printed() {
    const PROXY_PASSWORD: &str = "Proxy-Secret-991";
    for (protocol, scheme) in [
        (ProxyProtocol::Socks5, "socks5h"),
        (ProxyProtocol::HttpConnect, "http"),
    ] {
        let server = Server::start();
        let proxy = TestProxy::start(protocol, Some(("carol", PROXY_PASSWORD)), false);
        let out = Run::new(MESSAGE)
            .server(&by_name(&server))
            .args([
                "--proxy",
                &proxy.url_with_user(scheme, "carol"),
                "-ddd",
                "--json",
            ])
            .env("SMTPSEND_PROXY_PASSWORD", PROXY_PASSWORD)
            .output();
        let record = server.finish();
        assert_eq!(out.code, 0, "{scheme}: {}", out.stderr);
        assert_eq!(record.completed().len(), 1);
        let login = proxy.requests()[0].login.clone();
        assert_eq!(login, Some(("carol".into(), PROXY_PASSWORD.into())));
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains(PROXY_PASSWORD), "{all}");
        assert!(
            !all.contains(&b64(format!("carol:{PROXY_PASSWORD}").as_bytes())),
            "{all}"
        );
    }
}

#[test]
fn a_wrong_proxy_password_is_an_authentication_failure() {
    let server = Server::start();
    let proxy = TestProxy::start(ProxyProtocol::Socks5, Some(("carol", "right-one")), false);
    let out = Run::new(MESSAGE)
        .server(&by_name(&server))
        .args(["--proxy", &proxy.url_with_user("socks5h", "carol")])
        .env("SMTPSEND_PROXY_PASSWORD", "wrong-one")
        .output();
    server.finish();
    assert_eq!(out.code, 77, "{}", out.stderr);
    assert!(
        out.stderr.contains("refused the user name and password"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_password_in_the_proxy_url_is_refused_and_not_shown() {
    let out = Run::new(MESSAGE)
        .server("localhost:25")
        .args(["--proxy", "socks5h://carol:Leaky-Pass-5@127.0.0.1:1080"])
        .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(!out.stderr.contains("Leaky-Pass-5"), "{}", out.stderr);
    assert!(
        out.stderr.contains("SMTPSEND_PROXY_PASSWORD"),
        "{}",
        out.stderr
    );
}

#[test]
fn all_proxy_is_used_only_when_asked_for_and_no_proxy_is_honoured() {
    let server = Server::start();
    let proxy = TestProxy::start(ProxyProtocol::Socks5, None, false);
    // Without --proxy env, ALL_PROXY is ignored: the server is reached directly.
    let out = Run::new(MESSAGE)
        .server(&by_name(&server))
        .env("ALL_PROXY", proxy.url("socks5h"))
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(proxy.requests().is_empty());
    let out = Run::new(MESSAGE)
        .server(&by_name(&server))
        .args(["--proxy", "env"])
        .env("ALL_PROXY", proxy.url("socks5h"))
        .env("NO_PROXY", "example.org,localhost")
        .output();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(proxy.requests().is_empty());
    let out = Run::new(MESSAGE)
        .server(&by_name(&server))
        .args(["--proxy", "env"])
        .env("ALL_PROXY", proxy.url("socks5h"))
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(proxy.requests().len(), 1);
    assert_eq!(record.completed().len(), 3);
}

#[test]
fn a_proxy_cannot_reach_a_unix_socket() {
    let out = Run::new(MESSAGE)
        .server("unix:/nonexistent/socket")
        .args(["--proxy", "socks5h://127.0.0.1:1080"])
        .output();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(out.stderr.contains("cannot reach"), "{}", out.stderr);
}

#[test]
fn a_password_command_does_not_inherit_the_proxy_password() {
    // The command prints the variable's value, or "absent": the login succeeds only with
    // "absent".
    let server = Server::builder().auth("PLAIN", "alice", "absent").start();
    let out = Run::new(MESSAGE)
        .server(&server)
        .args(["--user", "alice", "--password-command"])
        .arg("printf '%s\\n' \"${SMTPSEND_PROXY_PASSWORD:-absent}\"")
        .env("SMTPSEND_PROXY_PASSWORD", "Leaked-To-Child-3")
        .output();
    let record = server.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        record.connections[0].authenticated_as,
        Some(("PLAIN".to_string(), "alice".to_string()))
    );
}
