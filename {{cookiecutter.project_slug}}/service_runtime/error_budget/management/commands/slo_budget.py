"""The deploy gate: may features ship, by the error budget policy?

Exit 0: they may. Exit 1: the policy freezes feature releases (budget spent, or
an incident burning it now). Exit 2: Prometheus could not say (unreachable, not
a Prometheus, no data for the service): one line says which.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from service_runtime.error_budget.arguments import (
    UNUSABLE,
    add_period_arguments,
    add_service_arguments,
    service_and_prometheus,
)
from service_runtime.error_budget.budget import budgets_now
from service_runtime.error_budget.prometheus import PrometheusUnusable

FROZEN = 1


class Command(BaseCommand):
    help = "Per SLO: objective, budget left, burn rates and the policy's decision; exit 1 if features are frozen."

    def add_arguments(self, parser: CommandParser) -> None:
        add_service_arguments(parser)
        add_period_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            service, prometheus = service_and_prometheus(options)
            budgets, note = budgets_now(prometheus, service, options["period_days"], options["raw"])
        except PrometheusUnusable as error:
            raise CommandError(str(error), returncode=UNUSABLE) from None
        self.stdout.write(f"{'SLO':<14}{'objective':>10}{'budget left':>13}{'burn 1h':>9}{'burn 6h':>9}  decision")
        for budget in budgets:
            self.stdout.write(
                f"{budget.slo:<14}{budget.objective * 100:>9.3g}%{budget.remaining * 100:>12.1f}%"
                f"{budget.burn_rate_1h:>9.2f}{budget.burn_rate_6h:>9.2f}  {budget.decision.text}"
            )
        self.stdout.write(note)
        frozen = [budget.slo for budget in budgets if budget.decision.frozen]
        if frozen:
            self.stdout.write(f"Feature releases are frozen by the error budget policy ({', '.join(frozen)}).")
            raise SystemExit(FROZEN)
        self.stdout.write("Features may ship.")
