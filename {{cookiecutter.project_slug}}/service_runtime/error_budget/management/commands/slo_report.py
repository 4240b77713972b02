"""The period's SLO report for the team's review: Markdown and SVG burn-downs (and JSON with --json)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from service_runtime.error_budget.arguments import (
    UNUSABLE,
    add_period_arguments,
    add_service_arguments,
    service_and_prometheus,
)
from service_runtime.error_budget.burndown import svg
from service_runtime.error_budget.prometheus import PrometheusUnusable
from service_runtime.error_budget.report import as_json, as_markdown, build, finite
from service_runtime.error_budget.report_files import Unwritable, file_name, write_new

# A report over more than a year reads more than Prometheus usually keeps.
MAX_PERIOD_DAYS = 366


class Command(BaseCommand):
    help = "Write the SLO report of the period: attainment, budget spent, releases, views, incidents, burn-down."

    def add_arguments(self, parser: CommandParser) -> None:
        add_service_arguments(parser)
        parser.add_argument("--end", type=float, default=None, help="the period's end, a Unix time (default: now)")
        parser.add_argument("--output", type=Path, default=Path("slo-report"), help="directory to write into")
        parser.add_argument("--json", action="store_true", help="also write slo-report.json")
        add_period_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            end, period_days, output = checked_arguments(options)
            service, prometheus = service_and_prometheus(options)
            threshold = settings.SLO_LATENCY_THRESHOLD_SECONDS
            reports, figures = build(prometheus, service, period_days, threshold, end, options["raw"])
        except PrometheusUnusable as error:
            raise CommandError(str(error), returncode=UNUSABLE) from None
        try:
            output.mkdir(parents=True, exist_ok=True)
            charts = {report.slo: file_name("burndown", report.slo, ".svg") for report in reports}
            for report in reports:
                write_new(output, charts[report.slo], svg(f"{report.slo} error budget remaining", report.burndown))
            write_new(output, "slo-report.md", as_markdown(reports, service, period_days, end, charts, figures))
            if options["json"]:
                text = json.dumps(finite(as_json(reports, period_days, end, figures)), indent=2, allow_nan=False)
                write_new(output, "slo-report.json", text)
        except (Unwritable, OSError) as error:
            raise CommandError(
                f"cannot write the report into --output={str(output)!r}: {error}", returncode=UNUSABLE
            ) from None
        self.stdout.write(f"Wrote {output / 'slo-report.md'}")


def checked_arguments(options: dict[str, Any]) -> tuple[float, int, Path]:
    """The period's end, its length and the output directory, each refused in one line if it cannot be."""
    now = time.time()
    end = options["end"] if options["end"] is not None else now
    if not math.isfinite(end) or not 0 < end <= now + 60:
        raise PrometheusUnusable(f"--end={options['end']!r} is not allowed: give a Unix time up to now")
    period_days = options["period_days"]
    if not 1 <= period_days <= MAX_PERIOD_DAYS:
        raise PrometheusUnusable(f"--period-days={period_days} is not allowed: give 1 to {MAX_PERIOD_DAYS} days")
    output: Path = options["output"]
    if output.is_symlink() and not output.exists() or output.exists() and not output.is_dir():
        raise PrometheusUnusable(f"--output={str(output)!r} is not allowed: give a directory, or a path to create one")
    return end, period_days, output
