from django.apps import AppConfig
from django.core import checks


class ErrorBudgetConfig(AppConfig):
    """The ``slo_budget`` and ``slo_report`` commands, and the downtime drill's deploy check."""

    name = "error_budget"
    label = "error_budget"

    def ready(self) -> None:
        from error_budget.checks import drill_has_not_ended

        checks.register(drill_has_not_ended, deploy=True)
