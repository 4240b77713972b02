"""Errors and slowness on demand, so tests can prove the SLO rules and alerts end to end.

Routed only when FAULT_INJECTION_VIEWS is on; `manage.py check --deploy` reports
that, and the chart refuses the variable, so it never ships enabled.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

MAX_SLEEP_MILLISECONDS = 10_000
logger = logging.getLogger(__name__)


def status(request: HttpRequest, code: int) -> HttpResponse:
    if not 500 <= code <= 599:
        raise Http404("only 5xx statuses are injected")
    return HttpResponse(f"injected {code}\n", status=code, content_type="text/plain")


def sleep(request: HttpRequest, milliseconds: int) -> HttpResponse:
    logger.info("Sleeping %s ms", milliseconds)  # the request is in its view: tests wait for this line
    time.sleep(min(milliseconds, MAX_SLEEP_MILLISECONDS) / 1000)
    logger.info("Injected a delay of %s ms", milliseconds)  # a log line inside a request, for the trace id tests
    return HttpResponse(f"slept {milliseconds} ms\n", content_type="text/plain")


def stream(request: HttpRequest, milliseconds: int) -> StreamingHttpResponse:
    """A streamed 200 whose body stalls halfway: the first line at once, the last after the sleep."""

    def body() -> Iterator[str]:
        yield "first half\n"
        time.sleep(min(milliseconds, MAX_SLEEP_MILLISECONDS) / 1000)
        yield "second half\n"

    return StreamingHttpResponse(body(), content_type="text/plain")


async def await_(request: HttpRequest, milliseconds: int) -> HttpResponse:
    """An async view that waits without blocking its worker's event loop (an ASGI worker serves others meanwhile)."""
    await asyncio.sleep(min(milliseconds, MAX_SLEEP_MILLISECONDS) / 1000)
    return HttpResponse(f"awaited {milliseconds} ms\n", content_type="text/plain")


async def block(request: HttpRequest, milliseconds: int) -> HttpResponse:
    """An async view that blocks its worker's event loop, as a careless sync call would."""
    time.sleep(min(milliseconds, MAX_SLEEP_MILLISECONDS) / 1000)
    return HttpResponse(f"blocked {milliseconds} ms\n", content_type="text/plain")


def async_stream(request: HttpRequest, milliseconds: int) -> StreamingHttpResponse:
    """A streamed 200 with an asynchronous body that stalls halfway, as ``stream`` does."""

    async def body() -> AsyncIterator[str]:
        yield "first half\n"
        await asyncio.sleep(min(milliseconds, MAX_SLEEP_MILLISECONDS) / 1000)
        yield "second half\n"

    return StreamingHttpResponse(body(), content_type="text/plain")


class InjectedError(Exception):
    """What /__fault__/raise raises: an exception out of a view, which Django answers with a 500."""


def fail(request: HttpRequest) -> HttpResponse:
    raise InjectedError("injected by /__fault__/raise")


def query(request: HttpRequest) -> HttpResponse:
    """One query on the default database: a database that is down makes it the 500 users would get."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations")
        (applied,) = cursor.fetchone()
    return HttpResponse(f"{applied} migrations applied\n", content_type="text/plain")


urlpatterns = [
    path("query", query, name="fault-query"),
    path("raise", fail, name="fault-raise"),
    path("status/<int:code>", status, name="fault-status"),
    path("sleep/<int:milliseconds>", sleep, name="fault-sleep"),
    path("stream/<int:milliseconds>", stream, name="fault-stream"),
    path("await/<int:milliseconds>", await_, name="fault-await"),
    path("block/<int:milliseconds>", block, name="fault-block"),
    path("async-stream/<int:milliseconds>", async_stream, name="fault-async-stream"),
]
