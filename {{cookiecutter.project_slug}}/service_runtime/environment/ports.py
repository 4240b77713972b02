"""The one place that turns the environment into the metrics port range.

In the ``per_worker`` mode (the default) slot n, counted from 1 as the chart's
port names ``metrics-n``, exports on port METRICS_START_PORT + n - 1; in the
``aggregated`` mode one process serves every slot's sum on METRICS_START_PORT.
Settings, the gunicorn hooks and the system check all call these functions, so
the range and its rules cannot drift apart. Importing this module must not
import django_prometheus: that would freeze its settings before Django loads them.
"""

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from service_runtime.environment.readers import env_choice, env_int, env_str

PER_WORKER = "per_worker"  # one port per worker slot: Prometheus scrapes WEB_CONCURRENCY targets per pod
AGGREGATED = "aggregated"  # one port per pod, every slot summed: for scrapers that read one port
METRICS_MODES = (PER_WORKER, AGGREGATED)
DEFAULT_METRICS_MODE = "{{ cookiecutter.metrics_mode }}"
MIN_PORT = 1024  # the container runs as a non-root user: no privileged ports
MAX_PORT = 65535
MAX_WORKERS = 64  # more workers per pod than this: scale out with replicas
DEFAULT_HTTP_PORT = {{ cookiecutter.http_port }}


def http_port(environ: Mapping[str, str] = os.environ) -> int:
    return env_int("HTTP_PORT", DEFAULT_HTTP_PORT, minimum=MIN_PORT, maximum=MAX_PORT, environ=environ)


def bind_address(name: str, environ: Mapping[str, str] = os.environ) -> str:
    """An IP address to bind, IPv4 or IPv6, the latter with or without brackets; returned plain.

    One spelling rule for HTTP_BIND_ADDRESS and METRICS_BIND_ADDRESS: ``::``
    and ``[::]`` both mean every IPv6 (and, dual-stack, IPv4) address.
    """
    value = env_str(name, "0.0.0.0", environ=environ)
    text = value.strip()
    plain = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(plain))
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an IP address: use one such as 0.0.0.0 (every IPv4 address),"
            " :: (every address, dual-stack) or 127.0.0.1"
        ) from None


def gunicorn_bind(address: str, port: int) -> str:
    """gunicorn's spelling of an address and port: IPv6 in brackets."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def metrics_bind_address(environ: Mapping[str, str] = os.environ) -> str:
    return bind_address("METRICS_BIND_ADDRESS", environ)


def metrics_mode(environ: Mapping[str, str] = os.environ) -> str:
    return env_choice("METRICS_MODE", DEFAULT_METRICS_MODE, choices=METRICS_MODES, environ=environ)


def web_concurrency(environ: Mapping[str, str] = os.environ) -> int:
    """Gunicorn's worker count, which is also the number of slots."""
    return env_int("WEB_CONCURRENCY", minimum=1, maximum=MAX_WORKERS, environ=environ)


def metrics_port_range(environ: Mapping[str, str] = os.environ) -> range:
    """The metrics ports of the mode in use, validated against the HTTP port."""
    workers = web_concurrency(environ)
    start = env_int("METRICS_START_PORT", minimum=MIN_PORT, maximum=MAX_PORT, environ=environ)
    ports = range(start, start + (workers if metrics_mode(environ) == PER_WORKER else 1))
    problems = port_range_problems(ports, http_port(environ))
    if problems:
        raise ImproperlyConfigured(f"METRICS_START_PORT={start} with WEB_CONCURRENCY={workers}: {problems[0]}")
    return ports


def port_range_problems(ports: object, http: int | None) -> list[str]:
    """Why ``ports`` cannot serve as per-worker metrics ports (empty if it can)."""
    if not isinstance(ports, range) or ports.step != 1 or len(ports) == 0:
        return [f"the metrics ports must be a non-empty range of consecutive ports, not {ports!r}"]
    first, last = ports[0], ports[-1]
    problems = []
    if len(ports) > MAX_WORKERS:
        problems.append(f"{len(ports)} metrics ports is more than the {MAX_WORKERS} workers allowed")
    if first < MIN_PORT or last > MAX_PORT:
        problems.append(f"metrics ports {first}..{last} leave the allowed {MIN_PORT}..{MAX_PORT}")
    if http is not None and http in ports:
        problems.append(f"HTTP_PORT={http} lies inside the metrics ports {first}..{last}")
    return problems


EPHEMERAL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_port_range() -> tuple[int, int]:
    """The ports the kernel hands to outgoing connections (Linux's default if it cannot say)."""
    try:
        low, high = (int(part) for part in EPHEMERAL_PORT_RANGE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high
