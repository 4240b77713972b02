import os
import random
import secrets
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import clear_url_caches

from service_runtime.environment.ports import ephemeral_port_range

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port_block(size: int) -> range:
    """Consecutive ports free on loopback right now, below the ephemeral range: a port inside
    it can be the local end of an outgoing connection, which blocks binding it for a minute."""
    first_ephemeral = ephemeral_port_range()[0]
    for _ in range(500):
        start = random.randrange(10000, first_ephemeral - size)
        ports = range(start, start + size)
        if all(port_is_free(port) for port in ports):
            return ports
    raise RuntimeError(f"no {size} consecutive free ports found")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def free_ports():
    return free_port_block


@pytest.fixture
def production_env() -> dict[str, str]:
    """A realistic production environment, as the chart sets it."""
    ports = free_port_block(3)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "orders.example.com",
        "WEB_CONCURRENCY": "2",
        "METRICS_START_PORT": str(ports[1]),
        "HTTP_PORT": str(ports[0]),
        "METRICS_BIND_ADDRESS": "127.0.0.1",
        "METRICS_MODE": "{{ cookiecutter.metrics_mode }}",
    }


@pytest.fixture
def python_process():
    """python_process(code): the code running in a new interpreter in the project, its stdout a pipe; killed after."""
    started: list[subprocess.Popen] = []

    def start(code: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)], cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


@pytest.fixture
def manage():
    def run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def reload_urls() -> None:
    """config.urls reads settings at import; re-import it after changing them."""
    import importlib

    import config.urls

    clear_url_caches()
    importlib.reload(config.urls)


@pytest.fixture
def urls_with():
    """urls_with(**settings): the URLconf as those settings would build it, for one test."""
    active = []

    def build(**changed):
        override = override_settings(**changed)
        override.enable()
        active.append(override)
        reload_urls()

    yield build
    for override in reversed(active):
        override.disable()
    reload_urls()
