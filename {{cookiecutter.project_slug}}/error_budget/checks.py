"""``manage.py check --deploy``: a downtime drill whose end has passed is refused before it ships."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error


def drill_has_not_ended(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    drill = getattr(settings, "DOWNTIME_DRILL", None)
    if drill is None or not drill.over():
        return []
    return [
        Error(
            f"DOWNTIME_DRILL_UNTIL={drill.until_text} is in the past: the drill would drill nothing",
            hint="Set a future end with the ratio, or set DOWNTIME_DRILL_RATIO to 0.",
            id="error_budget.E001",
        )
    ]
