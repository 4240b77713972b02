"""The ASGI interface's gunicorn worker: uvicorn's, as this service runs it.

Lifespan is off (Django answers none), and the loop and HTTP parser are named
rather than guessed from what happens to be installed. Once uvicorn has shut
down it raises again the signal that stopped it; with the default action the
process would die before gunicorn's ``worker_exit`` hook flushes its last spans,
so the signal ends the worker through SystemExit instead. SIGABRT (gunicorn's
timeout) is the service's own handler's (hooks.py, ``count_in_flight_on_abort``).
"""

import signal
from types import FrameType
from typing import Any

from uvicorn_worker import UvicornWorker

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


class AsgiWorker(UvicornWorker):  # type: ignore[misc]  # uvicorn-worker is untyped
    CONFIG_KWARGS: dict[str, Any] = {"loop": "asyncio", "http": "h11", "lifespan": "off"}

    def init_signals(self) -> None:
        super().init_signals()
        for signum in STOPPING_SIGNALS:
            signal.signal(signum, _exit)
