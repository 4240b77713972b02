"""What ``slo_budget`` and ``slo_report`` share: which Prometheus, which service's series, and exit 2."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from error_budget.budget import Service
from error_budget.prometheus import Prometheus, check_url
from error_budget.service import DEFAULT_JOB, PERIOD_DAYS

# Prometheus could not say: unreachable, not a Prometheus, refusing the query, or no data.
UNUSABLE = 2


def add_service_arguments(parser: CommandParser) -> None:
    parser.add_argument("--prometheus-url", required=True, help="Prometheus' address, e.g. http://prometheus:9090")
    parser.add_argument("--job", default=DEFAULT_JOB, help=f"the release's full name (default {DEFAULT_JOB})")
    parser.add_argument("--namespace", default="", help="the release's namespace (needed if several match)")


def service_and_prometheus(options: dict[str, Any]) -> tuple[Service, Prometheus]:
    """The service's selectors and its Prometheus; a malformed URL raises PrometheusUnusable."""
    return Service(options["job"], options["namespace"]), Prometheus(check_url(options["prometheus_url"]))


def add_period_arguments(parser: CommandParser) -> None:
    """The SLO period, and which series to read it from."""
    parser.add_argument("--period-days", type=int, default=PERIOD_DAYS, help="the SLO period (slo.periodDays)")
    parser.add_argument(
        "--raw",
        action="store_true",
        help="read every target's raw request series instead of the chart's 5-minute records: for a history"
        " older than the records; its cost grows with targets and the period",
    )
