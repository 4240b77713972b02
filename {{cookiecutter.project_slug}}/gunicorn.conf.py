"""Gunicorn settings: each worker holds a durable metrics slot, and guards keep it that way.

The worker count is deliberately not set here: gunicorn reads WEB_CONCURRENCY
itself, and the slots and metrics ports are built from the same variable.
Nothing in this file may import django_prometheus (it would freeze its
settings before Django loads them) or create a metric in the master.

Hooks, in the order gunicorn runs them:
- on_starting (master): refuse settings that break the design, and take the
  instance's slot directory, refusing if another gunicorn holds it;
- when_ready / pre_fork / child_exit (master): in the aggregated mode, keep the
  one-port aggregator process running (when_ready also has the master restart
  it the moment it exits);
- post_fork (worker, before Django loads): claim a slot, so every metric value
  this worker creates lives in that slot's files;
  then start tracing if the OTEL_* environment asks for it (after fork: the SDK's
  export thread would not survive one);
- post_worker_init (worker): in the per_worker mode, serve the slot's port;
- worker_abort (worker killed by the timeout): count its request as the 500 its client gets;
- worker_exit (worker): flush its last spans, briefly.
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

from environment.ports import (  # noqa: E402
    PER_WORKER,
    bind_address,
    gunicorn_bind,
    http_port,
    metrics_bind_address,
    metrics_mode,
    metrics_port_range,
    web_concurrency,
)
from environment.readers import env_choice, env_int  # noqa: E402
from error_budget.drill import drill_from_environment  # noqa: E402
from tracing.configuration import SERVICE_NAME, tracing_settings  # noqa: E402
from worker_slots.build_info import BadBuildLabel, build_labels  # noqa: E402
from worker_slots.slots import (  # noqa: E402
    CONTROL_SOCKET,
    RuntimeDirectoryUnusable,
    SlotDirectoryInUse,
    SlotDirectoryNotOurs,
    claim_slot,
    hold_instance,
    release_instance,
    slot_directory,
    start_fresh_gauges,
    write_aggregator_pid,
)

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.config import Config
    from gunicorn.workers.base import Worker

# Generous bounds that still fit every setting gunicorn hands to the kernel (a timeout of
# 10**11 seconds overflowed a C int and crash-looped every worker).
MAX_TIMEOUT_SECONDS = 86400  # a day
MAX_REQUESTS = 1_000_000_000
PRODUCTION_SETTINGS = "config.settings.production"
# Settings that must never face a network: DEBUG pages, a public SECRET_KEY, no metrics ports.
LOCAL_SETTINGS = ("config.settings.dev", "config.settings.test")

# Fails fast in the master with one line naming the variable or directory, not a traceback.
try:
    METRICS_PORTS = metrics_port_range()
    METRICS_MODE = metrics_mode()
    METRICS_ADDRESS = metrics_bind_address()
    WORKERS = web_concurrency()
    SLOT_DIRECTORY = slot_directory()
    bind = [gunicorn_bind(bind_address("HTTP_BIND_ADDRESS"), http_port())]
    timeout = env_int("GUNICORN_TIMEOUT", 30, minimum=1, maximum=MAX_TIMEOUT_SECONDS)
    graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1, maximum=MAX_TIMEOUT_SECONDS)
    max_requests = env_int("GUNICORN_MAX_REQUESTS", 0, minimum=0, maximum=MAX_REQUESTS)
    max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", 0, minimum=0, maximum=MAX_REQUESTS)
    access_log = env_choice("GUNICORN_ACCESS_LOG", "on", choices=("on", "off"))
    SERVICE_VERSION, _ = build_labels()  # SERVICE_VERSION, SERVICE_COMMIT: every metrics port serves them
    TRACING = tracing_settings()  # None unless OTEL_* asks for traces
    drill_from_environment()  # DOWNTIME_*: refused here in one line, not in every worker's traceback
    if os.environ.get("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS).strip() in LOCAL_SETTINGS:
        raise ImproperlyConfigured(
            f"DJANGO_SETTINGS_MODULE={os.environ['DJANGO_SETTINGS_MODULE']!r} is for manage.py on a developer's"
            f" machine (DEBUG pages, a public SECRET_KEY): gunicorn runs {PRODUCTION_SETTINGS} (unset the variable)"
        )
except (ImproperlyConfigured, RuntimeDirectoryUnusable, BadBuildLabel) as error:
    sys.exit(f"gunicorn.conf.py refused to start: {error}")

wsgi_app = "config.wsgi:application"
preload_app = False
accesslog = "-" if access_log == "on" else None
errorlog = "-"

# Heartbeat files go to memory, so the container works with a read-only root filesystem.
# The control socket lives in the instance's own private slot directory: two services
# sharing a temp directory each get their own, and nobody else can reach it.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket = str(SLOT_DIRECTORY / CONTROL_SOCKET)
# A Unix socket path holds at most 107 bytes; past that gunicorn would log a bare error.
MAX_SOCKET_PATH = 107
control_socket_disable = len(os.fsencode(control_socket)) > MAX_SOCKET_PATH


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
    if cfg.threads > 1 or cfg.worker_class_str != "sync":
        problems.append(
            f"worker class {cfg.worker_class_str} with {cfg.threads} thread(s): GUNICORN_TIMEOUT stops and counts"
            " a hung request only in a sync worker (other workers let it run on, uncounted); run sync workers"
            " (no -k/--worker-class, no --threads) and scale with WEB_CONCURRENCY"
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
        except (SlotDirectoryInUse, SlotDirectoryNotOurs, RuntimeDirectoryUnusable) as error:
            problems.append(str(error))
    for problem in problems:
        server.log.error("Refusing to start: %s", problem)
    if problems:
        sys.exit(f"gunicorn.conf.py refused to start: {problems[0]}")
    if server.cfg.control_socket_disable and len(os.fsencode(control_socket)) > MAX_SOCKET_PATH:
        server.log.warning(
            "gunicorn's control socket is off: %s is longer than the %s bytes a Unix socket path may be;"
            " a shorter GUNICORN_RUNTIME_DIR turns it on",
            control_socket,
            MAX_SOCKET_PATH,
        )
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
    # A new interpreter (fork and exec), not a thread or fork of the master: see worker_slots/aggregator.py.
    argv = [sys.executable, "-m", "worker_slots.aggregator"]
    argv += [str(SLOT_DIRECTORY), str(METRICS_PORTS[0]), METRICS_ADDRESS]
    process = subprocess.Popen(argv, cwd=PROJECT_DIR)  # noqa: S603  our own module, by the running interpreter
    server.metrics_aggregator = process
    write_aggregator_pid(SLOT_DIRECTORY, process.pid)


def when_ready(server: Arbiter) -> None:
    ensure_aggregator(server)
    if METRICS_MODE != PER_WORKER:
        restart_aggregator_when_it_exits(server)


def restart_aggregator_when_it_exits(server: Arbiter) -> None:
    """Start a new aggregator as soon as the master reaps the old one, not when a worker next dies.

    gunicorn has no hook for a child that is not a worker: its SIGCHLD handling
    (``handle_chld``, run from the master's main loop, not from the signal
    handler) reaps the aggregator as an unknown child. Wrapping it on this
    arbiter makes the master check its aggregator after every reap; the
    shutdown path reaps without it, so a stopping master starts nothing.
    """
    reap = server.handle_chld

    def reap_then_check_aggregator() -> None:
        reap()
        ensure_aggregator(server)

    # SIGCHLD and SIGCLD are one signal on Linux; gunicorn may dispatch it under either name.
    server.handle_chld = server.handle_cld = reap_then_check_aggregator


def pre_fork(server: Arbiter, worker: Worker) -> None:
    ensure_aggregator(server)


def child_exit(server: Arbiter, worker: Worker) -> None:
    ensure_aggregator(server)


def on_exit(server: Arbiter) -> None:
    process = getattr(server, "metrics_aggregator", None)
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(timeout=10)
    lock = getattr(server, "metrics_instance_lock", None)
    if lock is not None:
        release_instance(SLOT_DIRECTORY, lock)


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
    from worker_slots.durable import keep_values_in_slot

    # Threaded workers update values from several threads at once; sync workers from one.
    keep_values_in_slot(slot, threaded=server.cfg.threads > 1 or server.cfg.worker_class_str != "sync")
    worker.metrics_slot = slot
    worker.log.info("Worker %s holds metrics slot %s", worker.pid, slot.number)
    if TRACING is not None:  # before Django loads: tracing.apps instruments it then
        from tracing.provider import start_tracing

        try:
            start_tracing(TRACING, SERVICE_NAME, SERVICE_VERSION, slot.number)
        except Exception:  # a tracing fault costs traces, never the worker
            worker.log.exception("Worker %s could not start tracing; it serves untraced", worker.pid)
        else:
            worker.log.info("Worker %s sends traces to %s (sampler %s)", worker.pid, TRACING.endpoint, TRACING.sampler)


def post_worker_init(worker: Worker) -> None:
    if METRICS_MODE != PER_WORKER:
        return
    from worker_slots.durable import slot_registry
    from worker_slots.exporter import MetricsServer

    slot = worker.metrics_slot
    registry = slot_registry(slot)
    if TRACING is not None:
        from tracing.provider import ACTIVE, ExportCollector

        if ACTIVE is not None:
            registry.register(ExportCollector(ACTIVE.state))
    server = MetricsServer(
        registry, METRICS_PORTS[slot.number - 1], METRICS_ADDRESS, directory=SLOT_DIRECTORY, name=f"slot-{slot.number}"
    )
    worker.metrics_server = server.start()


def worker_abort(worker: Worker) -> None:
    from request_metrics import timeouts

    counted = timeouts.record_timed_out_requests(timeouts.active_metrics())
    status = timeouts.TIMED_OUT_STATUS
    worker.log.error("Worker %s timed out: %s request(s) in flight counted as %s", worker.pid, counted, status)


def worker_exit(server: Arbiter, worker: Worker) -> None:
    if TRACING is not None:
        from tracing.provider import stop_tracing

        stop_tracing()
