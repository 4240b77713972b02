"""Requests killed by gunicorn's worker timeout, counted as the 500s their clients get.

Such a request never reaches a response middleware: the worker runs the
``worker_abort`` hook and exits. Left at that, an outage in which every request
hangs would read as 0 % errors. So the metrics middleware notes each request in
flight (``inflight.py``) and ``worker_abort`` records each one still in flight,
with its view, method and the time it ran, in the slot's files, which outlive the
worker. A streamed response stays in flight until its body is sent, and a
timeout in the middle counts it as a 500 too (the README's "Timeouts count").
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
