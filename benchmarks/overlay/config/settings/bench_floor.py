"""Benchmark only: production settings with a middleware that does nothing where the metrics one sits.

What Django charges any middleware in that place, with the same two hooks the lean one has
(a layer around the view, and a ``process_view`` call): the floor under lean's own work.
"""

from collections.abc import Callable
from typing import Any

from config.settings.production import *  # noqa: F403
from django.http import HttpRequest, HttpResponse


class EmptyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any) -> None:
        return None


MIDDLEWARE = [
    f"{__name__}.EmptyMiddleware" if name in METRICS_LAST_MIDDLEWARE else name  # noqa: F405
    for name in MIDDLEWARE  # noqa: F405
    if name not in METRICS_FIRST_MIDDLEWARE  # noqa: F405
]
