from django.apps import AppConfig
from django.core import checks


class ErrorBudgetConfig(AppConfig):
    """The ``slo_budget`` and ``slo_report`` commands, and the downtime drill's deploy check."""

    name = "service_runtime.error_budget"
    label = "service_runtime_error_budget"  # not "error_budget": the team may name its package so

    def ready(self) -> None:
        from service_runtime.error_budget.checks import drill_has_not_ended

        checks.register(drill_has_not_ended, deploy=True)
