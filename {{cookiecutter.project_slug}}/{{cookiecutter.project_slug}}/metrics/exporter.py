"""Serve this worker's metrics on one free port of the range, retrying until one frees up.

django-prometheus tries each port once, when the app loads, with a
single-threaded IPv4 ``HTTPServer``. During a reload under load the new
workers start while the old ones still hold every port, find none free and
never try again. Here a daemon thread keeps trying, so a worker picks up the
port its predecessor releases, and the server is prometheus_client's threaded
one (a slow scrape does not block the next, and ``::`` works).
"""

import logging
import threading
import time

import prometheus_client

logger = logging.getLogger(__name__)


class WorkerExporter:
    """Binds one port of ``ports`` in the background and remembers which."""

    def __init__(self, ports: range, address: str, *, first_wait: float = 0.05, max_wait: float = 1.0) -> None:
        self.ports = ports
        self.address = address
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.port: int | None = None
        self.bound = threading.Event()
        self._thread = threading.Thread(target=self._bind_until_done, name="metrics-exporter", daemon=True)

    def start(self) -> "WorkerExporter":
        self._thread.start()
        return self

    def try_bind_once(self) -> int | None:
        for port in self.ports:
            try:
                prometheus_client.start_http_server(port, addr=self.address)
            except OSError:
                continue  # a sibling (or its predecessor, still shutting down) holds it
            self.port = port
            self.bound.set()
            return port
        return None

    def _bind_until_done(self) -> None:
        wait = self.first_wait
        started = time.monotonic()
        warned = False
        while self.try_bind_once() is None:
            if not warned and time.monotonic() - started > 5:
                logger.warning(
                    "No free metrics port in %s..%s yet; retrying until a worker releases one",
                    self.ports[0],
                    self.ports[-1],
                )
                warned = True
            time.sleep(wait)
            wait = min(wait * 2, self.max_wait)
        logger.info("Exporting Prometheus metrics on %s:%s", self.address or "*", self.port)
