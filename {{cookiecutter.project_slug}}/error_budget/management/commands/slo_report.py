"""The period's SLO report for the team's review: Markdown and SVG burn-downs (and JSON with --json)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from error_budget.arguments import UNUSABLE, add_period_arguments, add_service_arguments, service_and_prometheus
from error_budget.burndown import svg
from error_budget.prometheus import PrometheusUnusable
from error_budget.report import as_json, as_markdown, build


class Command(BaseCommand):
    help = "Write the SLO report of the period: attainment, budget spent, releases, views, incidents, burn-down."

    def add_arguments(self, parser: CommandParser) -> None:
        add_service_arguments(parser)
        parser.add_argument("--end", type=float, default=None, help="the period's end, a Unix time (default: now)")
        parser.add_argument("--output", type=Path, default=Path("slo-report"), help="directory to write into")
        parser.add_argument("--json", action="store_true", help="also write slo-report.json")
        add_period_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        end = options["end"] if options["end"] is not None else time.time()
        try:
            service, prometheus = service_and_prometheus(options)
            threshold = settings.SLO_LATENCY_THRESHOLD_SECONDS
            reports, figures = build(prometheus, service, options["period_days"], threshold, end, options["raw"])
        except PrometheusUnusable as error:
            raise CommandError(str(error), returncode=UNUSABLE) from None
        output: Path = options["output"]
        output.mkdir(parents=True, exist_ok=True)
        charts = {}
        for report in reports:
            charts[report.slo] = f"burndown-{report.slo}.svg"
            (output / charts[report.slo]).write_text(svg(f"{report.slo} error budget remaining", report.burndown))
        (output / "slo-report.md").write_text(
            as_markdown(reports, service, options["period_days"], end, charts, figures)
        )
        if options["json"]:
            (output / "slo-report.json").write_text(
                json.dumps(as_json(reports, options["period_days"], end, figures), indent=2)
            )
        self.stdout.write(f"Wrote {output / 'slo-report.md'}")
