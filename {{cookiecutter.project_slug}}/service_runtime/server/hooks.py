"""gunicorn's hooks: each worker holds a durable metrics slot, and guards keep it that way.

In the order gunicorn runs them: ``on_starting`` refuses settings that break the
design and takes the instance's slot directory; ``when_ready``, ``pre_fork`` and
``child_exit`` keep the aggregated mode's one-port process running; ``post_fork``
claims a slot before Django loads, then starts tracing if ``OTEL_*`` asks;
``post_worker_init`` serves the slot's port; ``worker_abort`` counts a timed-out
request as the 500 its client gets; ``worker_exit`` flushes the last spans.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from service_runtime.environment.ports import PER_WORKER
from service_runtime.server.startup import MAX_SOCKET_PATH, REFUSED, ServerSettings, server_settings_or_exit
from service_runtime.tracing.configuration import SERVICE_NAME
from service_runtime.worker_slots.slots import (
    RuntimeDirectoryUnusable,
    SlotDirectoryInUse,
    SlotDirectoryNotOurs,
    claim_slot,
    hold_instance,
    release_instance,
    start_fresh_gauges,
    write_aggregator_pid,
)

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.config import Config
    from gunicorn.workers.base import Worker

# The directory gunicorn runs from (manage.py's): the aggregator's interpreter starts there.
PROJECT_DIR = Path(__file__).resolve().parents[2]


class ServerHooks:
    """The hooks, over settings read once from the environment (``from_environment``)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings

    @classmethod
    def from_environment(cls) -> ServerHooks:
        return cls(server_settings_or_exit())

    def design_violations(self, cfg: Config) -> list[str]:
        """Settings that would leave some workers without a slot, or a slot without a worker."""
        ports, workers = self.settings.metrics_ports, self.settings.workers
        problems = []
        if cfg.preload_app:
            problems.append(
                "preload_app is on: only the master would load Django, before any worker holds a slot, so"
                " metrics would be created outside every slot and the scraped ports would read zero forever"
            )
        for address in cfg.bind:
            port = address.rpartition(":")[2]
            if not address.startswith(("unix:", "fd://")) and port.isdigit() and int(port) in ports:
                problems.append(
                    f"the HTTP bind {address} lies inside the metrics ports {ports[0]}..{ports[-1]}:"
                    " bind HTTP through HTTP_PORT (no -b/--bind), or move METRICS_START_PORT"
                )
        expected = self.settings.worker_class
        if cfg.threads > 1 or cfg.worker_class_str != expected:
            problems.append(
                f"worker class {cfg.worker_class_str} with {cfg.threads} thread(s): this service is baked for"
                f" {self.settings.interface.upper()}, whose timeouts and slots count only with the {expected} worker"
                " (other workers let a hung request run on, uncounted); run it as baked (no -k/--worker-class,"
                " no --threads) and scale with WEB_CONCURRENCY"
            )
        if cfg.workers != workers:
            problems.append(
                f"gunicorn would start {cfg.workers} workers but WEB_CONCURRENCY={workers} sets the metrics slots"
                f" (ports {ports[0]}..{ports[-1]}): set the worker count only through WEB_CONCURRENCY"
                " (no -w/--workers)"
            )
        return problems

    def on_starting(self, server: Arbiter) -> None:
        settings = self.settings
        problems = self.design_violations(server.cfg)
        if not problems:
            try:
                # The descriptor lives on the arbiter: a reload re-reads the config, and the lock must outlive that.
                server.metrics_instance_lock = hold_instance(settings.slot_directory)
            except (SlotDirectoryInUse, SlotDirectoryNotOurs, RuntimeDirectoryUnusable) as error:
                problems.append(str(error))
        for problem in problems:
            server.log.error("Refusing to start: %s", problem)
        if problems:
            sys.exit(f"{REFUSED}{problems[0]}")
        if server.cfg.control_socket_disable and settings.control_socket_too_long:
            server.log.warning(
                "gunicorn's control socket is off: %s is longer than the %s bytes a Unix socket path may be;"
                " a shorter GUNICORN_RUNTIME_DIR turns it on",
                settings.control_socket,
                MAX_SOCKET_PATH,
            )
        first, last = settings.metrics_ports[0], settings.metrics_ports[-1]
        server.log.info(
            "Metrics: %s mode, %s worker slots in %s, ports %s..%s",
            settings.metrics_mode,
            settings.workers,
            settings.slot_directory,
            first,
            last,
        )

    def ensure_aggregator(self, server: Arbiter) -> None:
        """Aggregated mode: start the one-port exporter, or a new one if it exited (master only)."""
        settings = self.settings
        if settings.metrics_mode == PER_WORKER:
            return
        process = getattr(server, "metrics_aggregator", None)
        if process is not None and process.poll() is None:
            return
        if process is not None:
            server.log.error("The metrics aggregator (pid %s) exited; starting a new one", process.pid)
        # A new interpreter (fork and exec), not a thread or fork of the master: see worker_slots/aggregator.py.
        argv = [sys.executable, "-m", "service_runtime.worker_slots.aggregator"]
        argv += [str(settings.slot_directory), str(settings.metrics_ports[0]), settings.metrics_address]
        process = subprocess.Popen(argv, cwd=PROJECT_DIR)  # noqa: S603  our own module, by the running interpreter
        server.metrics_aggregator = process
        write_aggregator_pid(settings.slot_directory, process.pid)

    def when_ready(self, server: Arbiter) -> None:
        self.ensure_aggregator(server)
        if self.settings.metrics_mode != PER_WORKER:
            self.restart_aggregator_when_it_exits(server)

    def restart_aggregator_when_it_exits(self, server: Arbiter) -> None:
        """Start a new aggregator as soon as the master reaps the old one, not when a worker next dies.

        gunicorn has no hook for a child that is not a worker: its SIGCHLD handling
        reaps the aggregator as an unknown child. Wrapping it on this arbiter makes the
        master check its aggregator after every reap; the shutdown path reaps without
        it, so a stopping master starts nothing.
        """
        reap = server.handle_chld

        def reap_then_check_aggregator() -> None:
            reap()
            self.ensure_aggregator(server)

        # SIGCHLD and SIGCLD are one signal on Linux; gunicorn may dispatch it under either name.
        server.handle_chld = server.handle_cld = reap_then_check_aggregator

    def pre_fork(self, server: Arbiter, worker: Worker) -> None:
        self.ensure_aggregator(server)

    def child_exit(self, server: Arbiter, worker: Worker) -> None:
        self.ensure_aggregator(server)

    def on_exit(self, server: Arbiter) -> None:
        process = getattr(server, "metrics_aggregator", None)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        lock = getattr(server, "metrics_instance_lock", None)
        if lock is not None:
            release_instance(self.settings.slot_directory, lock)

    def nworkers_changed(self, server: Arbiter, new_value: int, old_value: int | None) -> None:
        # TTIN/TTOU or the control socket would add a worker with no slot or leave a slot unserved.
        workers = self.settings.workers
        if old_value is not None and new_value != workers:
            server.log.error(
                "Refusing to run %s workers: WEB_CONCURRENCY=%s sets the metrics slots;"
                " restart with a new WEB_CONCURRENCY",
                new_value,
                workers,
            )
            server.num_workers = workers

    def post_fork(self, server: Arbiter, worker: Worker) -> None:
        # Until init_process installs the worker's handlers, this process still has the
        # master's, which only queue signals: a worker waiting for a slot must stay stoppable.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(signum, signal.SIG_DFL)
        settings = self.settings

        def waiting(seconds: float) -> None:
            worker.log.warning("Worker %s has waited %.0fs for a free metrics slot", worker.pid, seconds)

        slot = claim_slot(settings.slot_directory, settings.workers, heartbeat=worker.notify, on_wait=waiting)
        start_fresh_gauges(slot)
        from service_runtime.worker_slots.values import keep_values_in_slot

        # Threaded workers update values from several threads at once; sync workers from one.
        keep_values_in_slot(slot, threaded=server.cfg.threads > 1 or server.cfg.worker_class_str != "sync")
        worker.metrics_slot = slot
        worker.log.info("Worker %s holds metrics slot %s", worker.pid, slot.number)
        tracing = settings.tracing
        if tracing is not None:  # before Django loads: tracing.apps instruments it then
            from service_runtime.tracing.provider import start_tracing

            try:
                start_tracing(tracing, SERVICE_NAME, settings.service_version, slot.number)
            except Exception:  # a tracing fault costs traces, never the worker
                worker.log.exception("Worker %s could not start tracing; it serves untraced", worker.pid)
            else:
                worker.log.info(
                    "Worker %s sends traces to %s (sampler %s)", worker.pid, tracing.endpoint, tracing.sampler
                )

    def post_worker_init(self, worker: Worker) -> None:
        settings = self.settings
        if settings.interface == "asgi":
            self.count_in_flight_on_abort(worker)
        if settings.metrics_mode != PER_WORKER:
            return
        from service_runtime.worker_slots.collectors import slot_registry
        from service_runtime.worker_slots.exporter import MetricsServer

        slot = worker.metrics_slot
        registry = slot_registry(slot)
        if settings.tracing is not None:
            from service_runtime.tracing.provider import ACTIVE, ExportCollector

            if ACTIVE is not None:
                registry.register(ExportCollector(ACTIVE.state))
        port = settings.metrics_ports[slot.number - 1]
        server = MetricsServer(
            registry, port, settings.metrics_address, directory=settings.slot_directory, name=f"slot-{slot.number}"
        )
        worker.metrics_server = server.start()

    def count_in_flight_on_abort(self, worker: Worker) -> None:
        """uvicorn's worker resets gunicorn's SIGABRT handler (gunicorn's timeout), and a handler on the
        event loop would never run while the loop is blocked. A plain handler runs between any two
        bytecodes: it counts every request in flight as a 5xx, as ``worker_abort`` does, and ends the worker."""

        def abort(signum: int, frame: object) -> None:
            self.worker_abort(worker)
            sys.stderr.flush()
            os._exit(1)

        signal.signal(signal.SIGABRT, abort)

    def worker_abort(self, worker: Worker) -> None:
        from service_runtime.request_metrics import timeouts

        counted = timeouts.record_timed_out_requests(timeouts.active_metrics())
        status = timeouts.TIMED_OUT_STATUS
        worker.log.error("Worker %s timed out: %s request(s) in flight counted as %s", worker.pid, counted, status)

    def worker_exit(self, server: Arbiter, worker: Worker) -> None:
        if self.settings.tracing is not None:
            from service_runtime.tracing.provider import stop_tracing

            stop_tracing()
