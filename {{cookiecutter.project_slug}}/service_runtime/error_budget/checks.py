"""``manage.py check --deploy``: a downtime drill that has ended, or ends too far away, is refused."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from service_runtime.error_budget.drill import MAX_DRILL_HOURS


def drill_has_not_ended(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    drill = getattr(settings, "DOWNTIME_DRILL", None)
    if drill is None:
        return []
    if drill.too_long():
        return [
            Error(
                f"DOWNTIME_DRILL_UNTIL={drill.until_text} is more than {MAX_DRILL_HOURS} hours away: a drill is an"
                " exercise the team watches, not a setting left on",
                hint=f"Set an end within {MAX_DRILL_HOURS} hours, or set DOWNTIME_DRILL_RATIO to 0.",
                id="error_budget.E002",
            )
        ]
    if not drill.over():
        return []
    return [
        Error(
            f"DOWNTIME_DRILL_UNTIL={drill.until_text} is in the past: the drill would drill nothing",
            hint="Set a future end with the ratio, or set DOWNTIME_DRILL_RATIO to 0.",
            id="error_budget.E001",
        )
    ]
