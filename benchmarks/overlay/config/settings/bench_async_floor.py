"""Benchmark only: production settings with an async middleware that does nothing where the metrics one sits.

What Django charges any async-capable middleware in that place under ASGI (its
coroutine, and the exception wrapper Django puts around every middleware): the
floor under the lean middleware's own work on the event loop.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from config.settings.production import *  # noqa: F403
from django.http import HttpRequest, HttpResponse


def empty_async_middleware(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    if not iscoroutinefunction(get_response):
        return get_response

    async def middleware(request: HttpRequest) -> HttpResponse:
        response: Awaitable[HttpResponse] = get_response(request)
        return await response

    markcoroutinefunction(middleware)
    return middleware


empty_async_middleware.async_capable = True  # type: ignore[attr-defined]
empty_async_middleware.sync_capable = True  # type: ignore[attr-defined]

MIDDLEWARE = [
    f"{__name__}.empty_async_middleware" if name == METRICS_MIDDLEWARE[0] else name  # noqa: F405
    for name in MIDDLEWARE  # noqa: F405
    if name not in METRICS_MIDDLEWARE[1:]  # noqa: F405
]
