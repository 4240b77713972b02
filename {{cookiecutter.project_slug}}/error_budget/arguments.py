"""What ``slo_budget`` and ``slo_report`` share: which Prometheus, which service's series, and exit 2."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from error_budget.budget import Service
from error_budget.prometheus import Prometheus, check_url
from error_budget.service import DEFAULT_JOB

# Prometheus could not say: unreachable, not a Prometheus, refusing the query, or no data.
UNUSABLE = 2


def add_service_arguments(parser: CommandParser) -> None:
    parser.add_argument("--prometheus-url", required=True, help="Prometheus' address, e.g. http://prometheus:9090")
    parser.add_argument("--job", default=DEFAULT_JOB, help=f"the release's full name (default {DEFAULT_JOB})")
    parser.add_argument("--namespace", default="", help="the release's namespace (needed if several match)")


def service_and_prometheus(options: dict[str, Any]) -> tuple[Service, Prometheus]:
    """The service's selectors and its Prometheus; a malformed URL raises PrometheusUnusable."""
    return Service(options["job"], options["namespace"]), Prometheus(check_url(options["prometheus_url"]))
