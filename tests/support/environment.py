"""The service's environment as a pod gets it: the chart's ConfigMap and Secret, bound to loopback."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


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
