"""What ``slo_budget`` and ``slo_report`` share: which Prometheus, which service's series, and exit 2."""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import CommandParser

from service_runtime.error_budget.budget import Service
from service_runtime.error_budget.prometheus import DEADLINE_SECONDS, Prometheus, PrometheusUnusable, connect
from service_runtime.error_budget.service import DEFAULT_JOB, PERIOD_DAYS

# Prometheus could not say: unreachable, not a Prometheus, refusing the query, or no data.
UNUSABLE = 2
# A job is a Service's name and a namespace a namespace's: Kubernetes names (RFC 1123 labels).
KUBERNETES_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def add_service_arguments(parser: CommandParser) -> None:
    parser.add_argument("--prometheus-url", required=True, help="Prometheus' address, e.g. http://prometheus:9090")
    parser.add_argument("--job", default=DEFAULT_JOB, help=f"the release's full name (default {DEFAULT_JOB})")
    parser.add_argument("--namespace", default="", help="the release's namespace (needed if several match)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEADLINE_SECONDS,
        help=f"seconds for the whole command (default {DEADLINE_SECONDS})",
    )


def add_period_arguments(parser: CommandParser) -> None:
    """The SLO period, and which series to read it from."""
    parser.add_argument("--period-days", type=int, default=PERIOD_DAYS, help="the SLO period (slo.periodDays)")
    parser.add_argument(
        "--raw",
        action="store_true",
        help="read every target's raw request series instead of the chart's 5-minute records: for a history"
        " older than the records; its cost grows with targets and the period",
    )


def _kubernetes_name(option: str, value: str, empty_allowed: bool) -> str:
    if (value or not empty_allowed) and not KUBERNETES_NAME.fullmatch(value):
        raise PrometheusUnusable(
            f"{option}={value!r} is not a Kubernetes name: lowercase letters, digits and '-', at most 63 characters"
        )
    return value


def service_and_prometheus(options: dict[str, Any]) -> tuple[Service, Prometheus]:
    """The service's selectors and its Prometheus; a malformed URL, name or timeout raises PrometheusUnusable."""
    job = _kubernetes_name("--job", options["job"], empty_allowed=False)
    namespace = _kubernetes_name("--namespace", options["namespace"], empty_allowed=True)
    return Service(job, namespace), connect(options["prometheus_url"], options["timeout"])
