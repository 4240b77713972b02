"""An ASGI request still running at its deadline is cancelled and answered 504.

Under ASGI, gunicorn's timeout only kills a worker whose event loop is blocked: a
slow request would run on, uncounted. This middleware, inside the metrics
middlewares, gives each request REQUEST_DEADLINE_SECONDS (GUNICORN_TIMEOUT), then
answers 504 with its view, which every metric counts once; the worker and its
other requests go on. A sync view cannot be stopped: its thread runs to its end,
and sync views queue behind it (Django runs them in one thread per worker).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)
DEADLINE_STATUS = 504


class RequestDeadlineMiddleware:
    """Absent from a sync stack (it says MiddlewareNotUsed there), so WSGI requests pay nothing for it."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponse]]) -> None:
        if not iscoroutinefunction(get_response):
            raise MiddlewareNotUsed  # a sync worker: gunicorn's timeout stops and counts a slow request
        self.get_response = get_response
        self.seconds: float = settings.REQUEST_DEADLINE_SECONDS
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return await asyncio.wait_for(self.get_response(request), self.seconds)
        except TimeoutError:
            match = request.resolver_match
            view = match.view_name if match is not None else request.path_info
            logger.error("Request to %s passed its %gs deadline: answered %s", view, self.seconds, DEADLINE_STATUS)
            return HttpResponse(
                "Gateway Timeout: the request passed its deadline.\n", status=DEADLINE_STATUS, content_type="text/plain"
            )
