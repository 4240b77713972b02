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

from bisect import bisect_left
from collections.abc import Callable
from threading import get_ident
from time import perf_counter
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus.conf import NAMESPACE, PROMETHEUS_LATENCY_BUCKETS
from django_prometheus.middleware import Metrics
from prometheus_client import Counter, Histogram

from request_metrics import inflight
from request_metrics.inflight import (
    IN_FLIGHT,
    INVALID_METHOD,
    KNOWN_METHODS,
    UNNAMED_VIEW,
    count_view_request,
    view_name,
)
from tracing import provider

# (view, method as sent, status, transport: None for a request that reached no view)
SeriesKey = tuple[str, str | None, int, str | None]


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


class Series:
    """The values one kind of request updates, found once per label set and then updated directly.

    It holds the value objects of prometheus_client's label children (a counter's ``_value``, a
    histogram's ``_sum`` and ``_buckets``) and updates them as ``Counter.inc`` and
    ``Histogram.observe`` do once their checks pass; those checks (a labelled child, a
    non-negative amount, no exemplar) hold for every request here, so they are skipped.
    tests/test_lean_series.py proves the result equal to the public API's, for this class and
    ``SlotSeries``; the template's tests/test_profiles.py, lean's series equal to full's.
    """

    __slots__ = ("requests", "responses", "latency_sum", "bounds", "buckets")

    def __init__(self, requests: Any, responses: Any, latency: Any) -> None:
        self.requests = requests._value if requests is not None else None
        self.responses = responses._value
        self.latency_sum, self.bounds, self.buckets = latency._sum, latency._upper_bounds, latency._buckets

    def record(self, elapsed: float) -> None:
        if self.requests is not None:
            self.requests.inc(1.0)
        self.responses.inc(1.0)
        self.latency_sum.inc(elapsed)
        # The first bucket whose bound is at least the latency, as Histogram.observe finds it.
        self.buckets[bisect_left(self.bounds, elapsed)].inc(1.0)

    @staticmethod
    def for_values(requests: Any, responses: Any, latency: Any) -> "Series":
        """The fastest kind that can update these values: in place, where they all live in slot files."""
        values = [responses._value, latency._sum, *latency._buckets]
        if requests is not None:
            values.append(requests._value)
        if all(getattr(value, "cell", lambda: None)() is not None for value in values):
            return SlotSeries(requests, responses, latency)
        return Series(requests, responses, latency)


class SlotSeries(Series):
    """A ``Series`` whose values all live in a slot's files, unlocked (a sync worker's): ``record``
    adds to all four in place, as ``SlotValue.inc`` adds to each (worker_slots.durable.Cell),
    without a method call per value."""

    __slots__ = ("cells",)

    def __init__(self, requests: Any, responses: Any, latency: Any) -> None:
        super().__init__(requests, responses, latency)
        self.cells = (
            responses._value.cell(),
            latency._sum.cell(),
            tuple(bucket.cell() for bucket in latency._buckets),
            requests._value.cell() if requests is not None else None,
        )

    def record(self, elapsed: float) -> None:
        responses, latency_sum, buckets, requests = self.cells
        if requests is not None:
            doubles, index = requests[0].doubles, requests[1]
            doubles[index] += 1.0
        doubles, index = responses[0].doubles, responses[1]
        doubles[index] += 1.0
        doubles, index = latency_sum[0].doubles, latency_sum[1]
        doubles[index] += elapsed
        file, index = buckets[bisect_left(self.bounds, elapsed)]
        doubles = file.doubles
        doubles[index] += 1.0


class ExemplarSeries:
    """A traced worker's series: each count and bucket carries the request's trace, through the public API."""

    __slots__ = ("requests", "responses", "latency", "current_exemplar")

    def __init__(self, requests: Any, responses: Any, latency: Any) -> None:
        from tracing.exemplars import current_exemplar

        self.requests, self.responses, self.latency = requests, responses, latency
        self.current_exemplar = current_exemplar

    def record(self, elapsed: float) -> None:
        exemplar = self.current_exemplar()
        if self.requests is not None:
            self.requests.inc()
        self.responses.inc(1, exemplar)
        self.latency.observe(elapsed, exemplar)


class LeanMetricsMiddleware:
    """Counts each request and response and times it, where PrometheusAfterMiddleware sits.

    Everything a request is counted under (view, method, status, transport) is
    read once, in ``__call__`` after the response, and one dictionary lookup finds
    every value it updates (``Series``). ``process_view`` works out the transport:
    django-prometheus counts a request by view and transport when its view is
    called, so a request whose URL resolved to no view, or that an earlier
    middleware answered (a CSRF rejection), has none and is not a request of any view.
    docs/benchmark.md has what each part costs a request.

    The cache is bounded because every label is: view names come from the
    URLconf, methods outside HTTP's are one value, statuses are three digits and
    the transport is one of two.
    """

    metrics_cls = LeanMetrics
    make_series: Callable[[Any, Any, Any], Series | ExemplarSeries] = staticmethod(Series.for_values)

    def __new__(cls, get_response: Callable[[HttpRequest], HttpResponse]) -> "LeanMetricsMiddleware":
        # Chosen once, when Django loads the middleware: with tracing off, requests pay nothing for it.
        if cls is LeanMetricsMiddleware and provider.ACTIVE is not None:
            cls = ExemplarLeanMetricsMiddleware
        return super().__new__(cls)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.metrics = self.metrics_cls.get_instance()
        self._series: dict[SeriesKey, Series | ExemplarSeries] = {}
        # Read once, as Django's SecurityMiddleware reads its settings: HttpRequest.scheme reads it
        # through the settings proxy on every call, a cost measured at about 4,300 instructions.
        self.proxy_ssl_header: tuple[str, str] | None = settings.SECURE_PROXY_SSL_HEADER or None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        thread = get_ident()
        request._metrics_transport = None  # type: ignore[attr-defined]  # process_view sets it
        started = perf_counter()
        entry = IN_FLIGHT[thread] = (request, started)  # for worker_abort, should gunicorn's timeout kill it
        try:
            response = self.get_response(request)
        except BaseException:
            IN_FLIGHT.pop(thread, None)  # worker_abort may have taken it already
            count_view_request(self.metrics, request)
            raise
        elapsed = perf_counter() - started  # to the response's headers, as django-prometheus times it
        match = request.resolver_match
        # The label set, the method as sent: new_series() folds methods outside HTTP's into one.
        key = (
            (match.view_name or UNNAMED_VIEW) if match is not None else UNNAMED_VIEW,
            request.method,
            response.status_code,
            request._metrics_transport,  # type: ignore[attr-defined]
        )
        if response.streaming and self.record_when_sent(response, thread, entry, key, elapsed):
            return response  # counted once its body is sent, or as a 500 if the timeout cuts it off
        IN_FLIGHT.pop(thread, None)
        (self._series.get(key) or self.new_series(key)).record(elapsed)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        # The transport label, as HttpRequest.is_secure() decides it (tests/test_profiles.py proves it
        # for each form of the proxy's header); __call__ counts the request under it.
        header = self.proxy_ssl_header
        forwarded = request.META.get(header[0]) if header is not None else None
        if forwarded is not None:
            secure = forwarded.split(",", 1)[0].strip() == header[1]  # type: ignore[index]
        else:  # the server's scheme: a WSGI request's environ names it; otherwise ask Django, as is_secure() does
            secure = (request.META.get("wsgi.url_scheme") or request._get_scheme()) == "https"  # type: ignore[attr-defined]
        request._metrics_transport = "https" if secure else "http"  # type: ignore[attr-defined]

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        self.metrics.exceptions_by_type.labels(type(exception).__name__).inc()
        self.metrics.exceptions_by_view.labels(view_name(request)).inc()

    def new_series(self, key: SeriesKey) -> Series | ExemplarSeries:
        """The values of a label set not seen before, created (the view's 500 series too) and kept.

        A method outside HTTP's is counted as one: its series is kept under that label only,
        so that made-up methods cannot grow the cache.
        """
        view, method, status, transport = key
        if method is None or method not in KNOWN_METHODS:
            key = (view, INVALID_METHOD, status, transport)
            if key in self._series:
                return self._series[key]
            method = INVALID_METHOD
        metrics = self.metrics
        requests = None
        if transport is not None:
            requests = metrics.requests_by_view_transport_method.labels(view, transport, method)
        responses = metrics.responses_by_status_view_method.labels(str(status), view, method)
        latency = metrics.requests_latency_by_view_method.labels(view, method)
        inflight.prepare_error_series(metrics.responses_by_status_view_method, view, method)
        series = self._series[key] = self.make_series(requests, responses, latency)
        return series

    def record_when_sent(
        self,
        response: HttpResponse,
        thread: int,
        entry: tuple[HttpRequest, float],
        key: SeriesKey,
        elapsed: float,
    ) -> bool:
        """A streamed response: its request counts now, its response once the body is sent."""
        view, method, status, transport = key
        if method is None or method not in KNOWN_METHODS:
            method = INVALID_METHOD

        def sent() -> None:
            response_key = (view, method, status, None)
            (self._series.get(response_key) or self.new_series(response_key)).record(elapsed)

        if not inflight.keep_in_flight_until_sent(response, thread, entry, sent):
            return False
        if transport is not None:
            self.metrics.requests_by_view_transport_method.labels(view, transport, method).inc()
        return True


class ExemplarLeanMetricsMiddleware(LeanMetricsMiddleware):
    """The lean middleware of a traced worker: each response count and latency carries the request's trace.

    A streamed response is recorded after its span ended, so it carries none.
    """

    make_series = ExemplarSeries
