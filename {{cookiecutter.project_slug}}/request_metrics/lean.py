"""The lean metrics profile: what the SLO rules, the dashboard and on-call read, and nothing else.

django-prometheus' default middlewares update about 13 labelled metrics per
request. This profile keeps the ones the request panels of the community
Django dashboards (django-mixin) and the chart's SLO rules read, under
django-prometheus' own names and label names: requests by view, transport and
method; responses by status, view and method; latency by view and method; and
exceptions by type and by view. Request and response body sizes and template
names stay in the full profile. It is built on django-prometheus' documented
extension points: a ``Metrics`` subclass that registers fewer metrics, read by
a middleware. A sync worker writes the three request families folded into one
histogram, which its slot's scrape serves as the three (worker_slots/rollup.py).
"""

from bisect import bisect_left
from collections.abc import Callable
from time import perf_counter
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django_prometheus.conf import NAMESPACE, PROMETHEUS_LATENCY_BUCKETS
from django_prometheus.middleware import Metrics
from prometheus_client import Counter, Histogram

from request_metrics import inflight
from request_metrics.inflight import (
    IN_FLIGHT,
    INVALID_METHOD,
    KNOWN_METHODS,
    UNNAMED_VIEW,
    InFlight,
    count_view_request,
    view_name,
)
from tracing import provider
from worker_slots.durable import writes_in_place
from worker_slots.rollup import LATENCY_BY_VIEW, REQUESTS, REQUESTS_BY_VIEW, RESPONSES_BY_STATUS

# (view, method, status, transport: None for a request that reached no view), as the hot path
# meets it: the view is None where the URL resolved to none, and the method is as sent.
SeriesKey = tuple[str | None, str | None, int, str | None]
# The hot path's key: a SeriesKey and the response's type.
HotKey = tuple[str | None, str | None, int, str | None, type]
# The same, as labels (normalized()): the view named, the method one of HTTP's or INVALID_METHOD.
Labels = tuple[str, str, int, str | None]
# Where a label set's folded series lives: (its file, the sum's index in the file's doubles,
# the bucket bounds, each bucket's index), as FoldedSeries.record uses it.
Cells = tuple[Any, int, tuple[float, ...], tuple[int, ...]]


class LeanMetrics(Metrics):  # type: ignore[misc]  # django-prometheus is untyped
    _instance = None  # not the full profile's instance, which Metrics would hand out otherwise

    def register(self) -> None:
        self.requests_by_view_transport_method = self._counter(REQUESTS_BY_VIEW)
        self.responses_by_status_view_method = self._counter(RESPONSES_BY_STATUS)
        self.requests_latency_by_view_method = self.register_metric(
            Histogram,
            LATENCY_BY_VIEW.name,
            LATENCY_BY_VIEW.documentation,
            list(LATENCY_BY_VIEW.labels),
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
        # The three request families in one histogram, where a worker writes its values in place in
        # its slot files, whose scrape serves them as the three (worker_slots/rollup.py): two values
        # written per request instead of four. Never registered: no registry serves it as it is.
        # Off where something reads this process' registry instead of the slot files (the /metrics
        # URL of METRICS_URL_EXPORTER), and with a namespace (the slot runtime knows the names).
        self.requests_folded = None
        if writes_in_place() and not NAMESPACE and not settings.METRICS_URL_EXPORTER:
            self.requests_folded = Histogram(
                REQUESTS.source,
                REQUESTS.documentation,
                list(REQUESTS.labels),
                buckets=PROMETHEUS_LATENCY_BUCKETS,
                registry=None,
            )

    def _counter(self, family: Any) -> Any:
        return self.register_metric(
            Counter, family.name, family.documentation, list(family.labels), namespace=NAMESPACE
        )


class Series:
    """The three families' values one label set updates, found once and then updated through
    prometheus_client's value objects (a counter's ``_value``, a histogram's ``_sum`` and
    ``_buckets``), as ``Counter.inc`` and ``Histogram.observe`` update them once their checks
    pass; those checks (a labelled child, a non-negative amount, no exemplar) hold for every
    request here, so they are skipped. tests/test_lean_series.py proves the result equal to the
    public API's; the template's tests/test_profiles.py, lean's series equal to full's.
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


class FoldedSeries:
    """A label set's series of the folded histogram (``LeanMetrics.requests_folded``), written in
    place in the slot file that holds its sum and every bucket, as ``SlotValue.inc`` writes one
    value (worker_slots.durable.Cell): two writes per request."""

    __slots__ = ("cells",)

    def __init__(self, cells: Cells) -> None:
        self.cells = cells

    @staticmethod
    def of(child: Any) -> "FoldedSeries | None":
        """The child's values in place, or None where they cannot all be written there: a threaded
        worker's (their writes take a lock), or a series whose file failed (each value then lives
        in memory apart)."""
        total = child._sum.cell()
        buckets = [bucket.cell() for bucket in child._buckets]
        if total is None or any(cell is None or cell[0] is not total[0] for cell in buckets):
            return None
        return FoldedSeries((total[0], total[1], tuple(child._upper_bounds), tuple(index for _, index in buckets)))

    def record(self, elapsed: float) -> None:
        file, total, bounds, buckets = self.cells
        doubles = file.doubles  # looked up on every write: a file that grows is mapped anew
        doubles[total] += elapsed
        doubles[buckets[bisect_left(bounds, elapsed)]] += 1.0


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
    every value it updates. ``process_view`` works out the transport:
    django-prometheus counts a request by view and transport when its view is
    called, so a request whose URL resolved to no view, or that an earlier
    middleware answered (a CSRF rejection), has none and is not a request of any view.

    What the hot path does per request (docs/benchmark.md has what it costs): two
    clock reads; the in-flight entry for the timeout accounting, keyed by the
    request and carrying its transport, so nothing is stored on the request; one
    dictionary lookup by the labels and the response's type; and, in a sync
    worker, two writes in place to the folded histogram (``FoldedSeries.record``,
    inlined). A label set met for the first time, a made-up method and a streamed
    response (its type is never kept) take ``record_first``. A threaded or traced
    worker, or one without slot files, records the three families through
    ``Series`` or ``ExemplarSeries``.

    The caches are bounded because every label is: view names come from the
    URLconf, methods outside HTTP's are one value (and never cached as sent),
    statuses are three digits and the transport is one of two.
    """

    metrics_cls = LeanMetrics
    make_series: Callable[[Any, Any, Any], Series | ExemplarSeries] = staticmethod(Series)
    folds = True  # may write the folded histogram (a traced worker's series carry exemplars instead)

    def __new__(cls, get_response: Callable[[HttpRequest], HttpResponse]) -> "LeanMetricsMiddleware":
        # Chosen once, when Django loads the middleware: with tracing off, requests pay nothing for it.
        if cls is LeanMetricsMiddleware and provider.ACTIVE is not None:
            cls = ExemplarLeanMetricsMiddleware
        return super().__new__(cls)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.metrics = self.metrics_cls.get_instance()
        self.folded = self.metrics.requests_folded if self.folds else None
        self._series: dict[Labels, Series | ExemplarSeries | FoldedSeries] = {}
        self._in_place: dict[HotKey, Cells] = {}
        # Read once, as Django's SecurityMiddleware reads its settings: HttpRequest.scheme reads it
        # through the settings proxy on every call, a cost measured at about 4,300 instructions.
        header: tuple[str, str] | None = settings.SECURE_PROXY_SSL_HEADER or None
        self.forwarded_header: str | None = header[0] if header is not None else None
        self.forwarded_secure: str | None = header[1] if header is not None else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = perf_counter()
        entry: InFlight = [started, None]  # process_view adds the transport
        IN_FLIGHT[request] = entry  # for worker_abort, should gunicorn's timeout kill the request
        try:
            response = self.get_response(request)
        except BaseException:
            IN_FLIGHT.pop(request, None)  # worker_abort may have taken it already
            count_view_request(self.metrics, request, entry)
            raise
        elapsed = perf_counter() - started  # to the response's headers, as django-prometheus times it
        match = request.resolver_match
        # With the response's type: a streamed one is never kept, so it takes record_first, and the
        # hot path need not read response.streaming, a class attribute CPython 3.11 looks up slowly.
        key = (
            match.view_name if match is not None else None,
            request.method,
            response.status_code,
            entry[1],
            type(response),
        )
        try:
            file, total, bounds, buckets = self._in_place[key]
        except KeyError:
            self.record_first(request, response, entry, key, elapsed)
            return response
        try:
            del IN_FLIGHT[request]
        except KeyError:  # worker_abort took it
            pass
        # FoldedSeries.record, inlined: the call would cost more than the writes.
        doubles = file.doubles
        doubles[total] += elapsed
        doubles[buckets[bisect_left(bounds, elapsed)]] += 1.0
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        # The transport label, as HttpRequest.is_secure() decides it (tests/test_profiles.py proves it
        # for each form of the proxy's header); __call__ counts the request under it.
        meta = request.META
        if self.forwarded_header in meta:  # False without a proxy header: None is no key of META
            secure = meta[self.forwarded_header].split(",", 1)[0].strip() == self.forwarded_secure
        else:  # the server's scheme: a WSGI request's environ names it; otherwise ask Django, as is_secure() does
            try:
                secure = meta["wsgi.url_scheme"] == "https"
            except KeyError:
                secure = request._get_scheme() == "https"  # type: ignore[attr-defined]
        try:
            IN_FLIGHT[request][1] = "https" if secure else "http"
        except KeyError:  # not in flight: called without __call__ (or worker_abort took it)
            pass

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        self.metrics.exceptions_by_type.labels(type(exception).__name__).inc()
        self.metrics.exceptions_by_view.labels(view_name(request)).inc()

    def record_first(
        self, request: HttpRequest, response: HttpResponse, entry: InFlight, key: HotKey, elapsed: float
    ) -> None:
        """Record a request whose kind the hot path has not met yet (or whose method is made up, or
        whose response is streamed), and keep its series for the hot path where it may."""
        labels = key[:4]
        if isinstance(response, StreamingHttpResponse) and self.record_when_sent(
            response, request, entry, labels, elapsed
        ):
            return  # counted once its body is sent, or as a 500 if the timeout cuts it off
        IN_FLIGHT.pop(request, None)  # worker_abort may have taken it already
        series = self.record(labels, elapsed)
        if isinstance(series, FoldedSeries) and key[1] in KNOWN_METHODS:
            self._in_place[key] = series.cells  # made-up methods are not kept: they could grow the cache

    def record(self, key: SeriesKey, elapsed: float) -> Series | ExemplarSeries | FoldedSeries:
        """Record a request under the labels of ``key``; returns the series it was recorded in."""
        known = normalized(key)
        series = self._series.get(known) or self.new_series(known)
        series.record(elapsed)
        return series

    def new_series(self, key: Labels) -> Series | ExemplarSeries | FoldedSeries:
        """The values of a label set not seen before, created (the view's 500 series too) and kept."""
        view, method, status, transport = key
        metrics = self.metrics
        inflight.prepare_error_series(metrics.responses_by_status_view_method, view, method)
        series: Series | ExemplarSeries | FoldedSeries | None = None
        if self.folded is not None:
            series = FoldedSeries.of(self.folded.labels(view, method, str(status), transport or ""))
        if series is None:
            requests = None
            if transport is not None:
                requests = metrics.requests_by_view_transport_method.labels(view, transport, method)
            responses = metrics.responses_by_status_view_method.labels(str(status), view, method)
            latency = metrics.requests_latency_by_view_method.labels(view, method)
            series = self.make_series(requests, responses, latency)
        self._series[key] = series
        return series

    def record_when_sent(
        self,
        response: StreamingHttpResponse,
        request: HttpRequest,
        entry: InFlight,
        key: SeriesKey,
        elapsed: float,
    ) -> bool:
        """A streamed response: its request counts now, its response once the body is sent."""
        view, method, status, transport = normalized(key)

        def sent() -> None:
            self.record((view, method, status, None), elapsed)

        if not inflight.keep_in_flight_until_sent(response, request, entry, sent):
            return False
        if transport is not None:
            self.metrics.requests_by_view_transport_method.labels(view, transport, method).inc()
        return True


def normalized(key: SeriesKey) -> Labels:
    """The labels of a key as the hot path meets it: a request that resolved to no view is of the
    unnamed view, and a method outside HTTP's is one made-up method."""
    view, method, status, transport = key
    return (
        view or UNNAMED_VIEW,
        method if method in KNOWN_METHODS else INVALID_METHOD,
        status,
        transport,
    )


class ExemplarLeanMetricsMiddleware(LeanMetricsMiddleware):
    """The lean middleware of a traced worker: each response count and latency carries the request's trace.

    A streamed response is recorded after its span ended, so it carries none.
    """

    make_series = ExemplarSeries
    folds = False
