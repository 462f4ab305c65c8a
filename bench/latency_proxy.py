#!/usr/bin/env python3
"""A TCP proxy on loopback that delays every chunk by a fixed time in each direction, and
counts the round trips of each connection.

Usage: latency_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS [COUNT_FILE]
Chunks keep their order; each one is forwarded DELAY_MS after it arrived, so a client
waiting for a reply sees a round-trip time of 2 * DELAY_MS. Listens on 127.0.0.1 only.

Round trips: each time the server sends something after the client sent something since the
server last spoke, the client had to wait for it (a reply, or a TLS handshake flight). The
greeting, which answers nothing, is not counted; replies that come in several pieces with
nothing from the client in between count once. With COUNT_FILE, each connection appends its
count to that file, one line per connection, when it ends.
"""

import asyncio
import sys


class Turns:
    """Whether the client spoke since the server last did, and the round trips so far."""

    def __init__(self):
        self.client_spoke = False
        self.count = 0

    def client(self):
        self.client_spoke = True

    def server(self):
        if self.client_spoke:
            self.count += 1
            self.client_spoke = False


async def pump(reader, writer, delay, on_data):
    queue = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def forward():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            await writer.drain()

    forwarder = asyncio.create_task(forward())
    try:
        while True:
            data = await reader.read(65536)
            if data:
                on_data()
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
        await forwarder
    except (ConnectionError, OSError):
        forwarder.cancel()
    finally:
        writer.close()


async def main():
    listen_port, target_port, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    count_file = sys.argv[4] if len(sys.argv) > 4 else None
    delay = delay_ms / 1000.0

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        turns = Turns()
        await asyncio.gather(
            pump(client_reader, server_writer, delay, turns.client),
            pump(server_reader, client_writer, delay, turns.server),
            return_exceptions=True,
        )
        if count_file:
            with open(count_file, "a") as out:
                out.write(f"{turns.count}\n")

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
