"""What gunicorn runs with, read from the environment once in the master.

A value that breaks the design ends the start with one line naming it, not a
traceback. Nothing here may import django_prometheus (it would freeze its
settings before Django loads them) or create a metric in the master.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from service_runtime.environment.ports import (
    bind_address,
    gunicorn_bind,
    http_port,
    metrics_bind_address,
    metrics_mode,
    metrics_port_range,
    web_concurrency,
)
from service_runtime.environment.readers import env_choice, env_int
from service_runtime.error_budget.drill import drill_from_environment
from service_runtime.tracing.configuration import TracingSettings, tracing_settings
from service_runtime.worker_slots.build_info import BadBuildLabel, build_labels
from service_runtime.worker_slots.slots import CONTROL_SOCKET, RuntimeDirectoryUnusable, slot_directory

# Generous bounds that still fit every setting gunicorn hands to the kernel (a timeout of
# 10**11 seconds overflowed a C int and crash-looped every worker).
MAX_TIMEOUT_SECONDS = 86400  # a day
MAX_REQUESTS = 1_000_000_000
PRODUCTION_SETTINGS = "config.settings.production"
# Settings that must never face a network: DEBUG pages, a public SECRET_KEY, no metrics ports.
LOCAL_SETTINGS = ("config.settings.dev", "config.settings.test")
# How gunicorn serves Django, chosen at bake time: the application and the one worker class that
# keeps the design's guarantees for it (docs: the README's "Serving: WSGI or ASGI").
INTERFACE = "{{ cookiecutter.interface }}"
APPLICATIONS = {"wsgi": "config.wsgi:application", "asgi": "config.asgi:application"}
WORKER_CLASSES = {"wsgi": "sync", "asgi": "service_runtime.server.asgi_worker.AsgiWorker"}
# A Unix socket path holds at most 107 bytes; past that gunicorn would log a bare error.
MAX_SOCKET_PATH = 107
REFUSED = "gunicorn.conf.py refused to start: "


@dataclass(frozen=True)
class ServerSettings:
    metrics_ports: range
    metrics_mode: str
    metrics_address: str
    workers: int  # WEB_CONCURRENCY: the worker count and the number of slots
    slot_directory: Path
    bind: list[str]
    timeout: int
    graceful_timeout: int
    max_requests: int
    max_requests_jitter: int
    access_log: bool
    service_version: str  # every metrics port serves it, with the commit
    tracing: TracingSettings | None  # None unless OTEL_* asks for traces
    interface: str = INTERFACE

    @property
    def application(self) -> str:
        return APPLICATIONS[self.interface]

    @property
    def worker_class(self) -> str:
        return WORKER_CLASSES[self.interface]

    @property
    def control_socket(self) -> str:
        """In the instance's own private slot directory: nobody else can reach it."""
        return str(self.slot_directory / CONTROL_SOCKET)

    @property
    def control_socket_too_long(self) -> bool:
        return len(os.fsencode(self.control_socket)) > MAX_SOCKET_PATH


def read_server_settings() -> ServerSettings:
    """The settings, or ImproperlyConfigured (or the slot or build errors) naming what is wrong."""
    settings = ServerSettings(
        metrics_ports=metrics_port_range(),
        metrics_mode=metrics_mode(),
        metrics_address=metrics_bind_address(),
        workers=web_concurrency(),
        slot_directory=slot_directory(),
        bind=[gunicorn_bind(bind_address("HTTP_BIND_ADDRESS"), http_port())],
        timeout=env_int("GUNICORN_TIMEOUT", 30, minimum=1, maximum=MAX_TIMEOUT_SECONDS),
        graceful_timeout=env_int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1, maximum=MAX_TIMEOUT_SECONDS),
        max_requests=env_int("GUNICORN_MAX_REQUESTS", 0, minimum=0, maximum=MAX_REQUESTS),
        max_requests_jitter=env_int("GUNICORN_MAX_REQUESTS_JITTER", 0, minimum=0, maximum=MAX_REQUESTS),
        access_log=env_choice("GUNICORN_ACCESS_LOG", "on", choices=("on", "off")) == "on",
        service_version=build_labels()[0],
        tracing=tracing_settings(),
    )
    drill_from_environment()  # DOWNTIME_*: refused here in one line, not in every worker's traceback
    if os.environ.get("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS).strip() in LOCAL_SETTINGS:
        raise ImproperlyConfigured(
            f"DJANGO_SETTINGS_MODULE={os.environ['DJANGO_SETTINGS_MODULE']!r} is for manage.py on a developer's"
            f" machine (DEBUG pages, a public SECRET_KEY): gunicorn runs {PRODUCTION_SETTINGS} (unset the variable)"
        )
    return settings


def server_settings_or_exit() -> ServerSettings:
    try:
        return read_server_settings()
    except (ImproperlyConfigured, RuntimeDirectoryUnusable, BadBuildLabel) as error:
        sys.exit(f"{REFUSED}{error}")
