#!/usr/bin/env python3
"""aiosmtpd on loopback with STARTTLS required and AUTH PLAIN/LOGIN, discarding messages.

Usage: auth_server.py PORT CERT KEY USER PASSWORD
"""

import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok: discarded"


def main():
    port, cert, key, user, password = sys.argv[1:6]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd then answers 535 itself

    controller = Controller(
        Discard(),
        hostname="127.0.0.1",
        port=int(port),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
