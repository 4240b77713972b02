"""Benchmark only: the peer, prometheus_client's multiprocess mode as its docs set it up."""

import os
from typing import Any

from prometheus_client import multiprocess

wsgi_app = "config.wsgi:application"
bind = [f"127.0.0.1:{os.environ['HTTP_PORT']}"]
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
worker_tmp_dir = "/dev/shm"


def child_exit(server: Any, worker: Any) -> None:  # gunicorn's Arbiter and Worker: gunicorn is untyped
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
