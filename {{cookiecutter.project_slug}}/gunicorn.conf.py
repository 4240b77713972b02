"""Gunicorn settings: each worker holds a durable metrics slot, and guards keep it that way.

The worker count is deliberately not set here: gunicorn reads WEB_CONCURRENCY
itself, and the slots and metrics ports are built from the same variable.
Nothing in this file may import django_prometheus (it would freeze its
settings before Django loads them) or create a metric in the master.

Hooks, in the order gunicorn runs them:
- on_starting (master): refuse settings that break the design, and take the
  instance's slot directory, refusing if another gunicorn holds it;
- when_ready / pre_fork / child_exit (master): in the aggregated mode, keep the
  one-port aggregator process running;
- post_fork (worker, before Django loads): claim a slot, so every metric value
  this worker creates lives in that slot's files;
- post_worker_init (worker): in the per_worker mode, serve the slot's port;
- worker_abort (worker killed by the timeout): count its request as the 500 its client gets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

PROJECT_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, PROJECT_DIR)

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from config.env import env_int, env_str  # noqa: E402

from {{ cookiecutter.project_slug }}.metrics.ports import (  # noqa: E402
    PER_WORKER,
    http_port,
    metrics_bind_address,
    metrics_mode,
    metrics_port_range,
    web_concurrency,
)
from {{ cookiecutter.project_slug }}.metrics.slots import (  # noqa: E402
    RuntimeDirectoryUnusable,
    SlotDirectoryInUse,
    claim_slot,
    hold_instance,
    runtime_directory,
    slot_directory,
    start_fresh_gauges,
    write_aggregator_pid,
)

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.config import Config
    from gunicorn.workers.base import Worker

# Fails fast in the master with one line naming the variable or directory, not a traceback.
try:
    METRICS_PORTS = metrics_port_range()
    METRICS_MODE = metrics_mode()
    METRICS_ADDRESS = metrics_bind_address()
    WORKERS = web_concurrency()
    RUNTIME_DIRECTORY = runtime_directory()
    SLOT_DIRECTORY = slot_directory()
except (ImproperlyConfigured, RuntimeDirectoryUnusable) as error:
    sys.exit(f"gunicorn.conf.py refused to start: {error}")

wsgi_app = "config.wsgi:application"
bind = [f"{env_str('HTTP_BIND_ADDRESS', '0.0.0.0')}:{http_port()}"]
preload_app = False
timeout = env_int("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
max_requests = env_int("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", 0, minimum=0)
accesslog = "-" if env_str("GUNICORN_ACCESS_LOG", "on") == "on" else None
errorlog = "-"

# Heartbeat files and the control socket go to memory or a temp dir, so the
# container works with a read-only root filesystem.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket = str(RUNTIME_DIRECTORY / "gunicorn.ctl")


def design_violations(cfg: Config) -> list[str]:
    """Settings that would leave some workers without a slot, or a slot without a worker."""
    problems = []
    if cfg.preload_app:
        problems.append(
            "preload_app is on: only the master would load Django, before any worker holds a slot, so"
            " metrics would be created outside every slot and the scraped ports would read zero forever"
        )
    for address in cfg.bind:
        port = address.rpartition(":")[2]
        if not address.startswith(("unix:", "fd://")) and port.isdigit() and int(port) in METRICS_PORTS:
            problems.append(
                f"the HTTP bind {address} lies inside the metrics ports {METRICS_PORTS[0]}..{METRICS_PORTS[-1]}:"
                " bind HTTP through HTTP_PORT (no -b/--bind), or move METRICS_START_PORT"
            )
    if cfg.workers != WORKERS:
        problems.append(
            f"gunicorn would start {cfg.workers} workers but WEB_CONCURRENCY={WORKERS} sets the metrics slots"
            f" (ports {METRICS_PORTS[0]}..{METRICS_PORTS[-1]}): set the worker count only through WEB_CONCURRENCY"
            " (no -w/--workers)"
        )
    return problems


def on_starting(server: Arbiter) -> None:
    problems = design_violations(server.cfg)
    if not problems:
        try:
            # The descriptor lives on the arbiter: a reload re-reads this file, and the lock must outlive that.
            server.metrics_instance_lock = hold_instance(SLOT_DIRECTORY)
        except SlotDirectoryInUse as error:
            problems.append(str(error))
    for problem in problems:
        server.log.error("Refusing to start: %s", problem)
    if problems:
        sys.exit(f"gunicorn.conf.py refused to start: {problems[0]}")
    first, last = METRICS_PORTS[0], METRICS_PORTS[-1]
    server.log.info(
        "Metrics: %s mode, %s worker slots in %s, ports %s..%s", METRICS_MODE, WORKERS, SLOT_DIRECTORY, first, last
    )


def ensure_aggregator(server: Arbiter) -> None:
    """Aggregated mode: start the one-port exporter, or a new one if it exited (master only)."""
    if METRICS_MODE == PER_WORKER:
        return
    process = getattr(server, "metrics_aggregator", None)
    if process is not None and process.poll() is None:
        return
    if process is not None:
        server.log.error("The metrics aggregator (pid %s) exited; starting a new one", process.pid)
    # A new interpreter (fork and exec), not a thread or fork of the master: see metrics/aggregator.py.
    argv = [sys.executable, "-m", "{{ cookiecutter.project_slug }}.metrics.aggregator"]
    argv += [str(SLOT_DIRECTORY), str(METRICS_PORTS[0]), METRICS_ADDRESS]
    process = subprocess.Popen(argv, cwd=PROJECT_DIR)  # noqa: S603  our own module, by the running interpreter
    server.metrics_aggregator = process
    write_aggregator_pid(SLOT_DIRECTORY, process.pid)


def when_ready(server: Arbiter) -> None:
    ensure_aggregator(server)


def pre_fork(server: Arbiter, worker: Worker) -> None:
    ensure_aggregator(server)


def child_exit(server: Arbiter, worker: Worker) -> None:
    ensure_aggregator(server)


def on_exit(server: Arbiter) -> None:
    process = getattr(server, "metrics_aggregator", None)
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


def nworkers_changed(server: Arbiter, new_value: int, old_value: int | None) -> None:
    # TTIN/TTOU or the control socket would add a worker with no slot or leave a slot unserved.
    if old_value is not None and new_value != WORKERS:
        server.log.error(
            "Refusing to run %s workers: WEB_CONCURRENCY=%s sets the metrics slots; restart with a new WEB_CONCURRENCY",
            new_value,
            WORKERS,
        )
        server.num_workers = WORKERS


def post_fork(server: Arbiter, worker: Worker) -> None:
    # Until init_process installs the worker's handlers, this process still has the
    # master's, which only queue signals: a worker waiting for a slot must stay stoppable.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)

    def waiting(seconds: float) -> None:
        worker.log.warning("Worker %s has waited %.0fs for a free metrics slot", worker.pid, seconds)

    slot = claim_slot(SLOT_DIRECTORY, WORKERS, heartbeat=worker.notify, on_wait=waiting)
    start_fresh_gauges(slot)
    from {{ cookiecutter.project_slug }}.metrics.durable import keep_values_in_slot

    # Threaded workers update values from several threads at once; sync workers from one.
    keep_values_in_slot(slot, threaded=server.cfg.threads > 1 or server.cfg.worker_class_str != "sync")
    worker.metrics_slot = slot
    worker.log.info("Worker %s holds metrics slot %s", worker.pid, slot.index)


def post_worker_init(worker: Worker) -> None:
    if METRICS_MODE != PER_WORKER:
        return
    from {{ cookiecutter.project_slug }}.metrics.durable import slot_registry
    from {{ cookiecutter.project_slug }}.metrics.exporter import MetricsServer

    slot = worker.metrics_slot
    registry = slot_registry(slot)
    server = MetricsServer(
        registry, METRICS_PORTS[slot.index], METRICS_ADDRESS, directory=SLOT_DIRECTORY, name=f"slot-{slot.index}"
    )
    worker.metrics_server = server.start()


def worker_abort(worker: Worker) -> None:
    from {{ cookiecutter.project_slug }}.metrics import timeouts

    counted = timeouts.record_timed_out_requests(timeouts.active_metrics())
    status = timeouts.TIMED_OUT_STATUS
    worker.log.error("Worker %s timed out: %s request(s) in flight counted as %s", worker.pid, counted, status)
