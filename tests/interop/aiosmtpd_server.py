#!/usr/bin/env python3
"""aiosmtpd on 127.0.0.1 storing every message for the interop checks.

Each message is written as N.eml (the exact bytes received) and N.json (envelope: mail_from,
rcpt_tos, mail_options). The port is written to --port-file once the server listens.

    aiosmtpd_server.py --dir DIR --port-file FILE [--port N] [--starttls CERT KEY] [--require-starttls]
                       [--implicit-tls CERT KEY] [--auth USER:PASSWORD]
                       [--lmtp [--lmtp-full SUBSTRING]] [--unix PATH]

--lmtp speaks LMTP (LHLO; one reply per recipient after the data); recipients whose address
contains the --lmtp-full text get "452 4.2.2 Mailbox full" instead of 250. --unix listens on
a unix socket at PATH instead of a TCP port (the port file then holds 0).
"""

import argparse
import hmac
import json
import os
import socket
import ssl
import threading

from aiosmtpd.controller import Controller, UnixSocketController
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            number = len([n for n in os.listdir(self.directory) if n.endswith(".json")]) + 1
            base = os.path.join(self.directory, str(number))
            with open(base + ".eml", "wb") as f:
                f.write(envelope.original_content)
            with open(base + ".json.tmp", "w") as f:
                json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                           "mail_options": envelope.mail_options}, f)
            os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: stored as %d" % number


class LmtpStore(Store):
    """LMTP: one reply per recipient after the data (RFC 2033 §4.2), joined by CRLF."""

    def __init__(self, directory, full):
        super().__init__(directory)
        self.full = full

    async def handle_DATA(self, server, session, envelope):
        stored = await super().handle_DATA(server, session, envelope)
        return "\r\n".join(
            "452 4.2.2 <%s> Mailbox full" % rcpt if self.full and self.full in rcpt
            else "250 2.0.0 <%s> %s" % (rcpt, stored[10:])
            for rcpt in envelope.rcpt_tos)


class CramMd5Store(Store):
    """Store that also offers CRAM-MD5 (RFC 2195), checked against one user and password."""

    def __init__(self, directory, user, password):
        super().__init__(directory)
        self.user = user
        self.password = password

    async def auth_CRAM__MD5(self, server, args):
        challenge = "<%d.%d@127.0.0.1>" % (os.getpid(), int.from_bytes(os.urandom(4), "big"))
        response = await server.challenge_auth(challenge)
        if not isinstance(response, bytes):
            return AuthResult(success=False, handled=False)
        user, _, digest = response.decode(errors="replace").partition(" ")
        expected = hmac.new(self.password.encode(), challenge.encode(), "md5").hexdigest()
        ok = user == self.user and hmac.compare_digest(digest, expected)
        return AuthResult(success=ok, handled=False,
                          auth_data=LoginPassword(user.encode(), b""))


class LmtpController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


class LmtpUnixController(UnixSocketController):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--port", type=int, help="listen on this port (default: a free one)")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--lmtp", action="store_true")
    parser.add_argument("--lmtp-full", metavar="SUBSTRING")
    parser.add_argument("--unix", metavar="PATH")
    args = parser.parse_args()

    options = {}
    if args.starttls:
        options["tls_context"] = tls_context(*args.starttls)
        options["require_starttls"] = args.require_starttls
    if args.implicit_tls:
        options["ssl_context"] = tls_context(*args.implicit_tls)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            # handled=False: aiosmtpd then answers 535 itself (handled=True would send nothing).
            return AuthResult(success=ok, handled=False)

        options["authenticator"] = authenticator
        options["auth_required"] = True
        # Under implicit TLS aiosmtpd does not know the session is encrypted and would hide
        # AUTH; the whole connection is TLS there anyway.
        options["auth_require_tls"] = bool(args.starttls)

    handler = Store(args.dir)
    if args.auth:
        handler = CramMd5Store(args.dir, user, password)
    if args.lmtp:
        handler = LmtpStore(args.dir, args.lmtp_full)
    kind = LmtpUnixController if args.lmtp and args.unix else (
        UnixSocketController if args.unix else LmtpController if args.lmtp else Controller)
    if args.unix:
        port = 0
        controller = kind(handler, unix_socket=args.unix, **options)
    else:
        port = args.port or free_port()
        controller = kind(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
