"""The ASGI interface's gunicorn worker: uvicorn's, as this service runs it.

Lifespan is off (Django answers none), and the loop and HTTP parser are named
rather than guessed from what happens to be installed. Once uvicorn has shut
down it raises again the signal that stopped it; with the default action the
process would die before gunicorn's ``worker_exit`` hook flushes its last spans,
so the signal ends the worker through SystemExit instead. SIGABRT (gunicorn's
timeout) is the service's own handler's (hooks.py, ``count_in_flight_on_abort``).

A worker that stops (a recycle at GUNICORN_MAX_REQUESTS, a HUP, SIGTERM) first
stops accepting, then gives the connections it accepted last a moment to deliver
their request: uvicorn closes a connection whose request it has not read yet as
idle, and its client, on a fresh connection, gets no answer at all.
"""

import asyncio
import signal
import socket
import sys
from types import FrameType
from typing import Any

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

# Long enough for a request already on its way over a just-accepted connection to be read.
FRESH_REQUEST_GRACE_SECONDS = 0.5

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


class DrainingServer(Server):
    """uvicorn's server, but a stop reads the requests of the connections it accepted last."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections; the other workers take them
        await asyncio.sleep(FRESH_REQUEST_GRACE_SECONDS)
        await super().shutdown(sockets)


class AsgiWorker(UvicornWorker):  # type: ignore[misc]  # uvicorn-worker is untyped
    CONFIG_KWARGS: dict[str, Any] = {"loop": "asyncio", "http": "h11", "lifespan": "off"}

    async def _serve(self) -> None:
        # UvicornWorker._serve (uvicorn-worker 0.4.0) with DrainingServer for uvicorn's Server.
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)

    def init_signals(self) -> None:
        super().init_signals()
        for signum in STOPPING_SIGNALS:
            signal.signal(signum, _exit)
