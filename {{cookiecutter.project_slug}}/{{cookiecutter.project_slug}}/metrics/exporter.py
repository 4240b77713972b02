"""Serve a metrics registry on one fixed port, loudly when something else holds it.

The port is decided by the caller (a worker's slot, or the one aggregated
port), never by which port happens to be free. A daemon thread binds it,
retrying once a second: a predecessor that just died may hold the port for a
moment, and a foreign listener may go away. Past a short grace period the
failure is logged as an error naming the port, the address and the cause, and
recorded in the slot directory, where /readyz finds it and answers 503 until
the port is bound. The server is prometheus_client's threaded, dual-stack one.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import prometheus_client
from prometheus_client import CollectorRegistry

from {{ cookiecutter.project_slug }}.metrics.slots import clear_problem, report_problem

logger = logging.getLogger(__name__)


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
            prometheus_client.start_http_server(self.port, addr=self.address, registry=self.registry)
        except OSError as error:  # taken, or an address this host does not have
            return error
        return None

    def _bind_until_done(self) -> None:
        started = time.monotonic()
        wait = 0.02
        while (error := self.try_bind_once()) is not None:
            if self.problem is None and time.monotonic() - started >= self.grace:
                self.problem = (
                    f"metrics port {self.port} on address {self.address or '*'} ({self.name}) cannot be bound:"
                    f" {error.strerror or error}; retrying every {self.retry_every:g}s, /readyz answers 503 until"
                    " it binds. Another process holds the port, or METRICS_BIND_ADDRESS is not an address of this host"
                )
                logger.error("%s", self.problem)
                report_problem(self.directory, self.name, self.problem)
            time.sleep(wait)
            wait = min(wait * 2, self.retry_every)
        if self.problem is not None:
            self.problem = None
            clear_problem(self.directory, self.name)
            logger.warning("Metrics port %s (%s) bound after %.1fs", self.port, self.name, time.monotonic() - started)
        self.bound.set()  # only once /readyz no longer sees a problem
        logger.info("Exporting Prometheus metrics on %s:%s (%s)", self.address or "*", self.port, self.name)
