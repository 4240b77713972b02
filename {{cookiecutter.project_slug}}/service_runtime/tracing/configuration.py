"""Whether this service traces, read from OpenTelemetry's own ``OTEL_*`` variables only.

Tracing is on when an OTLP endpoint is set or ``OTEL_TRACES_EXPORTER=otlp`` asks
for the default one; the SDK reads every other variable itself. What the SDK
would fail on or silently replace (another exporter or protocol, a bad endpoint,
limit or propagator) is refused at start-up in one line. No OpenTelemetry import:
gunicorn's master reads this before any worker forks, and the master must never
import the SDK (its export thread does not survive ``fork``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from service_runtime.environment.readers import env_bool, env_choice, env_float, env_int

# service.name unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) names another.
SERVICE_NAME = "{{ cookiecutter.project_slug }}"
# The SDK's default endpoint when OTEL_TRACES_EXPORTER=otlp names none.
DEFAULT_ENDPOINT = "http://localhost:4318"
PROTOCOL = "http/protobuf"
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")
# The batch span processor's defaults (OpenTelemetry's specification), for checking the variables that change them.
DEFAULT_QUEUE_SIZE = 2048
DEFAULT_BATCH_SIZE = 512
# OTEL_PROPAGATORS names the service installs (opentelemetry-api's own), and "none".
PROPAGATORS = ("tracecontext", "baggage", "none")
# The SDK's span limits: whole numbers of at least 0, or it fails in every worker.
LIMITS = (
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
)


@dataclass(frozen=True)
class TracingSettings:
    """What the worker needs to know to start tracing; the SDK reads the rest of ``OTEL_*`` itself."""

    endpoint: str  # for log lines and /readyz only, without user info: the exporter reads the environment
    sampler: str
    propagate: bool = True  # False when OTEL_PROPAGATORS names "none"


def tracing_settings(environ: Mapping[str, str] = os.environ) -> TracingSettings | None:
    """The tracing this environment asks for, or None when it asks for none.

    Raises ImproperlyConfigured naming the variable, its value and what is allowed. A variable
    set to an empty string counts as unset, as the SDK reads it (a chart may render one so).
    """
    environ = {name: value for name, value in environ.items() if name.startswith("OTEL_") and value.strip()}
    if env_bool("OTEL_SDK_DISABLED", False, environ=environ):
        return None
    exporter = env_choice("OTEL_TRACES_EXPORTER", "", choices=("otlp", "none"), environ=environ)
    if exporter == "none":
        return None
    endpoint_variable = next(
        (name for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT") if name in environ),
        None,
    )
    if endpoint_variable is None and exporter != "otlp":
        return None
    for name in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        env_choice(name, PROTOCOL, choices=(PROTOCOL,), environ=environ)
    endpoint = DEFAULT_ENDPOINT
    if endpoint_variable is not None:
        endpoint = _endpoint(endpoint_variable, environ[endpoint_variable])
    sampler = env_choice("OTEL_TRACES_SAMPLER", "parentbased_always_on", choices=SAMPLERS, environ=environ)
    if sampler in RATIO_SAMPLERS:
        env_float("OTEL_TRACES_SAMPLER_ARG", 1.0, minimum=0.0, maximum=1.0, environ=environ)
    check_limits(environ)
    return TracingSettings(endpoint=endpoint, sampler=sampler, propagate=_propagates(environ))


def _endpoint(variable: str, value: str) -> str:
    """The OTLP/HTTP endpoint as it may be shown (no user info); refused in one line as the SDK would fail it."""
    shown = re.sub(r"//[^/?#]*@", "//", value)
    if value != value.strip():
        raise ImproperlyConfigured(f"{variable}={shown!r} has spaces around it: the exporter would send to that text")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  raises ValueError for a port out of range or not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(
            f"{variable}={shown!r} is not an OTLP/HTTP endpoint:"
            " give an http:// or https:// URL with a host, such as http://otel-collector:4318"
        )
    return shown


def _propagates(environ: Mapping[str, str]) -> bool:
    """Whether to propagate trace context: OTEL_PROPAGATORS names only what is installed, "none" anywhere stops it."""
    value = environ.get("OTEL_PROPAGATORS")
    if value is None:
        return True
    names = [name.strip().lower() for name in value.split(",")]
    for name in names:
        if name not in PROPAGATORS:
            raise ImproperlyConfigured(
                f"OTEL_PROPAGATORS={value!r} names {name!r}, which this service does not install:"
                " use tracecontext, baggage or none, comma-separated"
            )
    return "none" not in names


def check_limits(environ: Mapping[str, str]) -> None:
    """The queue, batch and timeout variables: the SDK would fail in every worker, or warn and guess, instead."""
    queue = env_int("OTEL_BSP_MAX_QUEUE_SIZE", DEFAULT_QUEUE_SIZE, minimum=1, maximum=1_000_000, environ=environ)
    batch = env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", DEFAULT_BATCH_SIZE, minimum=1, environ=environ)
    if batch > queue:
        raise ImproperlyConfigured(
            f"OTEL_BSP_MAX_EXPORT_BATCH_SIZE={batch} is larger than the span queue (OTEL_BSP_MAX_QUEUE_SIZE={queue}):"
            " make the batch at most the queue"
        )
    env_int("OTEL_BSP_SCHEDULE_DELAY", 5000, minimum=1, environ=environ)
    env_int("OTEL_BSP_EXPORT_TIMEOUT", 30000, minimum=0, environ=environ)
    for name in ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"):
        env_float(name, 10.0, minimum=0.001, environ=environ)
    for name in LIMITS:
        env_int(name, 0, minimum=0, environ=environ)
