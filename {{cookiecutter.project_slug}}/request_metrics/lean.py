"""The lean metrics profile: what the SLO rules, the dashboard and on-call read, and nothing else.

django-prometheus' default middlewares update about 13 labelled metrics per
request. This profile keeps the ones the request panels of the community
Django dashboards (django-mixin) and the chart's SLO rules read, under
django-prometheus' own names and label names: requests by view, transport and
method; responses by status, view and method; latency by view and method; and
exceptions by type and by view. Request and response body sizes and template
names stay in the full profile. It is built on django-prometheus' documented
extension points: a ``Metrics`` subclass that registers fewer metrics, read by
a middleware.
"""

from collections.abc import Callable
from threading import get_ident
from time import perf_counter
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_prometheus.conf import NAMESPACE, PROMETHEUS_LATENCY_BUCKETS
from django_prometheus.middleware import Metrics
from prometheus_client import Counter, Histogram

from request_metrics import inflight
from request_metrics.inflight import IN_FLIGHT, method_label, view_name
from tracing import provider


class LeanMetrics(Metrics):  # type: ignore[misc]  # django-prometheus is untyped
    _instance = None  # not the full profile's instance, which Metrics would hand out otherwise

    def register(self) -> None:
        self.requests_by_view_transport_method = self.register_metric(
            Counter,
            "django_http_requests_total_by_view_transport_method",
            "Count of requests by view, transport, method.",
            ["view", "transport", "method"],
            namespace=NAMESPACE,
        )
        self.responses_by_status_view_method = self.register_metric(
            Counter,
            "django_http_responses_total_by_status_view_method",
            "Count of responses by status, view, method.",
            ["status", "view", "method"],
            namespace=NAMESPACE,
        )
        self.requests_latency_by_view_method = self.register_metric(
            Histogram,
            "django_http_requests_latency_seconds_by_view_method",
            "Histogram of request processing time labelled by view.",
            ["view", "method"],
            buckets=PROMETHEUS_LATENCY_BUCKETS,
            namespace=NAMESPACE,
        )
        self.exceptions_by_type = self.register_metric(
            Counter,
            "django_http_exceptions_total_by_type",
            "Count of exceptions by object type.",
            ["type"],
            namespace=NAMESPACE,
        )
        self.exceptions_by_view = self.register_metric(
            Counter,
            "django_http_exceptions_total_by_view",
            "Count of exceptions by view.",
            ["view"],
            namespace=NAMESPACE,
        )


class LeanMetricsMiddleware:
    """Counts each request and response and times it, where PrometheusAfterMiddleware sits.

    Looking up a labelled child costs more than incrementing it, so children are
    kept per label tuple. That is safe because every label is bounded: view names
    come from the URLconf, methods outside HTTP's are one value, and statuses are
    three digits.
    """

    metrics_cls = LeanMetrics

    def __new__(cls, get_response: Callable[[HttpRequest], HttpResponse]) -> "LeanMetricsMiddleware":
        # Chosen once, when Django loads the middleware: with tracing off, requests pay nothing for it.
        if cls is LeanMetricsMiddleware and provider.ACTIVE is not None:
            cls = ExemplarLeanMetricsMiddleware
        return super().__new__(cls)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.metrics = self.metrics_cls.get_instance()
        self._requests: dict[tuple[str, str, str], Any] = {}
        self._responses: dict[tuple[int, str, str], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        thread = get_ident()
        started = perf_counter()
        entry = IN_FLIGHT[thread] = (request, started)  # for worker_abort, should gunicorn's timeout kill it
        try:
            response = self.get_response(request)
        except BaseException:
            IN_FLIGHT.pop(thread, None)  # worker_abort may have taken it already
            raise
        elapsed = perf_counter() - started  # to the response's headers, as django-prometheus times it
        view = view_name(request)
        method = method_label(request)
        if response.streaming:  # counted once its body is sent, or as a 500 if the timeout cuts it off
            status = response.status_code

            def record_when_sent() -> None:
                self.record(status, view, method, elapsed)

            if inflight.keep_in_flight_until_sent(response, thread, entry, record_when_sent):
                return response
        IN_FLIGHT.pop(thread, None)
        self.record(response.status_code, view, method, elapsed)
        return response

    def record(
        self, status: int, view: str, method: str, elapsed: float, exemplar: dict[str, str] | None = None
    ) -> None:
        """Count the response and time it; ``exemplar`` (a trace's ids) goes with both when given."""
        key = (status, view, method)
        responses = self._responses.get(key)
        if responses is None:
            responses = self.metrics.responses_by_status_view_method.labels(str(status), view, method)
            self._responses[key] = responses
        responses.inc(1, exemplar)

        latency = self._latencies.get((view, method))
        if latency is None:  # the first request of this view and method
            latency = self.metrics.requests_latency_by_view_method.labels(view, method)
            self._latencies[(view, method)] = latency
            inflight.prepare_error_series(self.metrics.responses_by_status_view_method, view, method)
        latency.observe(elapsed, exemplar)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        # As django-prometheus counts it: once the URL resolved to a view, so a 404 of
        # an unknown path is not a request of any view.
        transport = "https" if request.is_secure() else "http"
        key = (view_name(request), transport, method_label(request))
        requests = self._requests.get(key)
        if requests is None:
            requests = self.metrics.requests_by_view_transport_method.labels(*key)
            self._requests[key] = requests
        requests.inc()

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        self.metrics.exceptions_by_type.labels(type(exception).__name__).inc()
        self.metrics.exceptions_by_view.labels(view_name(request)).inc()


class ExemplarLeanMetricsMiddleware(LeanMetricsMiddleware):
    """The lean middleware of a traced worker: each response count and latency carries the request's trace.

    A streamed response is recorded after its span ended, so it carries none.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        from tracing.exemplars import current_exemplar

        self.current_exemplar = current_exemplar

    def record(
        self, status: int, view: str, method: str, elapsed: float, exemplar: dict[str, str] | None = None
    ) -> None:
        super().record(status, view, method, elapsed, self.current_exemplar())
