"""Gunicorn settings: one metrics port per worker, and guards that keep it that way.

The worker count is deliberately not set here: gunicorn reads WEB_CONCURRENCY
itself, and the metrics port range is built from the same variable. Nothing in
this file may import django_prometheus (it would freeze its settings before
Django loads them); the exporter is imported inside the worker hook.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from config.env import env_int, env_str  # noqa: E402

from {{ cookiecutter.project_slug }}.metrics.ports import http_port, metrics_port_range  # noqa: E402

# Fails fast in the master, naming the variable, when the environment is wrong.
METRICS_PORTS = metrics_port_range()

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
control_socket = os.path.join(env_str("GUNICORN_RUNTIME_DIR", tempfile.gettempdir()), "gunicorn.ctl")


def design_violations(cfg) -> list[str]:
    """Settings that would leave some workers without a metrics port."""
    problems = []
    if cfg.preload_app:
        problems.append(
            "preload_app is on: only the master would load Django and bind a metrics port, so every"
            " worker's metrics would be invisible and the one scraped port would read zero forever"
        )
    if cfg.workers != len(METRICS_PORTS):
        problems.append(
            f"gunicorn would start {cfg.workers} workers but the metrics port range"
            f" {METRICS_PORTS[0]}..{METRICS_PORTS[-1]} has {len(METRICS_PORTS)} ports:"
            " set the worker count only through WEB_CONCURRENCY (no -w/--workers)"
        )
    return problems


def on_starting(server) -> None:
    problems = design_violations(server.cfg)
    for problem in problems:
        server.log.error("Refusing to start: %s", problem)
    if problems:
        sys.exit(f"gunicorn.conf.py refused to start: {problems[0]}")
    first, last = METRICS_PORTS[0], METRICS_PORTS[-1]
    server.log.info("Metrics: %s workers on ports %s..%s", len(METRICS_PORTS), first, last)


def nworkers_changed(server, new_value: int, old_value: int | None) -> None:
    # TTIN/TTOU or the control socket would add a worker with no port or leave a port unscraped.
    if old_value is not None and new_value != len(METRICS_PORTS):
        server.log.error(
            "Refusing to run %s workers: the metrics port range has %s ports; restart with a new WEB_CONCURRENCY",
            new_value,
            len(METRICS_PORTS),
        )
        server.num_workers = len(METRICS_PORTS)


def post_worker_init(worker) -> None:
    from django.conf import settings

    ports = getattr(settings, "PROMETHEUS_METRICS_EXPORT_PORT_RANGE", None)
    if ports is None:
        worker.log.warning("No PROMETHEUS_METRICS_EXPORT_PORT_RANGE in %s", settings.SETTINGS_MODULE)
        return
    from {{ cookiecutter.project_slug }}.metrics.exporter import WorkerExporter

    worker.metrics_exporter = WorkerExporter(ports, settings.PROMETHEUS_METRICS_EXPORT_ADDRESS).start()
