"""Downtime drills: a share of ordinary requests answered 503 on purpose, while a drill runs.

A drill spends unspent budget on a day the team chose (the ErrorBudgetUnderspent
runbook): drilled requests count in the SLIs like any 503; probes and metrics
endpoints are never drilled. DOWNTIME_DRILL_RATIO is the share (at most
MAX_DRILL_RATIO), DOWNTIME_DRILL_UNTIL, a time with its zone, its end (at most
MAX_DRILL_HOURS away). Helm and ``check --deploy`` refuse a drill whose end has
passed; a process started after the end serves normally and logs it.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from service_runtime.environment.readers import env_float

logger = logging.getLogger(__name__)

# At most a tenth of requests: a drill shows callers that failures happen; more is an outage.
MAX_DRILL_RATIO = 0.1
# A drill is an exercise the team watches: its end is at most a working day away. Farther, it is a
# setting someone forgot: a day at the ceiling already spends more than a 99.9 % month's budget.
MAX_DRILL_HOURS = 24
DRILL_HEADER = "X-Downtime-Drill"
NEVER_DRILLED_VIEWS = frozenset({"prometheus-django-metrics"})
EXAMPLE_END = "2026-12-02T18:00:00Z"


@dataclass(frozen=True)
class Drill:
    ratio: float
    until: float  # Unix time

    @property
    def until_text(self) -> str:
        return datetime.fromtimestamp(self.until, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def over(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.until

    def too_long(self, now: float | None = None) -> bool:
        """Whether its end is more than MAX_DRILL_HOURS away."""
        return self.until - (time.time() if now is None else now) > MAX_DRILL_HOURS * 3600


def parse_end(text: str) -> float:
    """DOWNTIME_DRILL_UNTIL as a Unix time; it must name its time zone."""
    try:
        # RFC 3339 allows a lowercase z; Python 3.11 reads neither spelling.
        end = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text.strip()))
    except ValueError:
        end = None
    if end is None or end.tzinfo is None:
        raise ImproperlyConfigured(
            f"DOWNTIME_DRILL_UNTIL={text!r} is not allowed: use an ISO 8601 time with its zone, e.g. {EXAMPLE_END}"
        )
    return end.timestamp()


def drill_from_environment(environ: Mapping[str, str] = os.environ) -> Drill | None:
    """The drill the environment asks for, or None (ratio 0 or unset)."""
    ratio = env_float("DOWNTIME_DRILL_RATIO", 0.0, minimum=0.0, maximum=MAX_DRILL_RATIO, environ=environ)
    if ratio == 0:
        return None
    text = environ.get("DOWNTIME_DRILL_UNTIL", "")
    if not text.strip():
        raise ImproperlyConfigured(
            f"DOWNTIME_DRILL_RATIO={ratio:g} needs DOWNTIME_DRILL_UNTIL, the drill's end (e.g. {EXAMPLE_END}):"
            " a drill never runs open-ended"
        )
    return Drill(ratio, parse_end(text))


class DowntimeDrillMiddleware:
    """Last in MIDDLEWARE, so the metrics middlewares around it count the drilled 503 with its view.
    Sync or async as the stack is: an ASGI request never hops threads for the drill."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        drill: Drill | None = getattr(settings, "DOWNTIME_DRILL", None)
        if drill is None:
            raise MiddlewareNotUsed
        if drill.over():
            logger.warning("DOWNTIME_DRILL_UNTIL=%s has passed: no requests are drilled", drill.until_text)
            raise MiddlewareNotUsed
        if drill.too_long():
            logger.warning(
                "DOWNTIME_DRILL_UNTIL=%s is more than %d hours away: no requests are drilled (a forgotten setting?)",
                drill.until_text,
                MAX_DRILL_HOURS,
            )
            raise MiddlewareNotUsed
        logger.warning("Downtime drill: %.1f%% of requests answer 503 until %s", drill.ratio * 100, drill.until_text)
        self.get_response, self.drill = get_response, drill
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)
            # Django runs an async stack's process_view as it finds it: a coroutine, no thread.
            self.process_view = self._process_view_async  # type: ignore[method-assign,assignment]

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)  # under ASGI, the coroutine Django awaits

    async def _process_view_async(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        return DowntimeDrillMiddleware.process_view(self, request, view, args, kwargs)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and match.url_name in NEVER_DRILLED_VIEWS:
            return None
        if self.drill.over() or random.random() >= self.drill.ratio:  # noqa: S311  sampling, not secrecy
            return None
        body = "Service unavailable: a planned downtime drill.\n"
        response = HttpResponse(body, status=503, content_type="text/plain")
        response[DRILL_HEADER] = f"until={self.drill.until_text}"
        return response
