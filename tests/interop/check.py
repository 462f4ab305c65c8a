#!/usr/bin/env python3
"""Interop checks: the smtpsend binary against real servers on 127.0.0.1.

Servers: Postfix's smtp-sink (dumping each message to a file), aiosmtpd
(tests/interop/aiosmtpd_server.py), and a private full Postfix instance on a loopback
port (it offers CHUNKING, which smtp-sink does not) delivering to a Maildir. A composed report
(Markdown, an inline chart, stdin attached) is also shown in headless Chromium and its
screenshot checked pixel by pixel (tests/interop/browser.py). Prints one line per check and
ends with `interop: N passed, M failed`; exits 1 when any check failed.

    check.py path/to/smtpsend [--out DIR]     (DIR keeps a --debug transcript for reports)
"""

import argparse
import base64
import email
import email.policy
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REPORT = ROOT / "tests" / "data" / "report"
RESULTS = []


def check(name, condition, detail=""):
    RESULTS.append(bool(condition))
    print(f"{'PASS' if condition else 'FAIL'} {name}" + ("" if condition else f": {detail}"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(path_or_port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if isinstance(path_or_port, Path):
            if path_or_port.exists() and path_or_port.read_text().strip():
                return int(path_or_port.read_text())
        else:
            try:
                with socket.create_connection(("127.0.0.1", path_or_port), timeout=1):
                    return path_or_port
            except OSError:
                pass
        time.sleep(0.1)
    raise SystemExit(f"interop: server did not start ({path_or_port})")


class Servers:
    def __init__(self, work):
        self.work = work
        self.procs = []
        self.stops = []

    def smtp_sink(self, name="sink"):
        dump = self.work / name
        dump.mkdir()
        dump.chmod(0o777)
        port = free_port()
        self.procs.append(subprocess.Popen(
            ["smtp-sink", "-u", "nobody", "-d", f"{dump}/%M.", f"127.0.0.1:{port}", "16"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(port)
        return port, dump

    def aiosmtpd(self, name, *options):
        store = self.work / name
        store.mkdir()
        port_file = self.work / f"{name}.port"
        self.procs.append(subprocess.Popen(
            [sys.executable, str(HERE / "aiosmtpd_server.py"), "--dir", str(store),
             "--port-file", str(port_file), *options],
            stdout=subprocess.DEVNULL, stderr=open(self.work / f"{name}.log", "w")))
        return wait_for(port_file), store

    def postfix(self, recipient_limit):
        """A private Postfix (its own config, queue and data directories under the work
        directory; needs root and the postfix package): smtpd on a free loopback port,
        example.com delivered by virtual(8) into one Maildir, everything logged to a file.
        Returns (port, maildir, maillog)."""
        base = self.work / "postfix"
        etc, queue, data, mail = (base / d for d in ("etc", "queue", "data", "mail"))
        for directory in (etc, queue, data, mail):
            directory.mkdir(parents=True)
        base.chmod(0o755)
        shutil.chown(data, "postfix")
        shutil.chown(mail, "nobody", "nogroup" if _group_exists("nogroup") else "nobody")
        port = free_port()
        maillog = base / "maillog"
        (etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.test
mydomain = postfix.test
myorigin = postfix.test
mydestination =
relayhost =
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = reject_unauth_destination
virtual_mailbox_domains = example.com
virtual_mailbox_base = {mail}
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:{_uid("nobody")}
virtual_gid_maps = static:{_gid_of("nobody")}
virtual_minimum_uid = 1
smtpd_recipient_limit = {recipient_limit}
smtputf8_enable = no
biff = no
maillog_file = {maillog}
maillog_file_prefixes = {base}
""")
        services = [
            f"127.0.0.1:{port} inet n - n - - smtpd",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
            "showq unix n - n - - showq",
        ]
        (etc / "master.cf").write_text("\n".join(services) + "\n")
        started = subprocess.run(["postfix", "-c", str(etc), "start"], capture_output=True,
                                 timeout=60)
        if started.returncode != 0:
            raise RuntimeError(f"postfix start: {started.stderr.decode()} "
                               f"{maillog.read_text() if maillog.exists() else ''}")
        self.stops.append(lambda: subprocess.run(["postfix", "-c", str(etc), "stop"],
                                                 capture_output=True, timeout=60))
        wait_for(port)
        return port, mail / "Maildir", maillog

    def stop(self):
        for stop in self.stops:
            stop()
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def _uid(user):
    import pwd
    return pwd.getpwnam(user).pw_uid


def _gid_of(user):
    import pwd
    return pwd.getpwnam(user).pw_gid


def _group_exists(name):
    import grp
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def run(binary, args, stdin=b"", env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMTPSEND_")}
    # The machine's /etc/smtpsend/config.toml (package.sh writes one) is no part of these checks.
    full_env["SMTPSEND_SYSTEM_CONFIG"] = "/nonexistent/smtpsend-system.toml"
    full_env.update(env or {})
    return subprocess.run([binary, *args], input=stdin, capture_output=True, env=full_env,
                          timeout=120)


def wait_files(directory, pattern, count, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = sorted(directory.glob(pattern))
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return sorted(directory.glob(pattern))


def sink_message(path):
    """smtp-sink's dump: X-* envelope lines, its Received line, then the message (LF)."""
    text = path.read_bytes()
    lines = text.split(b"\n")
    mail = [l.split(b": ", 1)[1].decode() for l in lines if l.startswith(b"X-Mail-Args: ")]
    rcpts = [l.split(b": ", 1)[1].decode() for l in lines if l.startswith(b"X-Rcpt-Args: ")]
    envelope = (b"X-Client-", b"X-Helo-Args: ", b"X-Mail-Args: ", b"X-Rcpt-Args: ")
    message = b"\n".join(l for l in lines if not l.startswith(envelope))
    return mail, rcpts, email.message_from_bytes(message, policy=email.policy.default)


def check_composed(label, message, files, body_lines):
    check(f"{label}: subject decoded", message["Subject"] == "Grüße – Übersicht ✓", message["Subject"])
    check(f"{label}: To and Cc present", "bob@example.com" in str(message["To"])
          and "carol@example.com" in str(message["Cc"]))
    check(f"{label}: no Bcc header, Bcc address nowhere",
          all(key.lower() != "bcc" for key in message.keys())
          and b"dave@" not in message.as_bytes(), str(message.keys()))
    text = message.get_body(preferencelist=("plain",)).get_content()
    check(f"{label}: body lines intact", all(line in text for line in body_lines), repr(text))
    attachments = {part.get_filename(): part.get_payload(decode=True)
                   for part in message.iter_attachments()}
    for path in files:
        got = attachments.get(path.name)
        check(f"{label}: attachment {path.name} byte-identical",
              got is not None and hashlib.sha256(got).digest() == hashlib.sha256(path.read_bytes()).digest(),
              f"names {list(attachments)}")


PASSWORD = "Interop-Secret-42!"


def make_certificate(work):
    """A self-signed certificate for localhost and 127.0.0.1 (it is its own CA file)."""
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def secret_forms(user, password):
    forms = [password]
    for raw in (password, f"\0{user}\0{password}"):
        forms.append(base64.b64encode(raw.encode()).decode())
    return forms


def check_tls_and_auth(binary, servers, work, out):
    cert, key = make_certificate(work)
    user = "alice"
    starttls_port, starttls_store = servers.aiosmtpd(
        "starttls", "--starttls", str(cert), str(key), "--require-starttls",
        "--auth", f"{user}:{PASSWORD}")
    smtps_port, smtps_store = servers.aiosmtpd(
        "smtps", "--implicit-tls", str(cert), str(key), "--auth", f"{user}:{PASSWORD}")
    message = ["--from", "alice@example.com", "--to", "bob@example.com", "--subject", "tls",
               "--body", "over TLS"]
    env = {"SMTPSEND_PASSWORD": PASSWORD}
    delivered = 0
    for mechanism in ("plain", "login", "cram-md5"):
        result = run(binary, ["-d", "--server", f"127.0.0.1:{starttls_port}", "--tls", "starttls",
                              "--tls-ca-file", str(cert), "--user", user, "--auth", mechanism,
                              *message], env=env)
        transcript = result.stderr.decode()
        if mechanism == "plain":
            (out / "starttls-auth-transcript.txt").write_text(transcript)
        check(f"aiosmtpd STARTTLS + AUTH {mechanism}: exits 0", result.returncode == 0, transcript)
        delivered += result.returncode == 0
        stored = wait_files(starttls_store, "*.json", delivered)
        check(f"aiosmtpd STARTTLS + AUTH {mechanism}: message arrived",
              len(stored) == delivered and b"over TLS" in stored[-1].with_suffix(".eml").read_bytes())
        check(f"aiosmtpd STARTTLS + AUTH {mechanism}: TLS line and redacted AUTH in transcript",
              "tls: TLSv1." in transcript
              and f"send: 'AUTH {mechanism.upper()}" in transcript and "<redacted>" in transcript,
              transcript)
        leaked = [form for form in secret_forms(user, PASSWORD)
                  if form in transcript or form in result.stdout.decode()]
        check(f"aiosmtpd STARTTLS + AUTH {mechanism}: password nowhere in the output", not leaked,
              str(leaked))

    result = run(binary, ["--server", f"smtps://127.0.0.1:{smtps_port}", "--tls-ca-file", str(cert),
                          "--user", user, *message], env=env)
    check("aiosmtpd implicit TLS (smtps://) + AUTH: exits 0", result.returncode == 0,
          result.stderr.decode())
    check("aiosmtpd implicit TLS: message arrived", len(wait_files(smtps_store, "*.json", 1)) == 1)

    result = run(binary, ["--server", f"127.0.0.1:{starttls_port}", "--tls", "starttls",
                          "--tls-ca-file", str(cert), "--user", user, *message],
                 env={"SMTPSEND_PASSWORD": "wrong-password"})
    (out / "wrong-password.txt").write_text(result.stderr.decode())
    check("aiosmtpd: wrong password exits 77 with the server's 535",
          result.returncode == 77 and b"535" in result.stderr
          and b"wrong-password" not in result.stderr, result.stderr.decode())

    result = run(binary, ["--server", f"127.0.0.1:{starttls_port}", "--tls", "starttls",
                          "--user", user, *message], env=env)
    (out / "untrusted-certificate.txt").write_text(result.stderr.decode())
    check("aiosmtpd: untrusted certificate exits 69, nothing sent",
          result.returncode == 69 and b"not trusted" in result.stderr
          and len(list(starttls_store.glob("*.json"))) == delivered, result.stderr.decode())
    return starttls_port, cert


def fingerprint(cert):
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def check_network(binary, servers, work, aio_port, aio_store, starttls_port, cert):
    """--tls-fingerprint against aiosmtpd's self-signed certificate (no CA file), and
    --proxy through real proxies: microsocks (SOCKS5) and tinyproxy (HTTP CONNECT)."""
    message = ["--from", "alice@example.com", "--to", "bob@example.com", "--body", "net"]
    env = {"SMTPSEND_PASSWORD": PASSWORD}
    login = ["--user", "alice", "--tls", "starttls"]
    result = run(binary, ["--server", f"127.0.0.1:{starttls_port}", *login,
                          "--tls-fingerprint", fingerprint(cert), *message], env=env)
    check("pinned self-signed certificate at aiosmtpd, no CA file: exits 0",
          result.returncode == 0, result.stderr.decode())
    wrong = ":".join(["AB"] * 32)
    result = run(binary, ["--server", f"127.0.0.1:{starttls_port}", *login,
                          "--tls-fingerprint", wrong, *message], env=env)
    check("another pinned fingerprint: exits 69 naming both fingerprints",
          result.returncode == 69 and wrong.encode() in result.stderr
          and fingerprint(cert).encode() in result.stderr, result.stderr.decode())

    before = len(list(aio_store.glob("*.json")))
    proxy_port = free_port()
    servers.procs.append(subprocess.Popen(
        ["microsocks", "-i", "127.0.0.1", "-p", str(proxy_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(proxy_port)
    for scheme in ("socks5h", "socks5"):
        result = run(binary, ["--server", f"localhost:{aio_port}",
                              "--proxy", f"{scheme}://127.0.0.1:{proxy_port}", *message])
        before += result.returncode == 0
        check(f"microsocks {scheme}://: exits 0, message arrived",
              result.returncode == 0 and len(wait_files(aio_store, "*.json", before)) == before,
              result.stderr.decode())

    http_port = free_port()
    conf = work / "tinyproxy.conf"
    conf.write_text(f"Port {http_port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\n"
                    f"ConnectPort {aio_port}\nLogLevel Critical\n")
    servers.procs.append(subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(http_port)
    result = run(binary, ["--server", f"localhost:{aio_port}",
                          "--proxy", f"http://127.0.0.1:{http_port}", *message])
    before += result.returncode == 0
    check("tinyproxy http:// CONNECT: exits 0, message arrived",
          result.returncode == 0 and len(wait_files(aio_store, "*.json", before)) == before,
          result.stderr.decode())
    result = run(binary, ["--server", f"localhost:{free_port()}",
                          "--proxy", f"http://127.0.0.1:{http_port}", *message])
    check("tinyproxy refusing a port it does not allow: exits 69 naming the proxy",
          result.returncode == 69 and b"the proxy http://127.0.0.1:" in result.stderr,
          result.stderr.decode())


def check_probes(binary, servers, out, aio_port, starttls_port, cert, sink_port):
    """--server-info at the STARTTLS aiosmtpd, --verify/--expn/--check at plain aiosmtpd and
    smtp-sink: what they print and their exit codes."""
    result = run(binary, ["--server", f"127.0.0.1:{starttls_port}", "--server-info",
                          "--tls-ca-file", str(cert)])
    text = result.stdout.decode()
    (out / "server-info.txt").write_text(
        f"$ smtpsend --server 127.0.0.1:{starttls_port} --server-info --tls-ca-file cert.pem\n{text}"
        f"{result.stderr.decode()}exit {result.returncode}\n")
    check("--server-info at aiosmtpd with STARTTLS: exits 0, TLS used",
          result.returncode == 0 and "tls         STARTTLS\n" in text
          and "EHLO before STARTTLS:\n" in text and "EHLO after STARTTLS:\n" in text, text)
    check("--server-info at aiosmtpd: TLS version, cipher, subject, fingerprint",
          "  version     TLSv1." in text and "  cipher      TLS_" in text
          and "  subject     CN=localhost\n" in text
          and f"  sha256      {fingerprint(cert)}\n" in text, text)
    check("--server-info at aiosmtpd: AUTH appears after STARTTLS, STARTTLS goes away",
          "appeared after STARTTLS: AUTH" in text and "gone after STARTTLS: STARTTLS" in text
          and "  SIZE 33554432" in text and "largest message the server takes: 32 MiB" in text,
          text)

    result = run(binary, ["--server", f"127.0.0.1:{sink_port}", "--server-info", "--json"])
    info = json.loads(result.stdout or b"{}")
    keywords = [e["keyword"] for e in info.get("extensions", [])]
    check("--server-info --json at smtp-sink: DSN and XCLIENT explained, no blank line",
          result.returncode == 0 and "DSN" in keywords and "XCLIENT" in keywords
          and all(e["line"].strip() for e in info["extensions"])
          and info["auth_mechanisms"] == ["PLAIN", "LOGIN"] and info["tls"] is None,
          result.stdout.decode())

    result = run(binary, ["--server", f"127.0.0.1:{aio_port}", "--verify", "bob@example.com"])
    check("--verify at aiosmtpd: 252 printed, exits 0",
          result.returncode == 0 and result.stdout.startswith(b"252 "),
          result.stdout.decode() + result.stderr.decode())
    result = run(binary, ["--server", f"127.0.0.1:{aio_port}", "--expn", "staff"])
    check("--expn at aiosmtpd (502 EXPN not implemented): exits 69",
          result.returncode == 69 and b"502" in result.stderr, result.stderr.decode())
    result = run(binary, ["--server", f"127.0.0.1:{aio_port}", "--check"])
    check("--check at aiosmtpd: exits 0", result.returncode == 0
          and b": ok (greeting 220, EHLO ok, NOOP 250, QUIT 221)" in result.stdout,
          result.stdout.decode() + result.stderr.decode())
    result = run(binary, ["--server", f"127.0.0.1:{starttls_port}", "--check", "--tls", "starttls",
                          "--tls-ca-file", str(cert)])
    check("--check at aiosmtpd with STARTTLS: exits 0 over TLS",
          result.returncode == 0 and b"TLSv1." in result.stdout,
          result.stdout.decode() + result.stderr.decode())
    result = run(binary, ["--server", f"127.0.0.1:{free_port()}", "--check"])
    check("--check with nothing listening: exits 75", result.returncode == 75,
          result.stderr.decode())


def check_smtputf8(binary, servers, aio_port, aio_store):
    """SMTPUTF8 at aiosmtpd (offers it): UTF-8 envelope and header. At smtp-sink (does not):
    A-label domains, and a non-ASCII local part refused with nothing sent."""
    before = len(list(aio_store.glob("*.json")))
    result = run(binary, ["--server", f"127.0.0.1:{aio_port}", "--from", "info@exämple.com",
                          "--to", "jörg@bücher.example", "--subject", "utf8", "--body", "x"])
    check("SMTPUTF8 at aiosmtpd: exits 0", result.returncode == 0, result.stderr.decode())
    stored = wait_files(aio_store, "*.json", before + 1)
    if len(stored) > before:
        latest = max(stored, key=lambda p: int(p.stem))
        envelope = json.loads(latest.read_text())
        message = latest.with_suffix(".eml").read_bytes().decode()
        check("SMTPUTF8 at aiosmtpd: SMTPUTF8 parameter and UTF-8 envelope",
              "SMTPUTF8" in envelope["mail_options"]
              and envelope["mail_from"] == "info@exämple.com"
              and envelope["rcpt_tos"] == ["jörg@bücher.example"], str(envelope))
        check("SMTPUTF8 at aiosmtpd: UTF-8 To header arrived", "To: <jörg@bücher.example>" in message,
              message[:300])

    port, dump = servers.smtp_sink("sink-utf8")
    result = run(binary, ["--server", f"127.0.0.1:{port}", "--from", "info@exämple.com",
                          "--to", "orders@bücher.example", "--subject", "idn", "--body", "x"])
    check("no SMTPUTF8 at smtp-sink: exits 0", result.returncode == 0, result.stderr.decode())
    dumps = wait_files(dump, "*", 1)
    mail, rcpts, message = sink_message(dumps[0]) if dumps else ([], [], None)
    check("no SMTPUTF8 at smtp-sink: A-label domains in the envelope",
          mail and mail[0].startswith("<info@xn--exmple-cua.com>") and "SMTPUTF8" not in mail[0]
          and rcpts == ["<orders@xn--bcher-kva.example>"], f"{mail} {rcpts}")
    check("no SMTPUTF8 at smtp-sink: A-label domains in From and To",
          message is not None and "orders@xn--bcher-kva.example" in str(message["To"])
          and "info@xn--exmple-cua.com" in str(message["From"]), str(message and message.items()))
    result = run(binary, ["--server", f"127.0.0.1:{port}", "--from", "info@example.com",
                          "--to", "jörg@example.com", "--subject", "idn", "--body", "x"])
    time.sleep(0.5)
    check("no SMTPUTF8 at smtp-sink: non-ASCII local part exits 69, nothing sent",
          result.returncode == 69 and b"SMTPUTF8" in result.stderr
          and len(list(dump.glob("*"))) == 1, result.stderr.decode())


def check_queue_round_trip(binary, servers, work, out):
    """Queue with --queue on-failure to a port where nothing listens, start aiosmtpd on that
    port, flush with -q: the message arrives exactly once and the outbox is empty."""
    port = free_port()
    env = {"HOME": str(work / "queue-home"), "XDG_STATE_HOME": str(work / "queue-state")}
    send = ["--server", f"127.0.0.1:{port}", "--queue", "on-failure", "--from", "alice@example.com",
            "--to", "bob@example.com", "--subject", "queued while down", "--body", "kept for later"]
    transcript = []
    result = run(binary, send, env=env)
    stderr = result.stderr.decode()
    transcript.append(f"$ smtpsend {shlex.join(send)}\n{stderr}exit {result.returncode}\n")
    check("outbox: refused connection queues and exits 0",
          result.returncode == 0 and "smtpsend: queued as " in stderr, stderr)
    listed = run(binary, ["-bp"], env=env)
    transcript.append(f"$ smtpsend -bp\n{listed.stdout.decode()}")
    check("outbox: -bp shows the entry with its error",
          "from <alice@example.com>" in listed.stdout.decode()
          and "Connection refused" in listed.stdout.decode(), listed.stdout.decode())

    _, store = servers.aiosmtpd("queue-aiosmtpd", "--port", str(port))
    result = run(binary, ["-q", "--json"], env=env)
    transcript.append(f"$ # aiosmtpd now listens on 127.0.0.1:{port}\n$ smtpsend -q --json\n"
                      f"{result.stdout.decode()}{result.stderr.decode()}exit {result.returncode}\n")
    check("outbox: -q exits 0 once the server is up", result.returncode == 0, result.stderr.decode())
    again = run(binary, ["-q"], env=env)
    check("outbox: a second -q sends nothing more", again.returncode == 0, again.stderr.decode())
    stored = wait_files(store, "*.json", 1)
    time.sleep(0.5)
    stored = sorted(store.glob("*.json"))
    check("outbox: the message arrived exactly once", len(stored) == 1, str(stored))
    if stored:
        envelope = json.loads(stored[0].read_text())
        message = stored[0].with_suffix(".eml").read_bytes()
        check("outbox: envelope and body intact",
              envelope["mail_from"] == "alice@example.com"
              and envelope["rcpt_tos"] == ["bob@example.com"]
              and b"Subject: queued while down" in message and b"kept for later" in message,
              f"{envelope} {message[:300]!r}")
        head, _, body = message.partition(b"\r\n\r\n")
        transcript.append(f"$ # what aiosmtpd received ({len(stored)} message)\n"
                          f"MAIL FROM:<{envelope['mail_from']}> RCPT TO:{envelope['rcpt_tos']}\n"
                          f"{head.decode(errors='replace')}\n\n{body.decode(errors='replace')}")
    listed = run(binary, ["-bp"], env=env)
    transcript.append(f"$ smtpsend -bp\n{listed.stdout.decode()}")
    check("outbox: empty after the flush", listed.stdout.decode().startswith("the outbox is empty"),
          listed.stdout.decode())
    (out / "queue-round-trip.txt").write_text("".join(transcript))


def check_dsn(binary, servers):
    """DSN (RFC 3461) at smtp-sink, which offers it: RET/ENVID on MAIL, NOTIFY/ORCPT on RCPT."""
    port, dump = servers.smtp_sink("sink-dsn")
    result = run(binary, ["--server", f"127.0.0.1:{port}", "-N", "success,failure", "-R", "hdrs",
                          "-V", "build=1432", "--from", "alice@example.com",
                          "--to", "bob+ci@example.com", "--subject", "dsn", "--body", "x"])
    check("smtp-sink DSN: exits 0 without a warning", result.returncode == 0 and not result.stderr,
          result.stderr.decode())
    dumps = wait_files(dump, "*", 1)
    mail, rcpts, _ = sink_message(dumps[0]) if dumps else ([], [], None)
    check("smtp-sink DSN: RET and ENVID (xtext) on MAIL",
          mail and mail[0].startswith("<alice@example.com>")
          and "RET=HDRS" in mail[0] and "ENVID=build+3D1432" in mail[0], str(mail))
    check("smtp-sink DSN: NOTIFY and ORCPT (xtext) on RCPT",
          rcpts == ["<bob+ci@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bci@example.com"],
          str(rcpts))


def check_lmtp(binary, servers, work, out):
    """aiosmtpd speaking LMTP, over TCP and over a unix socket: per-recipient replies."""
    tcp_port, tcp_store = servers.aiosmtpd("lmtp", "--lmtp", "--lmtp-full", "full")
    socket_path = work / "lmtp.sock"
    servers.aiosmtpd("lmtp-unix", "--lmtp", "--lmtp-full", "full", "--unix", str(socket_path))
    unix_store = work / "lmtp-unix"
    message = ["--from", "alice@example.com", "--subject", "lmtp", "--body", "via LMTP"]

    result = run(binary, ["--lmtp", "--server", f"127.0.0.1:{tcp_port}", "--to", "bob@example.com",
                          "--to", "carol@example.com", *message])
    check("aiosmtpd LMTP over TCP: both delivered, exits 0", result.returncode == 0,
          result.stderr.decode())
    stored = wait_files(tcp_store, "*.json", 1)
    check("aiosmtpd LMTP over TCP: envelope", stored and json.loads(stored[0].read_text())["rcpt_tos"]
          == ["bob@example.com", "carol@example.com"])

    result = run(binary, ["-d", "--server", f"lmtp://127.0.0.1:{tcp_port}", "--to", "bob@example.com",
                          "--to", "full@example.com", *message])
    transcript = result.stderr.decode()
    (out / "lmtp-transcript.txt").write_text(transcript)
    check("aiosmtpd LMTP: one recipient full exits 75 and names both",
          result.returncode == 75 and "delivered to 1 of 2 recipients (<bob@example.com>)" in transcript
          and "not to <full@example.com> (452 4.2.2" in transcript, transcript)
    check("aiosmtpd LMTP: transcript has LHLO and one reply per recipient",
          "send: 'LHLO " in transcript and "reply: '250 2.0.0 <bob@example.com>" in transcript
          and "reply: '452 4.2.2 <full@example.com> Mailbox full\\r\\n'" in transcript, transcript)

    result = run(binary, ["--lmtp", "--server", f"127.0.0.1:{tcp_port}", "--to", "bob@example.com",
                          "--to", "full@example.com", "--partial", "--json", *message])
    report = json.loads(result.stdout or b"{}")
    recipients = report.get("recipients", [])
    check("aiosmtpd LMTP --partial --json: exit 0, per-recipient delivery",
          result.returncode == 0 and report.get("status") == "partial"
          and [r.get("delivered") for r in recipients] == [True, False]
          and recipients[1]["delivery"]["code"] == 452, result.stdout.decode())

    for label, server in (("path", str(socket_path)), ("unix:", f"unix:{socket_path}")):
        result = run(binary, ["--lmtp", "--server", server, "--to", "dave@example.com", *message])
        check(f"aiosmtpd LMTP over a unix socket ({label}): exits 0", result.returncode == 0,
              result.stderr.decode())
    stored = wait_files(unix_store, "*.json", 2)
    check("aiosmtpd LMTP over a unix socket: both messages arrived", len(stored) == 2
          and b"via LMTP" in stored[0].with_suffix(".eml").read_bytes())

    result = run(binary, ["-d", "--lmtp", "--server", str(socket_path), "--to", "erin@example.com",
                          "--to", "full@example.com", *message])
    transcript = result.stderr.decode()
    (out / "lmtp-unix-transcript.txt").write_text(transcript)
    check("aiosmtpd LMTP over a unix socket: per-recipient replies, one full exits 75",
          result.returncode == 75 and f"connect: unix:{socket_path}" in transcript
          and "reply: '250 2.0.0 <erin@example.com>" in transcript
          and "reply: '452 4.2.2 <full@example.com> Mailbox full\\r\\n'" in transcript
          and "delivered to 1 of 2 recipients (<erin@example.com>)" in transcript, transcript)
    stored = wait_files(unix_store, "*.json", 3)
    arrived = json.loads(max(stored, key=lambda p: int(p.stem)).read_text()) if stored else {}
    check("aiosmtpd LMTP over a unix socket: the third message arrived with both recipients",
          len(stored) == 3 and arrived.get("rcpt_tos") == ["erin@example.com", "full@example.com"],
          str(arrived))


def postfix_deliveries(maillog, count, timeout=30):
    """`to=<addr>` of every `status=sent` line in the private Postfix's log, once `count`
    have appeared (or the timeout passed)."""
    deadline = time.time() + timeout
    while True:
        text = maillog.read_text(errors="replace") if maillog.exists() else ""
        sent = [line.split("to=<", 1)[1].split(">", 1)[0]
                for line in text.splitlines() if " status=sent " in line and "to=<" in line]
        if len(sent) >= count or time.time() > deadline:
            return sent
        time.sleep(0.1)


def maildir_messages(maildir):
    return sorted((maildir / "new").glob("*"), key=lambda p: p.stat().st_mtime_ns) \
        if (maildir / "new").exists() else []


def check_chunking(binary, servers, work, out):
    """CHUNKING (RFC 3030) against a real server: a private full Postfix, which offers
    CHUNKING (smtp-sink does not) and takes at most 3 recipients per transaction."""
    try:
        port, maildir, maillog = servers.postfix(recipient_limit=3)
    except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as err:
        check("private Postfix started (for CHUNKING)", False, str(err))
        return
    server = ["--server", f"127.0.0.1:{port}", "--from", "alice@example.com"]
    blob = work / "chunk.bin"
    blob.write_bytes(os.urandom(3_000_000))
    body = b"one line\n.leading dot\n..two dots\nno line end"

    result = run(binary, ["-d", *server, "--to", "bob@example.com", "--subject", "bdat",
                          "--attach", str(blob)], body)
    transcript = result.stderr.decode()
    (out / "bdat-transcript.txt").write_text(transcript)
    lines = transcript.splitlines()
    bdat = [l for l in lines if l.startswith("send: 'BDAT ")]
    check("Postfix offers CHUNKING and PIPELINING", "reply: '250 CHUNKING\\r\\n'" in lines
          and "reply: '250-PIPELINING\\r\\n'" in lines, transcript[:2000])
    check("Postfix BDAT: exits 0 with one BDAT LAST, no DATA, MAIL…QUIT in one write",
          result.returncode == 0 and len(bdat) == 1 and bdat[0].endswith(" LAST\\r\\n'")
          and not any(l == "send: 'DATA\\r\\n'" for l in lines)
          and lines.index(bdat[0]) < lines.index("send: 'QUIT\\r\\n'")
          < min(i for i, l in enumerate(lines) if l.startswith("reply: '250 2.1.0")),
          transcript[-3000:])
    size = int(bdat[0].split()[2]) if bdat else -1
    check("Postfix BDAT: the server counted the bytes BDAT declared",
          any(f"Ok: {size} bytes queued" in l for l in lines), transcript[-1500:])
    sent = postfix_deliveries(maillog, 1)
    stored = maildir_messages(maildir)
    if sent == ["bob@example.com"] and stored:
        message = email.message_from_bytes(stored[-1].read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",)).get_content()
        check("Postfix BDAT: body intact, leading dots not doubled",
              text.replace("\r\n", "\n").startswith("one line\n.leading dot\n..two dots\nno line end"),
              repr(text[:200]))
        attached = [part.get_content() for part in message.iter_attachments()]
        check("Postfix BDAT: the 3 MB attachment arrived byte for byte",
              attached == [blob.read_bytes()], f"{len(attached)} attachments")
    else:
        check("Postfix BDAT: delivered to the Maildir", False, f"{sent} {stored}")
    log = maillog.read_text(errors="replace")
    check("Postfix BDAT: smtpd logged bdat=1", "bdat=1 quit=1" in log, log[-2000:])

    # All-or-nothing with several recipients: the RCPT replies first, then BDAT.
    recipients = [f"r{i}@example.com" for i in range(7)]
    result = run(binary, ["-d", *server, "--subject", "split", "--body", "split", *recipients])
    transcript = result.stderr.decode()
    (out / "bdat-split-transcript.txt").write_text(transcript)
    check("Postfix BDAT + 452 split (3 per transaction): 7 recipients, exit 0, split lines",
          result.returncode == 0 and "4.5.3 Error: too many recipients" in transcript
          and "split: the server takes 3 recipients per transaction" in transcript,
          transcript[-3000:])
    sent = postfix_deliveries(maillog, 1 + 7)
    check("Postfix BDAT + 452 split: each recipient got the message exactly once",
          sorted(sent[1:]) == sorted(recipients), str(sent))
    check("Postfix BDAT + 452 split: one connection, three BDATs",
          transcript.count("connect: ") == 1 and transcript.count("send: 'BDAT ") == 3,
          transcript[-3000:])

    partial = [f"p{i}@example.com" for i in range(5)]
    result = run(binary, [*server, "--partial", "--subject", "partial", "--body", "p", *partial])
    check("Postfix BDAT + 452 split --partial: exit 0", result.returncode == 0,
          result.stderr.decode())
    sent = postfix_deliveries(maillog, 1 + 7 + 5)
    check("Postfix BDAT + 452 split --partial: each recipient exactly once",
          sorted(sent[8:]) == sorted(partial), str(sent))

    # Refusals: the pipelined chunk is discarded and nothing is delivered.
    result = run(binary, ["-d", *server, "--to", "x@elsewhere.test", "--body", "no"])
    transcript = result.stderr.decode()
    check("Postfix BDAT: relay refused for the only recipient exits 67, session in step",
          result.returncode == 67 and "Relay access denied" in transcript
          and "reply: '221 2.0.0 Bye\\r\\n'" in transcript, transcript[-2000:])
    result = run(binary, [*server, "--to", "bob@example.com", "--to", "x@elsewhere.test",
                          "--body", "no"])
    check("Postfix BDAT: one of two refused, all-or-nothing, exits 67",
          result.returncode == 67 and "nothing sent" in result.stderr.decode(),
          result.stderr.decode())
    time.sleep(1)
    sent = postfix_deliveries(maillog, 1 + 7 + 5, timeout=0)
    check("Postfix BDAT: nothing delivered for the refused sends", len(sent) == 13, str(sent))

    result = run(binary, ["-d", "--no-chunking", *server, "--to", "bob@example.com",
                          "--body", "data"])
    check("Postfix --no-chunking: DATA instead of BDAT",
          result.returncode == 0 and "send: 'DATA\\r\\n'" in result.stderr.decode()
          and "BDAT" not in result.stderr.decode(), result.stderr.decode()[-2000:])


def mime_tree(part, depth=0):
    """The structure of a message, one part a line: media type, disposition, file name,
    Content-ID and decoded size."""
    line = "  " * depth + part.get_content_type()
    if part.is_multipart():
        return "\n".join([line] + [mime_tree(child, depth + 1) for child in part.iter_parts()])
    details = [part.get_content_disposition(), part.get_filename(), part.get("Content-ID"),
               f"{len(part.get_payload(decode=True))} bytes"]
    return line + "  " + "  ".join(str(d) for d in details if d)


def check_report(binary, servers, out):
    """Issue 16's closing note: `git log -1 --stat | smtpsend --markdown report.md --inline
    chart.png -a - --attach-name stat.txt …` at aiosmtpd arrives as mixed(alternative(text,
    related(html, image)), attachment), every part byte for byte; its dry run, saved and sent
    with -t, arrives identically; the HTML shown in headless Chromium has its chart and table."""
    import browser
    port, store = servers.aiosmtpd("report")
    stat = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--stat"], capture_output=True,
                          timeout=60).stdout
    check("report: git log -1 --stat gives the text to attach", stat.startswith(b"commit "),
          repr(stat[:200]))
    flags = ["--from", "ci@example.com", "--to", "ops@example.com", "--subject", "Nightly build",
             "--markdown", str(REPORT / "report.md"), "--inline", str(REPORT / "chart.png"),
             "-a", "-", "--attach-name", "stat.txt"]
    pinned = {"SMTPSEND_TEST_PIN": "1"}
    result = run(binary, ["--server", f"127.0.0.1:{port}", *flags], stat, env=pinned)
    check("report: sent to aiosmtpd, exit 0", result.returncode == 0, result.stderr.decode())
    stored = wait_files(store, "*.json", 1)
    if not stored:
        check("report: aiosmtpd stored the message", False, "nothing stored")
        return
    received = stored[0].with_suffix(".eml").read_bytes()
    message = email.message_from_bytes(received, policy=email.policy.default)
    tree = mime_tree(message)
    (out / "report-tree.txt").write_text(tree + "\n")
    shape = " ".join(line.split()[0] for line in tree.splitlines())
    check("report: mixed(alternative(text, related(html, image)), attachment)",
          shape == "multipart/mixed multipart/alternative text/plain multipart/related "
                   "text/html image/png text/plain", tree)
    leaves = [part for part in message.walk() if not part.is_multipart()]
    markdown, chart = (REPORT / "report.md").read_bytes(), (REPORT / "chart.png").read_bytes()
    if len(leaves) == 4:
        text, html, image, attached = leaves
        check("report: the text part is the Markdown, byte for byte",
              text.get_payload(decode=True).replace(b"\r\n", b"\n") == markdown)
        check("report: the HTML shows the chart as cid:chart.png",
              'src="cid:chart.png"' in html.get_content())
        check("report: the inline chart, byte for byte, Content-ID <chart.png>",
              image.get_payload(decode=True) == chart and image["Content-ID"] == "<chart.png>"
              and image.get_content_disposition() == "inline", tree)
        check("report: stdin attached as stat.txt, byte for byte",
              attached.get_payload(decode=True) == stat and attached.get_filename() == "stat.txt"
              and attached.get_content_disposition() == "attachment", tree)
    dry = run(binary, ["--dry-run", *flags], stat, env=pinned)
    check("report: --dry-run writes exactly the message aiosmtpd received",
          dry.returncode == 0 and dry.stdout == received, dry.stderr.decode())
    (out / "report.eml").write_bytes(dry.stdout)
    result = run(binary, ["--server", f"127.0.0.1:{port}", "-t"], dry.stdout)
    stored = wait_files(store, "*.json", 2)
    check("report: the saved dry run sent with -t arrives identically",
          result.returncode == 0 and len(stored) == 2
          and stored[1].with_suffix(".eml").read_bytes() == received
          and json.loads(stored[1].read_text())["rcpt_tos"] == ["ops@example.com"],
          result.stderr.decode())
    check_in_browser(browser, received, out)


def check_in_browser(browser, received, out):
    """The report's HTML in headless Chromium, with pixel checks of the screenshot."""
    with tempfile.TemporaryDirectory(prefix="smtpsend-browser-") as folder:
        folder = Path(folder)
        page, _ = browser.page_of(received, folder)
        try:
            browser.screenshot(page, out / "report-screenshot.png", folder / "profile")
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
            check("browser: headless Chromium took a screenshot", False, str(err))
            return
    results = browser.pixel_checks(out / "report-screenshot.png")
    (out / "browser-checks.txt").write_text(
        "".join(f"{'PASS' if ok else 'FAIL'} {name}: {detail}\n" for name, ok, detail in results))
    for name, ok, detail in results:
        check(f"browser: {name}", ok, detail)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    work = Path(tempfile.mkdtemp(prefix="smtpsend-interop-"))
    work.chmod(0o755)  # smtp-sink writes its dumps as nobody
    out = Path(args.out) if args.out else work / "out"
    out.mkdir(parents=True, exist_ok=True)
    servers = Servers(work)
    try:
        sink_port, sink_dump = servers.smtp_sink()
        aio_port, aio_store = servers.aiosmtpd("aiosmtpd")

        notes = work / "notes.txt"
        notes.write_text("first line\nzweite Zeile: Grüße\n")
        blob = work / "random.bin"
        blob.write_bytes(os.urandom(100_000))
        body = b"Hello\nsecond line\n.leading dot\n"
        compose = ["--from", "alice@example.com", "--to", "bob@example.com",
                   "--cc", "carol@example.com", "--bcc", "dave@example.com",
                   "--subject", "Grüße – Übersicht ✓", "--attach", str(notes), "--attach", str(blob)]
        body_lines = ["Hello", "second line", ".leading dot"]

        # 1. Composed message with attachments, at both servers.
        result = run(binary, ["--server", f"127.0.0.1:{sink_port}", *compose], body)
        check("smtp-sink: composed send exits 0", result.returncode == 0, result.stderr.decode())
        dumps = wait_files(sink_dump, "*", 1)
        if dumps:
            mail, rcpts, message = sink_message(dumps[0])
            check("smtp-sink: envelope", mail and mail[0].startswith("<alice@example.com>")
                  and rcpts == ["<bob@example.com>", "<carol@example.com>", "<dave@example.com>"],
                  f"{mail} {rcpts}")
            check_composed("smtp-sink", message, [notes, blob], body_lines)
        else:
            check("smtp-sink: message stored", False, "no dump file")

        result = run(binary, ["--server", f"127.0.0.1:{aio_port}", *compose], body)
        check("aiosmtpd: composed send exits 0", result.returncode == 0, result.stderr.decode())
        stored = wait_files(aio_store, "*.json", 1)
        if stored:
            envelope = json.loads(stored[0].read_text())
            check("aiosmtpd: envelope", envelope["mail_from"] == "alice@example.com"
                  and envelope["rcpt_tos"] == ["bob@example.com", "carol@example.com", "dave@example.com"],
                  str(envelope))
            check("aiosmtpd: SIZE declared", any(o.startswith("SIZE=") for o in envelope["mail_options"]),
                  str(envelope["mail_options"]))
            message = email.message_from_bytes(stored[0].with_suffix(".eml").read_bytes(),
                                               policy=email.policy.default)
            check_composed("aiosmtpd", message, [notes, blob], body_lines)

        # 2. Raw mode: LF input, Bcc, no Date/Message-ID.
        raw = (b"From: Alice <alice@example.com>\nTo: bob@example.com\nBcc: secret@example.com\n"
               b"Subject: raw\n\nline one\n.dot line\nlast\n")
        result = run(binary, ["--server", f"127.0.0.1:{aio_port}", "bob@example.com"], raw)
        check("raw mode: exits 0", result.returncode == 0, result.stderr.decode())
        stored = wait_files(aio_store, "*.json", 2)
        if len(stored) >= 2:
            data = stored[1].with_suffix(".eml").read_bytes()
            check("raw mode: CRLF line endings", b"\n" not in data.replace(b"\r\n", b""), repr(data[:200]))
            head, _, rest = data.partition(b"\r\n\r\n")
            check("raw mode: Date and Message-ID added", b"\r\nDate: " in head and b"\r\nMessage-ID: <" in head)
            check("raw mode: Bcc removed", b"Bcc" not in data and b"secret@" not in data)
            check("raw mode: body unchanged", rest == b"line one\r\n.dot line\r\nlast\r\n", repr(rest))
            envelope = json.loads(stored[1].read_text())
            check("raw mode: envelope sender from the From header",
                  envelope["mail_from"] == "alice@example.com", str(envelope))

        # 3. The --debug transcript.
        result = run(binary, ["-d", "--server", f"127.0.0.1:{sink_port}", "--from", "alice@example.com",
                              "--to", "bob@example.com", "--subject", "transcript", "--body", "hi"])
        transcript = result.stderr.decode()
        (out / "transcript.txt").write_text(transcript)
        lines = transcript.splitlines()
        check("transcript: connect/reply/EHLO/MAIL lines",
              result.returncode == 0 and lines and lines[0].startswith("connect: 127.0.0.1:")
              and lines[1].startswith("reply: '220 ")
              and any(l.startswith("send: 'EHLO ") for l in lines)
              and any(l.startswith("send: 'MAIL FROM:<alice@example.com>") for l in lines)
              and any(l.startswith("send: <message: ") for l in lines)
              and "send: '.\\r\\n'" in lines, transcript)

        # 4. TLS and login: STARTTLS required, implicit TLS, PLAIN, LOGIN and CRAM-MD5.
        starttls_port, cert = check_tls_and_auth(binary, servers, work, out)
        check_probes(binary, servers, out, aio_port, starttls_port, cert, sink_port)
        check_smtputf8(binary, servers, aio_port, aio_store)
        check_network(binary, servers, work, aio_port, aio_store, starttls_port, cert)

        # 5. DSN at smtp-sink; LMTP over TCP and a unix socket.
        check_dsn(binary, servers)
        check_lmtp(binary, servers, work, out)

        # 6. Nobody listening: temporary failure.
        result = run(binary, ["--server", f"127.0.0.1:{free_port()}", "--to", "bob@example.com",
                              "--body", "x"])
        check("connection refused exits 75", result.returncode == 75, result.stderr.decode())

        # 7. The outbox: queued while the server is down, delivered once when it is up.
        check_queue_round_trip(binary, servers, work, out)

        # 8. CHUNKING (BDAT) at a private full Postfix.
        check_chunking(binary, servers, work, out)

        # 9. A report: Markdown, an inline chart, stdin attached; a browser shows it.
        check_report(binary, servers, out)
    finally:
        servers.stop()
        if not args.out:
            shutil.rmtree(work, ignore_errors=True)
    passed = sum(RESULTS)
    print(f"interop: {passed} passed, {len(RESULTS) - passed} failed")
    return 0 if passed == len(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
