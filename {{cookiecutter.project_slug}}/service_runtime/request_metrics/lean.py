"""The lean metrics profile: what the SLO rules, the dashboard and on-call read, and nothing else.

Under django-prometheus' own names and labels: requests by view, transport and
method; responses by status, view and method; latency by view and method;
exceptions by type and by view. Built on django-prometheus' extension points (a
``Metrics`` subclass read by a middleware). A worker with slot files writes the three request
families folded into one histogram, which its slot's scrape serves as the three
(``service_runtime.worker_slots.rollup``); lean_series.py writes each label set.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from time import perf_counter
from typing import Any, Protocol, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django_prometheus.conf import NAMESPACE, PROMETHEUS_LATENCY_BUCKETS
from django_prometheus.middleware import Metrics
from prometheus_client import Counter, Histogram

from service_runtime.request_metrics import inflight
from service_runtime.request_metrics.inflight import (
    IN_FLIGHT,
    INVALID_METHOD,
    KNOWN_METHODS,
    UNNAMED_VIEW,
    InFlight,
    count_view_request,
    view_name,
)
from service_runtime.request_metrics.lean_series import Cells, ExemplarSeries, FoldedSeries, Series
from service_runtime.tracing import provider
from service_runtime.worker_slots.rollup import LATENCY_BY_VIEW, REQUESTS, REQUESTS_BY_VIEW, RESPONSES_BY_STATUS
from service_runtime.worker_slots.values import write_lock, writes_in_place

# (view, method, status, transport: None for a request that reached no view), as the hot path
# meets it: the view is None where the URL resolved to none, and the method is as sent.
SeriesKey = tuple[str | None, str | None, int, str | None]
# The hot path's key: a SeriesKey and the response's type.
HotKey = tuple[str | None, str | None, int, str | None, type]
# The same, as labels (normalized()): the view named, the method one of HTTP's or INVALID_METHOD.
Labels = tuple[str, str, int, str | None]


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
        # its slot files, whose scrape serves them as the three (service_runtime/worker_slots/rollup.py): two values
        # written per request instead of four. Never registered: no registry serves it as it is.
        # Off where something reads this process' registry instead of the slot files (the /metrics
        # URL of METRICS_URL_EXPORTER), and with a namespace (the slot runtime knows the names).
        self.requests_folded = None
        if (writes_in_place() or write_lock() is not None) and not NAMESPACE and not settings.METRICS_URL_EXPORTER:
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


class LeanMetricsRecorder:
    """What the lean middleware keeps between requests, and its slow paths.

    ``in_place`` maps a hot key (view, method, status, transport and the response's
    type) to its folded series' cells, which the hot path writes. A label set met
    for the first time, a made-up method and a streamed response take
    ``record_first``; so does every request of a traced worker, or one
    without slot files. The caches are bounded because every label is: views come
    from the URLconf, methods outside HTTP's are one value, and so on.
    """

    make_series: Callable[[Any, Any, Any], Series | ExemplarSeries] = staticmethod(Series)
    folds = True  # may write the folded histogram (a traced worker's series carry exemplars instead)

    def __init__(self) -> None:
        self.metrics = LeanMetrics.get_instance()
        self.folded = self.metrics.requests_folded if self.folds else None
        self.lock = write_lock()  # an ASGI worker's: its writes in place hold it
        self.series: dict[Labels, Series | ExemplarSeries | FoldedSeries] = {}
        self.in_place: dict[HotKey, Cells] = {}

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
            self.in_place[key] = series.cells  # made-up methods are not kept: they could grow the cache

    def record(self, key: SeriesKey, elapsed: float) -> Series | ExemplarSeries | FoldedSeries:
        """Record a request under the labels of ``key``; returns the series it was recorded in."""
        known = normalized(key)
        series = self.series.get(known) or self.new_series(known)
        series.record(elapsed)
        return series

    def new_series(self, key: Labels) -> Series | ExemplarSeries | FoldedSeries:
        """The values of a label set not seen before, created (the view's 500 series too) and kept."""
        view, method, status, transport = key
        metrics = self.metrics
        inflight.prepare_error_series(metrics.responses_by_status_view_method, view, method)
        series: Series | ExemplarSeries | FoldedSeries | None = None
        if self.folded is not None:
            series = FoldedSeries.of(self.folded.labels(view, method, str(status), transport or ""), self.lock)
        if series is None:
            requests = None
            if transport is not None:
                requests = metrics.requests_by_view_transport_method.labels(view, transport, method)
            responses = metrics.responses_by_status_view_method.labels(str(status), view, method)
            latency = metrics.requests_latency_by_view_method.labels(view, method)
            series = self.make_series(requests, responses, latency)
        self.series[key] = series
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


class ExemplarLeanMetricsRecorder(LeanMetricsRecorder):
    """A traced worker's: each response count and latency carries the request's trace.

    A streamed response is recorded after its span ended, so it carries none.
    """

    make_series = ExemplarSeries
    folds = False


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


ViewHook = Callable[[HttpRequest, Callable[..., Any], Any, Any], None]


class LeanMiddleware(Protocol):
    """What ``lean_metrics_middleware`` hands Django: a function, with Django's hooks as attributes."""

    recorder: LeanMetricsRecorder
    process_view: ViewHook
    process_exception: Callable[[HttpRequest, Exception], None]

    def __call__(self, request: HttpRequest) -> HttpResponse: ...


def lean_metrics_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> LeanMiddleware:
    """The lean profile's middleware: counts each request and response and times it.

    A factory returning a function, as Django allows: a function is a plain call
    for Django's layers and reads its state from its closure. Everything a request
    is counted under is read once, after the response; one dictionary lookup finds
    its cells. ``process_view`` notes the transport (a request that resolved to no
    view has none). The hot path: two clock reads, the in-flight entry for the
    timeout accounting, one lookup, and two writes in place (``FoldedSeries.record``,
    inlined; under ASGI holding the slot's write lock); the rest is ``LeanMetricsRecorder``'s.
    """
    # Chosen once, when Django loads the middleware: with tracing off, requests pay nothing for it.
    recorder = ExemplarLeanMetricsRecorder() if provider.ACTIVE is not None else LeanMetricsRecorder()
    if iscoroutinefunction(get_response):
        return _async_lean_metrics(get_response, recorder)
    in_place = recorder.in_place
    record_first = recorder.record_first

    def lean_metrics(request: HttpRequest) -> HttpResponse:
        started = perf_counter()
        entry: InFlight = [started, None]  # process_view adds the transport
        IN_FLIGHT[request] = entry  # for worker_abort, should gunicorn's timeout kill the request
        try:
            response = get_response(request)
        except BaseException:
            IN_FLIGHT.pop(request, None)  # worker_abort may have taken it already
            count_view_request(recorder.metrics, request, entry)
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
            file, total, bounds, buckets = in_place[key]  # lean_series.Cells, by position
        except KeyError:
            record_first(request, response, entry, key, elapsed)
            return response
        try:
            del IN_FLIGHT[request]
        except KeyError:  # worker_abort took it
            pass
        # FoldedSeries.record, inlined: the call would cost more than the writes.
        doubles = file.doubles  # looked up on every write: a file that grows is mapped anew
        doubles[total] += elapsed
        index = 0  # lean_series.bucket_index, inlined
        while elapsed > bounds[index]:
            index += 1
        doubles[buckets[index]] += 1.0
        return response

    middleware = cast(LeanMiddleware, lean_metrics)
    middleware.recorder = recorder
    middleware.process_view = transport_hook(settings.SECURE_PROXY_SSL_HEADER or None)
    middleware.process_exception = recorder.process_exception
    return middleware


# Django hands the middleware an async get_response under ASGI, so no request hops threads for it.
lean_metrics_middleware.sync_capable = True  # type: ignore[attr-defined]
lean_metrics_middleware.async_capable = True  # type: ignore[attr-defined]


def _async_lean_metrics(get_response: Callable[[HttpRequest], Any], recorder: LeanMetricsRecorder) -> LeanMiddleware:
    """The lean middleware of an ASGI worker: the same counts and the same two writes in place,
    awaited, on the event loop. The writes hold the slot's write lock: Django's sync threads may
    create a series (a database metric's) meanwhile, which maps the file anew.

    No ``process_view``: Django's async handler awaits each hook, a coroutine and a loop
    turn per request. The transport is read as the request starts and counts only for a
    request that resolved to a view, which is when ``process_view`` would have run (this
    middleware's is the first); ``count_view_request`` applies the same rule to a request
    cut off in flight.
    """
    in_place = recorder.in_place
    record_first = recorder.record_first
    lock: AbstractContextManager[Any] = recorder.lock if recorder.lock is not None else nullcontext()
    transport_of = transport_reader(settings.SECURE_PROXY_SSL_HEADER or None)

    async def lean_metrics(request: HttpRequest) -> HttpResponse:
        started = perf_counter()
        entry: InFlight = [started, transport_of(request)]
        IN_FLIGHT[request] = entry
        try:
            response: HttpResponse = await get_response(request)
        except BaseException:
            IN_FLIGHT.pop(request, None)
            count_view_request(recorder.metrics, request, entry)
            raise
        elapsed = perf_counter() - started
        match = request.resolver_match
        key: HotKey
        if match is None:
            key = (None, request.method, response.status_code, None, type(response))
        else:
            key = (match.view_name, request.method, response.status_code, entry[1], type(response))
        cells = in_place.get(key)
        if cells is None:
            record_first(request, response, entry, key, elapsed)
            return response
        IN_FLIGHT.pop(request, None)
        file, total, bounds, buckets = cells  # lean_series.Cells, by position
        with lock:  # GuardedFoldedSeries.record, inlined
            doubles = file.doubles
            doubles[total] += elapsed
            index = 0
            while elapsed > bounds[index]:
                index += 1
            doubles[buckets[index]] += 1.0
        return response

    markcoroutinefunction(lean_metrics)
    middleware = cast(LeanMiddleware, lean_metrics)
    middleware.recorder = recorder
    middleware.process_exception = recorder.process_exception
    return middleware


def transport_reader(proxy_header: tuple[str, str] | None) -> Callable[[HttpRequest], str]:
    """The transport label of a request, "https" or "http", as HttpRequest.is_secure() decides it
    (tests/test_profiles.py proves it for each form of the proxy's header).

    The proxy's header is read once, as Django's SecurityMiddleware reads its settings:
    HttpRequest.scheme reads it through the settings proxy on every call (the template
    repository's docs/benchmark.md measures the cost).
    """
    header, secure_value = proxy_header if proxy_header is not None else (None, None)

    def transport_of(request: HttpRequest) -> str:
        meta = request.META
        if header in meta:  # False without a proxy header: None is no key of META
            return "https" if meta[header].split(",", 1)[0].strip() == secure_value else "http"
        # The server's scheme: a WSGI request's environ names it; otherwise ask Django, as is_secure()
        # does. Looked up, not caught: an ASGI request has no such key, and a raised KeyError costs.
        scheme = meta.get("wsgi.url_scheme")
        if scheme is None:
            scheme = request._get_scheme()  # type: ignore[attr-defined]
        return "https" if scheme == "https" else "http"

    return transport_of


def transport_hook(proxy_header: tuple[str, str] | None) -> ViewHook:
    """The sync lean middleware's ``process_view``: notes the request's transport in its in-flight
    entry once it resolved to a view."""
    transport_of = transport_reader(proxy_header)

    def note_transport(request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any) -> None:
        try:
            IN_FLIGHT[request][1] = transport_of(request)
        except KeyError:  # not in flight: called without the middleware (or worker_abort took it)
            pass

    return note_transport
