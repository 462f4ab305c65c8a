#!/usr/bin/env python3
"""Side-by-side benchmark of smtpsend against msmtp, curl, swaks and s-nail.

Starts Postfix's smtp-sink and an aiosmtpd STARTTLS+AUTH server on loopback, and a latency
proxy that adds 25 ms each way (50 ms round trip) in front of each. Every scenario runs each
client several times in one run; the table reports medians of wall time (and peak RSS where it
matters) and the ratio of smtpsend to each peer. Writes BENCHMARKS.md.

    python3 bench/run.py [--runs 7] [--out BENCHMARKS.md]

Needs: cargo, smtp-sink (Debian postfix), msmtp, curl, swaks, s-nail, openssl, GNU time,
aiosmtpd (pip).
bench/setup.sh installs them. Only 127.0.0.1 is contacted.
"""

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
USER, PASSWORD = "bench", "bench-secret-pw"
DELAY_MS = 25


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def measure(argv, stdin_path=None, env=None):
    """Runs a command; returns (seconds, peak RSS in KiB, exit code).

    The peak RSS comes from GNU time: a child forked straight from this Python process would
    report Python's own pages as its peak.
    """
    stdin = open(stdin_path or os.devnull, "rb")
    report = tempfile.NamedTemporaryFile(prefix="bench-rss-", delete=False)
    report.close()
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", report.name, *argv],
                          stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=env)
    elapsed = time.perf_counter() - started
    stdin.close()
    text = Path(report.name).read_text().strip().splitlines()
    os.unlink(report.name)
    peak = int(text[-1]) if text and text[-1].isdigit() else 0
    if proc.returncode != 0:
        print(f"  ! {argv[0]} exited {proc.returncode}: "
              f"{proc.stderr.decode(errors='replace').strip()[:300]}", file=sys.stderr)
    return elapsed, peak, proc.returncode


# What limits a target that the protocol does not let any client meet against these servers.
WHY_MISSED = {
    "STARTTLS + AUTH at 50 ms RTT <= 0.9x msmtp": (
        "the aiosmtpd server does not offer PIPELINING, so every command waits for its reply: "
        "greeting, EHLO, STARTTLS, the TLS 1.3 handshake, EHLO, AUTH PLAIN (with its initial "
        "response), MAIL, RCPT, DATA, the data and QUIT are 10 round trips after the greeting, "
        "which is what both smtpsend and msmtp use (`smtpsend -dd` shows each one 50 ms apart). "
        "Not waiting for the reply to QUIT would save one (about 0.90x), but RFC 5321 "
        "§4.1.1.10 says the client SHOULD wait for it, and that is kept. Against a server that "
        "offers PIPELINING smtpsend needs 6 (tests/tls_auth.rs counts them)."),
    "100 messages >= 10x faster than 100 msmtp runs (time ratio <= 0.1)": (
        "smtp-sink offers PIPELINING but not CHUNKING. With DATA the client must wait for the "
        "354 before each message's data (RFC 5321 §4.1.1.4, RFC 2920 §3.1), so one connection "
        "moves at most one message per round trip: 100 messages take at least 100 x 50 ms = "
        "5 s, and smtpsend's --bulk is at that limit (the next message's MAIL, RCPT and DATA "
        "ride in the same write as the previous end mark). 100 msmtp runs take about 24 s, so "
        "about 4.6x is the most one DATA connection allows; 10x would need CHUNKING (BDAT "
        "needs no 354) or several connections at once."),
}


class Bench:
    def __init__(self, runs, only=None):
        self.runs = runs
        self.only = only
        self.tmp = Path(tempfile.mkdtemp(prefix="smtpsend-bench-"))
        self.procs = []
        self.env = dict(os.environ, HOME=str(self.tmp), SMTPSEND_PASSWORD=PASSWORD)
        self.env.pop("SMTPSEND_SERVER", None)
        self.rows = []

    def start(self, argv):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def setup(self):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        self.smtpsend = str(target / "release" / "smtpsend")
        self.sink = free_port()
        self.start(["smtp-sink", "-u", "nobody", f"127.0.0.1:{self.sink}", "256"])
        self.sink_slow = free_port()
        self.start([sys.executable, str(BENCH / "latency_proxy.py"),
                    str(self.sink_slow), str(self.sink), str(DELAY_MS)])
        cert, key = self.tmp / "cert.pem", self.tmp / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        self.ca = str(cert)
        self.auth = free_port()
        self.start([sys.executable, str(BENCH / "auth_server.py"), str(self.auth),
                    str(cert), str(key), USER, PASSWORD])
        self.auth_slow = free_port()
        self.start([sys.executable, str(BENCH / "latency_proxy.py"),
                    str(self.auth_slow), str(self.auth), str(DELAY_MS)])
        for port in (self.sink, self.sink_slow, self.auth, self.auth_slow):
            wait_listening(port)
        self.small = self.tmp / "small.eml"
        self.small.write_bytes(
            b"From: a@example.com\r\nTo: b@example.com\r\nSubject: bench\r\n"
            b"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <bench@example.com>\r\n\r\n"
            + b"hello from the benchmark\r\n" * 20)
        (self.tmp / "body.txt").write_bytes(b"see attached\n")
        self.big = self.tmp / "big.bin"
        with open(self.big, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(100):
                f.write(chunk)
        self.tiny = self.tmp / "tiny.bin"
        self.tiny.write_bytes(os.urandom(1024))
        self.many = [f"user{i}@example.com" for i in range(1000)]
        self.batch = self.tmp / "batch"
        self.batch.mkdir()
        for i in range(100):
            (self.batch / f"{i:03}.eml").write_bytes(self.small.read_bytes())

    # Commands for each client ------------------------------------------------------------

    def plain(self, port, rcpts=("b@example.com",)):
        rcpts = list(rcpts)
        return {
            "smtpsend": ([self.smtpsend, "--server", f"127.0.0.1:{port}",
                          "-f", "a@example.com", *rcpts], self.small),
            "msmtp": (["msmtp", "--host=127.0.0.1", f"--port={port}", "--auth=off",
                       "--tls=off", "--from=a@example.com", *rcpts], self.small),
            "curl": (["curl", "-sS", f"smtp://127.0.0.1:{port}", "--mail-from", "a@example.com",
                      *sum((["--mail-rcpt", r] for r in rcpts), []), "-T", str(self.small)], None),
            "swaks": (["swaks", "--silent", "2", "--server", f"127.0.0.1:{port}",
                       "--from", "a@example.com", "--to", ",".join(rcpts),
                       "--data", f"@{self.small}"], None),
        }

    def tls_auth(self, port):
        return {
            "smtpsend": ([self.smtpsend, "--server", f"127.0.0.1:{port}", "--tls", "starttls",
                          "--tls-ca-file", self.ca, "--user", USER, "--auth", "plain",
                          "-f", "a@example.com", "b@example.com"], self.small),
            "msmtp": (["msmtp", "--host=127.0.0.1", f"--port={port}", "--tls=on",
                       "--tls-starttls=on", f"--tls-trust-file={self.ca}", "--auth=plain",
                       f"--user={USER}", f"--passwordeval=echo {PASSWORD}",
                       "--from=a@example.com", "b@example.com"], self.small),
            "curl": (["curl", "-sS", f"smtp://127.0.0.1:{port}", "--ssl-reqd", "--cacert", self.ca,
                      "--user", f"{USER}:{PASSWORD}", "--mail-from", "a@example.com",
                      "--mail-rcpt", "b@example.com", "-T", str(self.small)], None),
            "swaks": (["swaks", "--silent", "2", "--server", f"127.0.0.1:{port}", "-tls",
                       "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                       "--from", "a@example.com", "--to", "b@example.com",
                       "--data", f"@{self.small}"], None),
        }

    def attachment(self, path):
        body = self.tmp / "body.txt"
        return {
            "smtpsend": ([self.smtpsend, "--server", f"127.0.0.1:{self.sink}",
                          "-f", "a@example.com", "--to", "b@example.com", "-s", "file",
                          "-a", str(path)], body),
            "s-nail": (["s-nail", "-:/", "-S", f"mta=smtp://127.0.0.1:{self.sink}",
                        "-S", "from=a@example.com", "-S", "sendcharsets=utf-8",
                        "-s", "file", "-a", str(path), "b@example.com"], body),
        }

    # Running ------------------------------------------------------------------------------

    def scenario(self, name, commands, note="", rss=False, repeat=1):
        if self.only and not any(word in name for word in self.only):
            return
        print(f"{name} ...", file=sys.stderr)
        results = {}
        for run in range(self.runs):
            for client, (argv, stdin) in commands.items():
                if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
                    continue
                total, peak, failed = 0.0, 0, False
                for _ in range(repeat):
                    seconds, kib, code = measure(argv, stdin, self.env)
                    total += seconds
                    peak = max(peak, kib)
                    failed |= code != 0
                results.setdefault(client, []).append((total, peak, failed))
        self.rows.append((name, note, rss, results))

    def bulk(self):
        """100 messages: one smtpsend run over one connection against 100 msmtp runs."""
        files = sorted(str(p) for p in self.batch.iterdir())
        commands = {
            "smtpsend": ([self.smtpsend, "--server", f"127.0.0.1:{self.sink_slow}",
                          "-f", "a@example.com", "--bulk", str(self.batch)], None),
        }
        self.scenario("100 messages, 50 ms RTT (smtpsend: one run)", commands)
        msmtp = {"msmtp": self.plain(self.sink_slow)["msmtp"]}
        self.scenario("100 messages, 50 ms RTT (msmtp: 100 runs)", msmtp, repeat=len(files))

    def report(self, out):
        lines = ["# Benchmarks", "",
                 f"Generated by `python3 bench/run.py --runs {self.runs}` "
                 f"({time.strftime('%Y-%m-%d')}, smtpsend at {self.commit()}).", "",
                 f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
                 f"{platform.system()} {platform.release()}, Python {platform.python_version()}.",
                 "Servers on 127.0.0.1: Postfix smtp-sink (PIPELINING) and aiosmtpd "
                 "(STARTTLS required, AUTH PLAIN, no PIPELINING); the 50 ms RTT rows go through "
                 "bench/latency_proxy.py (25 ms each way).",
                 f"Each cell is the median of {self.runs} runs; ratio = smtpsend / peer "
                 "(below 1.0 means smtpsend is faster).", ""]
        lines += ["| scenario | client | median time | peak RSS | smtpsend ratio | failures |",
                  "| --- | --- | ---: | ---: | ---: | ---: |"]
        for name, note, rss, results in self.rows:
            ours = results.get("smtpsend")
            ours_time = statistics.median(r[0] for r in ours) if ours else None
            for client, samples in results.items():
                t = statistics.median(r[0] for r in samples)
                peak = statistics.median(r[1] for r in samples)
                failures = sum(r[2] for r in samples)
                ratio = "" if client == "smtpsend" or not ours_time else f"{ours_time / t:.2f}"
                lines.append(f"| {name} | {client} | {t * 1000:.1f} ms | {peak / 1024:.1f} MiB "
                             f"| {ratio} | {failures} |")
        lines += self.targets()
        lines += ["", "Reproduce: `bash bench/setup.sh && python3 bench/run.py`.", ""]
        Path(out).write_text("\n".join(lines))
        print("\n".join(lines))

    def commit(self):
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True)
        return done.stdout.strip() or "an unknown commit"

    def median(self, scenario, client, field=0):
        for name, _, _, results in self.rows:
            if name == scenario and client in results:
                return statistics.median(r[field] for r in results[client])
        return None

    def targets(self):
        """The targets of the speed work, each checked against this run's medians."""
        m = self.median
        checks = [
            ("small message on loopback <= 1.0x curl",
             m("small message, loopback", "smtpsend"), m("small message, loopback", "curl"),
             lambda a, b: a / b, 1.0),
            ("small message at 50 ms RTT <= 0.8x msmtp",
             m("small message, 50 ms RTT", "smtpsend"), m("small message, 50 ms RTT", "msmtp"),
             lambda a, b: a / b, 0.8),
            ("STARTTLS + AUTH at 50 ms RTT <= 0.9x msmtp",
             m("STARTTLS + AUTH PLAIN, 50 ms RTT", "smtpsend"),
             m("STARTTLS + AUTH PLAIN, 50 ms RTT", "msmtp"), lambda a, b: a / b, 0.9),
            ("100 MiB attachment <= 0.5x s-nail's time",
             m("100 MiB attachment, loopback", "smtpsend"),
             m("100 MiB attachment, loopback", "s-nail"), lambda a, b: a / b, 0.5),
            ("100 MiB attachment: peak RSS within 4 MiB of a 1 KiB one (MiB more)",
             m("100 MiB attachment, loopback", "smtpsend", 1),
             m("1 KiB attachment, loopback", "smtpsend", 1),
             lambda a, b: (a - b) / 1024, 4.0),
            ("1,000 recipients <= 1.5x one recipient at 50 ms RTT",
             m("1,000 recipients, 50 ms RTT", "smtpsend"),
             m("small message, 50 ms RTT", "smtpsend"), lambda a, b: a / b, 1.5),
            ("100 messages >= 10x faster than 100 msmtp runs (time ratio <= 0.1)",
             m("100 messages, 50 ms RTT (smtpsend: one run)", "smtpsend"),
             m("100 messages, 50 ms RTT (msmtp: 100 runs)", "msmtp"),
             lambda a, b: a / b, 0.1),
        ]
        lines = ["", "## Targets", "", "| target | measured | met |", "| --- | ---: | --- |"]
        missed = []
        for name, ours, theirs, measure, limit in checks:
            if ours is None or theirs is None:
                continue
            value = measure(ours, theirs)
            lines.append(f"| {name} | {value:.2f} | {'yes' if value <= limit else 'no'} |")
            if value > limit and name in WHY_MISSED:
                missed.append(f"- **{name}**: {WHY_MISSED[name]}")
        if missed:
            lines += ["", "### Why a target is missed", ""] + missed
        return lines

    def main(self, out):
        try:
            self.setup()
            self.scenario("small message, loopback", self.plain(self.sink))
            self.scenario("small message, 50 ms RTT", self.plain(self.sink_slow))
            self.scenario("STARTTLS + AUTH PLAIN, loopback", self.tls_auth(self.auth))
            self.scenario("STARTTLS + AUTH PLAIN, 50 ms RTT", self.tls_auth(self.auth_slow))
            self.scenario("1 KiB attachment, loopback", self.attachment(self.tiny), rss=True)
            self.scenario("100 MiB attachment, loopback", self.attachment(self.big), rss=True)
            self.scenario("1,000 recipients, 50 ms RTT",
                          {k: v for k, v in self.plain(self.sink_slow, self.many).items()
                           if k != "swaks"})
            self.bulk()
            self.report(out)
        finally:
            self.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--only", action="append",
                        help="run only the scenarios whose name contains this (repeatable)")
    args = parser.parse_args()
    Bench(args.runs, args.only).main(args.out)
