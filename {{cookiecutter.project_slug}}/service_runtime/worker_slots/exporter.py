"""Serve a metrics registry on one fixed port, loudly when something else holds it.

The caller decides the port (a worker's slot, or the aggregated one). A daemon
thread binds it, retrying once a second; the first failure is recorded where
/readyz finds it (503 until bound) and, past a short grace period, logged. The
server is prometheus_client's WSGI app with two limits its ``start_http_server``
lacks, so the port never costs the worker its requests: at most
``MAX_CONNECTIONS`` at once, and idle connections dropped after
``IDLE_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from service_runtime.worker_slots.slots import clear_problem, report_problem

logger = logging.getLogger(__name__)


MAX_CONNECTIONS = 8
IDLE_TIMEOUT_SECONDS = 10.0


class QuietHandler(WSGIRequestHandler):
    """No access log line per scrape; a connection that sends nothing for a while is closed."""

    timeout = IDLE_TIMEOUT_SECONDS

    def log_message(self, format: str, *args: Any) -> None:
        return


class BoundedServer(ThreadingWSGIServer):
    """A thread per connection, as prometheus_client's, but never more than ``MAX_CONNECTIONS`` at once."""

    request_queue_size = 64  # the listen backlog: connections over the limit are accepted and closed, not left waiting

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # An idle connection timing out, or a client leaving mid-answer: not worth a traceback on stderr.
        logger.debug("metrics connection from %s ended early", client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.connections.acquire(blocking=False):
            self.shutdown_request(request)  # over the limit: closed, costing no thread
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connections.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()


def serve(registry: CollectorRegistry, port: int, address: str) -> BoundedServer:
    """Bind ``address``:``port`` (IPv4 or IPv6, as the address says) and serve ``registry`` from a daemon thread."""
    family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

    class FamilyServer(BoundedServer):
        address_family = family  # IPv6 for "::" and "::1": the socket is made before bind

    server = FamilyServer((address, port), QuietHandler)
    server.set_app(make_wsgi_app(registry))
    threading.Thread(target=server.serve_forever, name=f"metrics-port-{port}", daemon=True).start()
    return server


class MetricsServer:
    """Binds ``port`` on ``address`` in the background and serves ``registry`` there."""

    def __init__(
        self,
        registry: CollectorRegistry,
        port: int,
        address: str,
        *,
        directory: Path,
        name: str,
        grace: float = 1.0,
        retry_every: float = 1.0,
    ) -> None:
        self.registry, self.port, self.address = registry, port, address
        self.directory, self.name = directory, name
        self.grace, self.retry_every = grace, retry_every
        self.bound = threading.Event()
        self.problem: str | None = None
        self._thread = threading.Thread(target=self._bind_until_done, name=f"metrics-{name}", daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def try_bind_once(self) -> OSError | None:
        try:
            serve(self.registry, self.port, self.address)
        except OSError as error:  # taken, or an address this host does not have
            return error
        return None

    def _bind_until_done(self) -> None:
        started = time.monotonic()
        wait = 0.02
        logged = False
        while (error := self.try_bind_once()) is not None:
            if self.problem is None:  # at once: /readyz must not say ready while the port is unserved
                self.problem = (
                    f"metrics port {self.port} on address {self.address or '*'} ({self.name}) cannot be bound:"
                    f" {error.strerror or error}; retrying every {self.retry_every:g}s, /readyz answers 503 until"
                    " it binds. Another process holds the port, or METRICS_BIND_ADDRESS is not an address of this host"
                )
                try:
                    report_problem(self.directory, self.name, self.problem)
                except OSError as error:  # a full or read-only runtime directory: the log must say it
                    logger.error("%s (and it cannot be recorded for /readyz: %s)", self.problem, error)
            if not logged and time.monotonic() - started >= self.grace:
                logger.error("%s", self.problem)
                logged = True
            time.sleep(wait)
            wait = min(wait * 2, self.retry_every)
        if self.problem is not None:
            self.problem = None
            try:
                clear_problem(self.directory, self.name)
            except OSError:
                pass  # never recorded: see above
            logger.warning("Metrics port %s (%s) bound after %.1fs", self.port, self.name, time.monotonic() - started)
        self.bound.set()  # only once /readyz no longer sees a problem
        logger.info("Exporting Prometheus metrics on %s:%s (%s)", self.address or "*", self.port, self.name)
