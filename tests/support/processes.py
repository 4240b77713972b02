"""Baked services as real processes: gunicorn, runserver, Prometheus, anything started for a test.

Every process starts in its own session so that stopping it also stops the
workers or autoreloader children it forked; ``stop()`` always ends in SIGKILL
for anything that ignored SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

from tests.support.environment import port_config, production_env
from tests.support.ports import free_block, is_open
from tests.support.waiting import wait_until


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

    def wait_http_ready(self, url: str, timeout: float) -> float:
        """Seconds until ``url`` answers 200; an exit meanwhile raises with the process' output."""

        def ready() -> bool:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{Path(self.popen.args[0]).name} exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False

        return wait_until(ready, timeout=timeout)

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

    @property
    def slot_directory(self) -> Path:
        """The instance's private slot directory (the bake's service_runtime/worker_slots/slots.py names it
        for the user)."""
        return Path(self.env["GUNICORN_RUNTIME_DIR"]) / f"{self.project.name}-metrics-{os.geteuid()}"

    def open_metrics_ports(self) -> list[int]:
        return [port for port in self.metrics_ports if is_open(port)]

    def worker_pids(self) -> list[int]:
        """The master's children but the aggregated mode's metrics process, which is no worker."""
        return [pid for pid in self.children() if b"service_runtime.worker_slots.aggregator" not in _cmdline(pid)]

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
