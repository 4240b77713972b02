"""Many scrape targets in one process: every port answers a captured worker's exposition.

    python fleet_targets.py EXPOSITION FIRST_PORT COUNT

Each port answers ``GET`` with the exposition in EXPOSITION (text format 0.0.4),
its counters, histogram buckets and sums grown by 1 % each scrape interval, so
that Prometheus stores changing samples and ``rate()`` sees traffic, as from a
live worker. All ports share one body per interval: the series differ by target
labels, as a fleet's do. Prints ``ready`` once every port listens. Standard
library only: it runs under any Python 3.11.
"""

from __future__ import annotations

import asyncio
import re
import resource
import sys
import time

INTERVAL_SECONDS = 15
GROWING = re.compile(r"^(\w+(?:_total|_bucket|_sum|_count))(\{[^}]*\})? (\S+)$")


class Body:
    """The exposition of the current interval, built once per interval."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.epoch = -1
        self.payload = b""

    def current(self) -> bytes:
        epoch = int(time.time() // INTERVAL_SECONDS)
        if epoch != self.epoch:
            factor = 1 + 0.01 * (epoch % 100_000)
            grown = []
            for line in self.lines:
                match = GROWING.match(line)
                if match and not line.startswith("#"):
                    name, labels, value = match.groups()
                    line = f"{name}{labels or ''} {float(value) * factor!r}"
                grown.append(line)
            self.payload = ("\n".join(grown) + "\n").encode()
            self.epoch = epoch
        return self.payload


async def serve(body: Body, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            payload = body.current()
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(exposition: str, first_port: int, count: int) -> None:
    body = Body(exposition)
    servers = [
        await asyncio.start_server(lambda r, w: serve(body, r, w), "127.0.0.1", port, backlog=64)
        for port in range(first_port, first_port + count)
    ]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a listening and a scraping socket per port
    with open(sys.argv[1]) as file:
        text = file.read()
    asyncio.run(main(text, int(sys.argv[2]), int(sys.argv[3])))
