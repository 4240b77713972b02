"""Baked services as real processes: a cached virtualenv, gunicorn and runserver.

Every process starts in its own session so that stopping it also stops the
workers or autoreloader children it forked; ``stop()`` always ends in SIGKILL
for anything that ignored SIGTERM.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.ports import free_block, is_open
from tests.support.venvs import cached_virtualenv


def baked_virtualenv(project: Path) -> Path:
    """A virtualenv with the baked requirements-dev.txt (which includes requirements.txt)."""
    pins = [project / "requirements.txt", project / "requirements-dev.txt"]
    return cached_virtualenv("baked-venv", project / "requirements-dev.txt", pinned_by=pins)


def production_env(venv: Path, runtime_dir: Path, config: dict, **extra: str) -> dict:
    """A pod's environment: ``config`` (what the chart's ConfigMap holds), its Secret, loopback binds."""
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(runtime_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "GUNICORN_ACCESS_LOG": "off",
        # One control socket per run: gunicorn's default path is shared by every instance.
        "GUNICORN_RUNTIME_DIR": str(runtime_dir),
    }
    env.update({key: str(value) for key, value in config.items()})
    # Only ever reachable from this machine.
    env.update(HTTP_BIND_ADDRESS="127.0.0.1", METRICS_BIND_ADDRESS="127.0.0.1")
    env.update(extra)
    return env


def port_config(http_port: int, metrics_ports: range) -> dict:
    return {"HTTP_PORT": http_port, "WEB_CONCURRENCY": len(metrics_ports), "METRICS_START_PORT": metrics_ports[0]}


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> float:
    """Seconds until ``condition()`` held; raises TimeoutError after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - started


class Process:
    """A command in its own session, with its output kept in a log file."""

    def __init__(self, argv: list, cwd: Path, env: dict, log: Path) -> None:
        self.log_path = log
        self._log = open(log, "wb")
        self.popen = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # workers that outlived their master
        except ProcessLookupError:
            pass
        self.popen.wait()
        self._log.close()


class Gunicorn(Process):
    """A baked service under gunicorn, its ports given by the caller."""

    def __init__(
        self, project: Path, venv: Path, env: dict, http_port: int, metrics_ports: list, workdir: Path, args=()
    ) -> None:
        self.project = project
        self.env = env
        self.http_port = http_port
        self.metrics_ports = list(metrics_ports)
        super().__init__([venv / "bin/gunicorn", *args], project, env, workdir / "gunicorn.log")

    @classmethod
    def on_free_ports(cls, project: Path, venv: Path, workers: int, workdir: Path, args=(), **extra: str):
        ports = free_block(workers + 1)
        env = production_env(venv, workdir, port_config(ports[0], ports[1:]), **extra)
        return cls(project, venv, env, ports[0], ports[1:], workdir, args)

    def open_metrics_ports(self) -> list[int]:
        return [port for port in self.metrics_ports if is_open(port)]

    def worker_pids(self) -> list[int]:
        """The master's children but the aggregated mode's metrics process, which is no worker."""
        return [pid for pid in self.children() if b"metrics.aggregator" not in _cmdline(pid)]

    def wait_ready(self, timeout: float = 60) -> float:
        def ready() -> bool:
            if self.popen.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.popen.returncode}:\n{self.output()}")
            return is_open(self.http_port) and len(self.open_metrics_ports()) == len(self.metrics_ports)

        return wait_until(ready, timeout)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # exited meanwhile
        return b""
