#!/usr/bin/env python3
"""Side-by-side benchmark of smtpsend against msmtp, curl, swaks and s-nail.

Servers, all on 127.0.0.1: Postfix's smtp-sink (PIPELINING, no CHUNKING); an aiosmtpd server
(STARTTLS required, AUTH PLAIN, no PIPELINING); and a private, full Postfix started by
bench/setup.sh (bench/mta.sh): its SMTP port (PIPELINING, CHUNKING, open to 127.0.0.0/8) and
its submission port (STARTTLS required, AUTH through Dovecot SASL). A latency proxy adds
25 ms each way (50 ms round trip) in front of each, and counts round trips. Every scenario
runs each client several times in one run; the tables report medians of wall time and peak
RSS, the ratio of smtpsend to each peer, and the round trips of one run of each client.
Writes BENCHMARKS.md.

    python3 bench/run.py [--runs 5] [--baseline REV] [--only WORDS] [--out BENCHMARKS.md]

--baseline REV builds that revision of smtpsend too and runs it beside this one in the
scenarios that existed before the MTA rows, so that "no slower than before" is measured in
the same run, not against an older file.

Needs: cargo, smtp-sink (Debian postfix), msmtp, curl, swaks, s-nail, openssl, GNU time,
aiosmtpd (pip), Postfix and Dovecot: bench/setup.sh installs them and starts the MTA. Only
127.0.0.1 is contacted.
"""

import argparse
import os
import platform
import re
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
MTA_DIR = Path(os.environ.get("BENCH_MTA_DIR", "/tmp/smtpsend-bench-mta"))

sys.path.insert(0, str(BENCH))
from report import Report  # noqa: E402


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


class Proxy:
    """A latency proxy in front of `target`, with its round-trip count file."""

    def __init__(self, bench, target):
        self.port = free_port()
        self.counts = bench.tmp / f"turns-{self.port}.log"
        self.counts.write_text("")
        bench.start([sys.executable, str(BENCH / "latency_proxy.py"), str(self.port),
                     str(target), str(DELAY_MS), str(self.counts)])

    def reset(self):
        self.counts.write_text("")

    def round_trips(self):
        """The round trips of the connections that ended since `reset`, summed."""
        time.sleep(0.3)
        return sum(int(line) for line in self.counts.read_text().split())


class Bench:
    def __init__(self, runs, only=None, baseline=None):
        self.runs = runs
        self.only = only
        self.baseline = baseline
        self.tmp = Path(tempfile.mkdtemp(prefix="smtpsend-bench-"))
        self.procs = []
        self.env = dict(os.environ, HOME=str(self.tmp / "home"), SMTPSEND_PASSWORD=PASSWORD)
        self.env.pop("SMTPSEND_SERVER", None)
        (self.tmp / "home").mkdir()
        self.report = Report(runs)

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

    # Setting up --------------------------------------------------------------------------

    def build(self):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        self.smtpsend = str(target / "release" / "smtpsend")
        self.before = None
        if self.baseline:
            source = self.tmp / "baseline"
            source.mkdir()
            archive = subprocess.run(["git", "archive", self.baseline], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
            build_dir = Path(tempfile.gettempdir()) / f"smtpsend-bench-target-{self.baseline}"
            subprocess.run(["cargo", "build", "--release", "--quiet", "--target-dir",
                            str(build_dir)], cwd=source, check=True)
            self.before = str(build_dir / "release" / "smtpsend")

    def setup(self):
        self.build()
        mta = MTA_DIR / "mta.env"
        if not mta.exists():
            raise SystemExit(f"{mta} is missing: run `bash bench/setup.sh` first")
        self.mta = dict(line.split("=", 1) for line in mta.read_text().split())
        self.sink = free_port()
        self.start(["smtp-sink", "-u", "nobody", f"127.0.0.1:{self.sink}", "256"])
        self.sink_slow = Proxy(self, self.sink)
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
        self.auth_slow = Proxy(self, self.auth)
        self.smtp = int(self.mta["SMTP_PORT"])
        self.submission = int(self.mta["SUBMISSION_PORT"])
        self.smtp_slow = Proxy(self, self.smtp)
        self.submission_slow = Proxy(self, self.submission)
        for port in (self.sink, self.sink_slow.port, self.auth, self.auth_slow.port,
                     self.smtp, self.submission, self.smtp_slow.port,
                     self.submission_slow.port):
            wait_listening(port)
        self.files()

    def files(self):
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

    def queue_thousand(self):
        """An outbox of 1,000 messages for the Postfix proxy, made once (smtpsend queues
        them against a closed port; their stored server is then the proxy), copied into a
        fresh home before each flush."""
        self.queued_home = self.tmp / "queued-home"
        self.queued_home.mkdir()
        env = dict(self.env, HOME=str(self.queued_home))
        closed = f"127.0.0.1:{free_port()}"
        for _ in range(1000):
            subprocess.run([self.smtpsend, "--server", closed, "--queue", "on-failure",
                            "-f", "a@example.com", "b@example.com"], stdin=open(self.small, "rb"),
                           env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        queue = self.queued_home / ".local/state/smtpsend/queue"
        for meta in queue.glob("*.json"):
            text = meta.read_text().replace(closed, f"127.0.0.1:{self.smtp_slow.port}")
            meta.write_text(text)

    def fresh_queue(self):
        home = self.tmp / "flush-home"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(self.queued_home, home, symlinks=True)
        return dict(self.env, HOME=str(home))

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

    def tls_auth(self, port, ca):
        return {
            "smtpsend": ([self.smtpsend, "--server", f"127.0.0.1:{port}", "--tls", "starttls",
                          "--tls-ca-file", ca, "--user", USER, "--auth", "plain",
                          "-f", "a@example.com", "b@example.com"], self.small),
            "msmtp": (["msmtp", "--host=127.0.0.1", f"--port={port}", "--tls=on",
                       "--tls-starttls=on", f"--tls-trust-file={ca}", "--auth=plain",
                       f"--user={USER}", f"--passwordeval=echo {PASSWORD}",
                       "--from=a@example.com", "b@example.com"], self.small),
            "curl": (["curl", "-sS", f"smtp://127.0.0.1:{port}", "--ssl-reqd", "--cacert", ca,
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

    def with_baseline(self, commands):
        """The commands, and the baseline build's smtpsend beside this one."""
        if not self.before or "smtpsend" not in commands:
            return commands
        argv, stdin = commands["smtpsend"]
        out = dict(commands)
        out[f"smtpsend@{self.baseline}"] = ([self.before, *argv[1:]], stdin)
        return out

    # Running ------------------------------------------------------------------------------

    def scenario(self, name, commands, proxy=None, repeat=1, runs=None, env=None,
                 before=None):
        """Runs each client `runs` times (`repeat` commands make one run); with `proxy`, the
        round trips of each client's first run are counted."""
        if self.only and not any(word in name for word in self.only):
            return
        print(f"{name} ...", file=sys.stderr)
        results, trips = {}, {}
        for run in range(runs or self.runs):
            for client, (argv, stdin) in commands.items():
                if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
                    continue
                run_env = before() if before else (env or self.env)
                if proxy and run == 0:
                    proxy.reset()
                total, peak, failed = 0.0, 0, False
                for _ in range(repeat):
                    seconds, kib, code = measure(argv, stdin, run_env)
                    total += seconds
                    peak = max(peak, kib)
                    failed |= code != 0
                results.setdefault(client, []).append((total, peak, failed))
                if proxy and run == 0:
                    trips[client] = proxy.round_trips()
        self.report.add(name, results, trips)

    def bulk(self):
        """100 messages through smtp-sink (DATA): one smtpsend run against 100 msmtp runs."""
        commands = {
            "smtpsend": ([self.smtpsend, "--server", f"127.0.0.1:{self.sink_slow.port}",
                          "-f", "a@example.com", "--bulk", str(self.batch)], None),
        }
        self.scenario("100 messages, 50 ms RTT (smtpsend: one run)",
                      self.with_baseline(commands), proxy=self.sink_slow)
        msmtp = {"msmtp": self.plain(self.sink_slow.port)["msmtp"]}
        self.scenario("100 messages, 50 ms RTT (msmtp: 100 runs)", msmtp,
                      proxy=self.sink_slow, repeat=100)

    def mta_bulk(self):
        """100 messages through Postfix (CHUNKING): --bulk, --bulk --parallel 4, 100 msmtp
        runs."""
        port = self.smtp_slow.port
        bulk = [self.smtpsend, "--server", f"127.0.0.1:{port}", "-f", "a@example.com",
                "--bulk", str(self.batch)]
        self.scenario("Postfix: 100 messages, 50 ms RTT (smtpsend: one --bulk run)",
                      {"smtpsend": (bulk, None)}, proxy=self.smtp_slow)
        self.scenario("Postfix: 100 messages, 50 ms RTT (smtpsend: one --bulk --parallel 4 run)",
                      {"smtpsend": (bulk + ["--parallel", "4"], None)}, proxy=self.smtp_slow)
        msmtp = {"msmtp": self.plain(port)["msmtp"]}
        self.scenario("Postfix: 100 messages, 50 ms RTT (msmtp: 100 runs)", msmtp,
                      proxy=self.smtp_slow, repeat=100)

    def mta_flush(self):
        """1,000 queued messages through Postfix: one -q --parallel 8 against 1,000 msmtp
        runs (fewer repetitions: each takes minutes)."""
        name = "Postfix: 1,000 queued messages, 50 ms RTT"
        if self.only and not any(word in name for word in self.only):
            return
        self.queue_thousand()
        flush = {"smtpsend": ([self.smtpsend, "-q", "--parallel", "8"], None)}
        self.scenario(f"{name} (smtpsend: -q --parallel 8)", flush, proxy=self.smtp_slow,
                      before=self.fresh_queue)
        msmtp = {"msmtp": self.plain(self.smtp_slow.port)["msmtp"]}
        self.scenario(f"{name} (msmtp: 1,000 runs)", msmtp, proxy=self.smtp_slow,
                      repeat=1000, runs=min(self.runs, 3))

    def wait_transcript(self):
        """One smtpsend run with -dd through the submission proxy: the timestamps show each
        wait of the STARTTLS + AUTH scenario."""
        argv = self.tls_auth(self.submission_slow.port, self.mta["CA_FILE"])["smtpsend"][0]
        proc = subprocess.run([*argv, "-dd"], stdin=open(self.small, "rb"), env=self.env,
                              capture_output=True, text=True)
        lines = [line for line in proc.stderr.splitlines()
                 if re.match(r"\d\d:\d\d:\d\d\.\d{6} (connect|tls|send|reply)", line)
                 and "reply: '250-" not in line]
        self.report.transcript = lines

    def main(self, out):
        try:
            self.setup()
            self.report.load_start = os.getloadavg()
            self.report.commit = self.commit()
            plain = lambda port: self.with_baseline(self.plain(port))
            self.scenario("small message, loopback", plain(self.sink))
            self.scenario("small message, 50 ms RTT", plain(self.sink_slow.port),
                          proxy=self.sink_slow)
            self.scenario("STARTTLS + AUTH PLAIN, loopback",
                          self.with_baseline(self.tls_auth(self.auth, self.ca)))
            self.scenario("STARTTLS + AUTH PLAIN, 50 ms RTT",
                          self.with_baseline(self.tls_auth(self.auth_slow.port, self.ca)),
                          proxy=self.auth_slow)
            ca = self.mta["CA_FILE"]
            self.scenario("Postfix submission: STARTTLS + AUTH PLAIN, loopback",
                          self.with_baseline(self.tls_auth(self.submission, ca)))
            self.scenario("Postfix submission: STARTTLS + AUTH PLAIN, 50 ms RTT",
                          self.with_baseline(self.tls_auth(self.submission_slow.port, ca)),
                          proxy=self.submission_slow)
            self.scenario("1 KiB attachment, loopback",
                          self.with_baseline(self.attachment(self.tiny)))
            self.scenario("100 MiB attachment, loopback",
                          self.with_baseline(self.attachment(self.big)))
            many = {k: v for k, v in self.plain(self.sink_slow.port, self.many).items()
                    if k != "swaks"}
            self.scenario("1,000 recipients, 50 ms RTT", self.with_baseline(many),
                          proxy=self.sink_slow)
            self.bulk()
            self.mta_bulk()
            self.mta_flush()
            self.wait_transcript()
            self.report.load_end = os.getloadavg()
            self.report.write(out)
        finally:
            self.stop()

    def commit(self):
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True)
        return done.stdout.strip() or "an unknown commit"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--baseline", help="also run this revision of smtpsend (e.g. 497cc47)")
    parser.add_argument("--only", action="append",
                        help="run only the scenarios whose name contains this (repeatable)")
    args = parser.parse_args()
    Bench(args.runs, args.only, args.baseline).main(args.out)
