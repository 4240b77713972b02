"""Benchmark only: production settings with a middleware that does nothing where the metrics one sits.

What Django charges any middleware in that place, in the lean one's form (a function
from a factory, with a ``process_view`` hook): the floor under lean's own work.
"""

from collections.abc import Callable
from typing import Any

from config.settings.production import *  # noqa: F403
from django.http import HttpRequest, HttpResponse


def empty_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        return get_response(request)

    def process_view(request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any) -> None:
        return None

    middleware.process_view = process_view  # type: ignore[attr-defined]
    return middleware


MIDDLEWARE = [
    f"{__name__}.empty_middleware" if name == METRICS_MIDDLEWARE[0] else name  # noqa: F405
    for name in MIDDLEWARE  # noqa: F405
    if name not in METRICS_MIDDLEWARE[1:]  # noqa: F405
]
