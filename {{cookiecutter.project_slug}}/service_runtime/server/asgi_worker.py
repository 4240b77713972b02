"""The ASGI interface's gunicorn worker: uvicorn's, as this service runs it.

Lifespan is off (Django answers none), and the loop and HTTP parser are named
rather than guessed from what happens to be installed. Its SIGABRT handling is
the service's (hooks.py, ``count_in_flight_on_abort``): uvicorn's worker resets it.
"""

from typing import Any

from uvicorn_worker import UvicornWorker


class AsgiWorker(UvicornWorker):  # type: ignore[misc]  # uvicorn-worker is untyped
    CONFIG_KWARGS: dict[str, Any] = {"loop": "asyncio", "http": "h11", "lifespan": "off"}
