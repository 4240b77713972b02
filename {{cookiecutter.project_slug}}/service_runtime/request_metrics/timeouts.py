"""Requests killed by gunicorn's worker timeout, counted as the 500s their clients get.

A request that runs past GUNICORN_TIMEOUT never reaches a response middleware:
gunicorn's master sends the worker SIGABRT, the worker runs the
``worker_abort`` hook and exits. Left at that, the request is not counted at
all, and an outage in which every request hangs reads as 0 % errors. So the
metrics middleware notes each request in flight (``inflight.py``), and
``worker_abort`` records every one still in flight with its view and method,
and its latency as the
time it had run. The values live in the slot's memory-mapped files
(``service_runtime/worker_slots/durable.py``), so the write survives the worker's exit.

The status is 500 because that is what the client receives: the worker's exit
unwinds through gunicorn's request handler, which answers 500 Internal Server
Error when no header has been sent yet. Metric, access log and client agree.

A streamed response is still in flight after the view returned: its body is
produced while gunicorn sends it. So its request stays in ``IN_FLIGHT`` until
the body is sent (``inflight.keep_in_flight_until_sent``), and a timeout in
the middle counts it as a 500 too: the client got a status line of 200 and a cut-off body,
a failed request. The lean profile records a streamed response once its body
is sent, so such a request counts once, as the 500; the full profile's
django-prometheus middleware has counted the 200 already when the view
returned, so there it counts as both.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from django.http import HttpRequest
from django.urls import Resolver404, resolve

from service_runtime.request_metrics.inflight import IN_FLIGHT, count_view_request, method_label, view_name
from service_runtime.request_metrics.inflight import TIMED_OUT_STATUS as TIMED_OUT_STATUS


def _view_name_of_abandoned(request: HttpRequest) -> str:
    if request.resolver_match is None:  # killed before URL resolution: resolve it now
        try:
            request.resolver_match = resolve(request.path_info)
        except Resolver404:
            pass
    return view_name(request)


def active_metrics() -> Any:  # django-prometheus is untyped
    """The ``Metrics`` instance of the profile in use (imported late: django_prometheus reads settings)."""
    from django.conf import settings

    from service_runtime.request_metrics.profiles import LEAN

    if settings.METRICS_PROFILE == LEAN:
        from service_runtime.request_metrics.lean import LeanMetrics

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
    for request, entry in list(IN_FLIGHT.items()):
        view, method = _view_name_of_abandoned(request), method_label(request)
        responses.labels(TIMED_OUT_STATUS, view, method).inc()
        latency.labels(view, method).observe(now - entry[0])
        count_view_request(metrics, request, entry)  # the lean profile counts a request by view with its response
        recorded += 1
    IN_FLIGHT.clear()
    return recorded
