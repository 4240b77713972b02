"""Which requests a worker is serving right now, for the timeout accounting (``timeouts.py``).

Both profiles' middlewares note each request here while it is served: the lean
profile's own (``lean.py``), and ``InFlightMiddleware`` beside django-prometheus'
in the full profile. A streamed response stays in flight until its body is
sent. Also here: the labels a request is counted under, and the 500 series each
view gets at zero the first time it is served.

This module imports neither ``lean.py`` nor ``timeouts.py``: both import it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from time import perf_counter
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from prometheus_client import Counter

TIMED_OUT_STATUS = "500"
UNNAMED_VIEW = "<unnamed view>"
INVALID_METHOD = "<invalid method>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"})

# A request in flight: [when it started (perf_counter), its transport label once its view is
# reached (the lean middleware's process_view sets it), else None]. A plain list: the hot path
# builds one per request.
InFlight = list[Any]

# Requests in flight, by request: one under the sync worker, one per thread under gthread.
# Keyed by the request itself: its process_view finds its entry with no thread id to ask for.
IN_FLIGHT: dict[HttpRequest, InFlight] = {}


def view_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.view_name if match is not None and match.view_name else UNNAMED_VIEW


def method_label(request: HttpRequest) -> str:
    return request.method if request.method in KNOWN_METHODS else INVALID_METHOD


def count_view_request(metrics: Any, request: HttpRequest, entry: InFlight) -> None:
    """Count a request that reached its view and was never answered (the lean middleware counts
    the others with their response), once. For the full profile, whose django-prometheus
    middleware counted it when the view was called, this does nothing: its entries carry no
    transport."""
    transport = entry[1]
    # An ASGI worker's entry carries the transport from the start: only a resolved request reached a view.
    if transport is not None and request.resolver_match is not None:
        entry[1] = None
        labels = (view_name(request), transport, method_label(request))
        metrics.requests_by_view_transport_method.labels(*labels).inc()


def prepare_error_series(responses: Counter, view: str, method: str) -> None:
    """Create the view's 500 series at zero, the first time the view and method are served.

    ``rate()`` and ``increase()`` count from a series' first sample, so the 500
    that creates a series is never seen by the SLO rules: a view that starts
    hanging (each timeout counted as a 500, see above) would read as 0 % errors
    until its second failure reaches the same worker. A series that already
    stands at zero makes the first failure count.
    """
    responses.labels(TIMED_OUT_STATUS, view, method)


class _SentWatch:
    """A streamed body that calls ``done`` once, when it is sent or closed, however that ends."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body, self._done, self._finished = body, done, False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        finally:
            self.close()

    def close(self) -> None:  # Django's response.close() calls it, even for a body never iterated
        if not self._finished:
            self._finished = True
            self._done()


class _AsyncSentWatch:
    """The same for a body an ASGI worker streams asynchronously."""

    def __init__(self, body: AsyncIterable[bytes], done: Callable[[], None]) -> None:
        self._body, self._done, self._finished = body, done, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._body:
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if not self._finished:
            self._finished = True
            self._done()


def keep_in_flight_until_sent(
    response: HttpResponseBase, request: HttpRequest, entry: InFlight, on_sent: Callable[[], None]
) -> bool:
    """For a streamed response: leave the request in flight until its body is sent, then call ``on_sent``.

    Returns False, doing nothing, for a response that is not streamed. ``on_sent`` is
    skipped when ``worker_abort`` has counted the request already.
    """
    if not isinstance(response, StreamingHttpResponse):
        return False
    body = response.streaming_content

    def sent() -> None:
        if IN_FLIGHT.get(request) is entry:
            del IN_FLIGHT[request]
            on_sent()

    if isinstance(body, Iterator):
        response.streaming_content = _SentWatch(body, sent)
    elif isinstance(body, AsyncIterator):  # an ASGI worker's asynchronous stream
        response.streaming_content = _AsyncSentWatch(body, sent)
    else:
        return False
    return True


def _nothing() -> None:
    """What the full profile does when a streamed body is sent: django-prometheus counted it already."""


class InFlightMiddleware:
    """Notes each request in flight and prepares its error series, for the full profile
    (the lean middleware does both itself). Sync or async as the stack is."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._served: set[tuple[str, str | None]] = set()  # (view, method as sent)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._serve_async(request)
        entry: InFlight = [perf_counter(), None]
        IN_FLIGHT[request] = entry
        try:
            response = self.get_response(request)
        except BaseException:
            IN_FLIGHT.pop(request, None)
            raise
        self._answered(request, response, entry)
        return response

    async def _serve_async(self, request: HttpRequest) -> HttpResponse:
        entry: InFlight = [perf_counter(), None]
        IN_FLIGHT[request] = entry
        try:
            response: HttpResponse = await self.get_response(request)
        except BaseException:
            IN_FLIGHT.pop(request, None)
            raise
        self._answered(request, response, entry)
        return response

    def _answered(self, request: HttpRequest, response: HttpResponse, entry: InFlight) -> None:
        if not (response.streaming and keep_in_flight_until_sent(response, request, entry, _nothing)):
            IN_FLIGHT.pop(request, None)
        match = request.resolver_match
        served = ((match.view_name or UNNAMED_VIEW) if match is not None else UNNAMED_VIEW, request.method)
        if served not in self._served:
            from django_prometheus.middleware import Metrics

            prepare_error_series(
                Metrics.get_instance().responses_by_status_view_method, served[0], method_label(request)
            )
            if request.method in KNOWN_METHODS:  # made-up methods are not kept: they could grow the set
                self._served.add(served)
