"""Requests killed by gunicorn's worker timeout, counted as the 500s their clients get.

A request that runs past GUNICORN_TIMEOUT never reaches a response middleware:
gunicorn's master sends the worker SIGABRT, the worker runs the
``worker_abort`` hook and exits. Left at that, the request is not counted at
all, and an outage in which every request hangs reads as 0 % errors. So the
metrics middleware notes each request in flight, and ``worker_abort`` records
every one still in flight with its view and method, and its latency as the
time it had run. The values live in the slot's memory-mapped files
(``durable.py``), so the write survives the worker's exit.

The status is 500 because that is what the client receives: the worker's exit
unwinds through gunicorn's request handler, which answers 500 Internal Server
Error when no header has been sent yet. Metric, access log and client agree.

A streamed response is still in flight after the view returned: its body is
produced while gunicorn sends it. So its request stays in ``IN_FLIGHT`` until
the body is sent (``keep_in_flight_until_sent``), and a timeout in the middle
counts it as a 500 too: the client got a status line of 200 and a cut-off body,
a failed request. The lean profile records a streamed response once its body
is sent, so such a request counts once, as the 500; the full profile's
django-prometheus middleware has counted the 200 already when the view
returned, so there it counts as both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from threading import get_ident
from time import perf_counter
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from prometheus_client import Counter

TIMED_OUT_STATUS = "500"
UNNAMED_VIEW = "<unnamed view>"
INVALID_METHOD = "<invalid method>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"})

# Requests in flight by thread: one under the sync worker, one per thread under gthread.
IN_FLIGHT: dict[int, tuple[HttpRequest, float]] = {}


def view_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.view_name if match is not None and match.view_name else UNNAMED_VIEW


def _view_name_of_abandoned(request: HttpRequest) -> str:
    if request.resolver_match is None:  # killed before URL resolution: resolve it now
        try:
            request.resolver_match = resolve(request.path_info)
        except Resolver404:
            pass
    return view_name(request)


def method_label(request: HttpRequest) -> str:
    return request.method if request.method in KNOWN_METHODS else INVALID_METHOD


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


def keep_in_flight_until_sent(
    response: HttpResponseBase, thread: int, entry: tuple[HttpRequest, float], on_sent: Callable[[], None]
) -> bool:
    """For a streamed response: leave the request in flight until its body is sent, then call ``on_sent``.

    Returns False, doing nothing, for a response that is not streamed (or streams
    asynchronously, which a WSGI worker never does). ``on_sent`` is skipped when
    ``worker_abort`` has counted the request already.
    """
    if not isinstance(response, StreamingHttpResponse):
        return False
    body = response.streaming_content
    if not isinstance(body, Iterator):  # an async body: a WSGI worker never sends one
        return False

    def sent() -> None:
        if IN_FLIGHT.get(thread) is entry:
            del IN_FLIGHT[thread]
            on_sent()

    response.streaming_content = _SentWatch(body, sent)
    return True


class InFlightMiddleware:
    """Notes each request in flight and prepares its error series, for the full profile
    (the lean middleware does both itself)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._served: set[tuple[str, str]] = set()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        thread = get_ident()
        entry = IN_FLIGHT[thread] = (request, perf_counter())
        try:
            response = self.get_response(request)
        except BaseException:
            IN_FLIGHT.pop(thread, None)
            raise
        if not keep_in_flight_until_sent(response, thread, entry, lambda: None):
            IN_FLIGHT.pop(thread, None)
        served = (view_name(request), method_label(request))
        if served not in self._served:
            from django_prometheus.middleware import Metrics

            prepare_error_series(Metrics.get_instance().responses_by_status_view_method, *served)
            self._served.add(served)
        return response


def active_metrics() -> Any:  # django-prometheus is untyped
    """The ``Metrics`` instance of the profile in use (imported late: django_prometheus reads settings)."""
    from django.conf import settings

    from {{ cookiecutter.project_slug }}.metrics.profiles import LEAN

    if settings.METRICS_PROFILE == LEAN:
        from {{ cookiecutter.project_slug }}.metrics.lean import LeanMetrics

        return LeanMetrics.get_instance()
    from django_prometheus.middleware import Metrics

    return Metrics.get_instance()


def record_timed_out_requests(metrics: Any) -> int:
    """Count every request still in flight as a 500; returns how many. Called from worker_abort.

    ``metrics`` is the profile's ``Metrics`` instance; both profiles name the two metrics alike.
    """
    responses = metrics.responses_by_status_view_method
    latency = metrics.requests_latency_by_view_method
    now = perf_counter()
    recorded = 0
    for request, started in list(IN_FLIGHT.values()):
        view, method = _view_name_of_abandoned(request), method_label(request)
        responses.labels(TIMED_OUT_STATUS, view, method).inc()
        latency.labels(view, method).observe(now - started)
        recorded += 1
    IN_FLIGHT.clear()
    return recorded
