"""Tracing: configured by OTEL_* only, exemplars on the worker's port, trace ids in logs, outages logged once."""

import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from service_runtime.request_metrics.lean import (
    ExemplarLeanMetricsRecorder,
    LeanMetricsRecorder,
    LeanMiddleware,
    lean_metrics_middleware,
)
from service_runtime.tracing import provider
from service_runtime.tracing.configuration import DEFAULT_ENDPOINT, TracingSettings, tracing_settings
from service_runtime.tracing.logs import TraceContextFilter
from service_runtime.tracing.provider import (
    ExportCollector,
    ExportState,
    OncePerOutage,
    exporting_provider,
    reporting_exporter,
)
from service_runtime.worker_slots.collectors import SlotCollector
from service_runtime.worker_slots.slots import Slot
from service_runtime.worker_slots.values import EXEMPLARS, slot_value_class

from .conftest import PROJECT_DIR

ENDPOINT = "http://otel-collector.observability:4318"

SUPPORTED = {
    "no-otel-variables": ({}, None),
    "endpoint": ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, TracingSettings(ENDPOINT, "parentbased_always_on")),
    "traces-endpoint": (
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ENDPOINT + "/v1/traces"},
        TracingSettings(ENDPOINT + "/v1/traces", "parentbased_always_on"),
    ),
    "exporter-otlp-default-endpoint": (
        {"OTEL_TRACES_EXPORTER": "otlp"},
        TracingSettings(DEFAULT_ENDPOINT, "parentbased_always_on"),
    ),
    "exporter-none": ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, None),
    "sdk-disabled": ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, None),
    "sdk-enabled": (
        {"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT},
        TracingSettings(ENDPOINT, "parentbased_always_on"),
    ),
    "empty-values-are-unset": ({"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_TRACES_EXPORTER": " "}, None),
    "ratio-sampler": (
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.05",
        },
        TracingSettings(ENDPOINT, "parentbased_traceidratio"),
    ),
    "http-protobuf": (
        {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        TracingSettings(ENDPOINT, "parentbased_always_on"),
    ),
    "propagators-default": (
        {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_PROPAGATORS": "tracecontext, baggage"},
        TracingSettings(ENDPOINT, "parentbased_always_on"),
    ),
    # "none" anywhere turns propagation off, as the SDK reads it; the service then installs a
    # propagator that answers an empty context, where the SDK's would answer None and fail requests.
    **{
        f"propagators-{name}": (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_PROPAGATORS": value},
            TracingSettings(ENDPOINT, "parentbased_always_on", propagate=False),
        )
        for name, value in (("none", "none"), ("upper-none", "NONE"), ("tracecontext-none", "tracecontext,none"))
    },
    # The endpoint is shown in log lines and /readyz: never its user info.
    "credentials-in-endpoint": (
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:s3cret@collector:4318"},
        TracingSettings("http://collector:4318", "parentbased_always_on"),
    ),
}


# What OpenTelemetry's SDK does with a refused value when nothing checks it first: FAILS (raises as the
# worker starts tracing, or fails every export) or GUESSES (goes on with something else than was asked,
# a warning at best). test_the_sdk_alone_fails_or_guesses feeds it each row.
FAILS, GUESSES = "fails", "guesses"


def traced(variable: str, value: str, problem: str, sdk: str) -> tuple[dict[str, str], str, str]:
    """A traced environment with one more variable, the start of the line refusing it (the problem alone
    is prefixed with the variable and its value), and what the SDK alone does with it."""
    message = problem if problem.startswith("OTEL_") else f"{variable}={value!r} {problem}"
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, variable: value}, message, sdk


def endpoint(value: str, problem: str) -> tuple[dict[str, str], str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": value}, problem, FAILS


UNSUPPORTED = {
    "grpc": traced("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "is not one of http/protobuf", GUESSES),
    "traces-json": traced("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", "is not one of http/protobuf", GUESSES),
    "console-exporter": traced("OTEL_TRACES_EXPORTER", "console", "is not one of otlp, none", GUESSES),
    "endpoint-without-scheme": endpoint(
        "otel-collector:4318",
        "OTEL_EXPORTER_OTLP_ENDPOINT='otel-collector:4318' is not an OTLP/HTTP endpoint: give an http:// or https://"
        " URL with a host, such as http://otel-collector:4318",
    ),
    "unknown-sampler": traced(
        "OTEL_TRACES_SAMPLER", "sometimes", "is not one of always_on, always_off, traceidratio", GUESSES
    ),
    "ratio-above-one": (
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT,
            "OTEL_TRACES_SAMPLER": "traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "5",
        },
        "OTEL_TRACES_SAMPLER_ARG='5' is out of range: use a number from 0 to 1",
        GUESSES,
    ),
    "batch-larger-than-queue": traced(
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "256",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=512 is larger than the span queue (OTEL_BSP_MAX_QUEUE_SIZE=256)",
        FAILS,
    ),
    "queue-not-a-number": traced("OTEL_BSP_MAX_QUEUE_SIZE", "lots", "is not a whole number", GUESSES),
    "timeout-zero": traced("OTEL_EXPORTER_OTLP_TIMEOUT", "0", "is out of range", FAILS),
    "disabled-not-a-boolean": traced("OTEL_SDK_DISABLED", "maybe", "is not a boolean", GUESSES),
    "propagator-not-installed": traced(
        "OTEL_PROPAGATORS",
        "b3",
        "names 'b3', which this service does not install: use tracecontext, baggage or none",
        FAILS,
    ),
    "propagators-empty-name": traced("OTEL_PROPAGATORS", ",", "names '', which this service does not install", FAILS),
    "endpoint-ipv6-unclosed": endpoint("http://[::1", "OTEL_EXPORTER_OTLP_ENDPOINT='http://[::1' is not an OTLP/HTTP"),
    "endpoint-spaces-around": endpoint(
        f" {ENDPOINT} ", f"OTEL_EXPORTER_OTLP_ENDPOINT=' {ENDPOINT} ' has spaces around it"
    ),
    "endpoint-port-out-of-range": endpoint(
        "http://collector:99999", "OTEL_EXPORTER_OTLP_ENDPOINT='http://collector:99999' is not an OTLP/HTTP endpoint"
    ),
    "endpoint-port-not-a-number": endpoint(
        "http://u:s3cret@collector:notaport",
        "OTEL_EXPORTER_OTLP_ENDPOINT='http://collector:notaport' is not an OTLP/HTTP endpoint",
    ),
    "timeout-infinite": traced("OTEL_EXPORTER_OTLP_TIMEOUT", "inf", "is not a finite number", FAILS),
    "schedule-delay-zero": traced("OTEL_BSP_SCHEDULE_DELAY", "0", "is out of range", FAILS),
    "attribute-limit-negative": traced("OTEL_ATTRIBUTE_COUNT_LIMIT", "-1", "is out of range", FAILS),
    "attribute-length-not-a-number": traced(
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "long", "is not a whole number", FAILS
    ),
}


@pytest.mark.parametrize(("environ", "expected"), SUPPORTED.values(), ids=SUPPORTED.keys())
def test_supported_otel_environments(environ, expected):
    assert tracing_settings(environ) == expected


@pytest.mark.parametrize(("environ", "message", "sdk"), UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_unsupported_otel_environments_are_refused_in_one_line(environ, message, sdk):
    with pytest.raises(ImproperlyConfigured) as refused:
        tracing_settings(environ)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value) and "s3cret" not in str(refused.value)


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that takes every batch."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector(free_ports) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_ports(1)[0]), Receiver)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("environ", "message", "sdk"), UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_the_sdk_alone_fails_or_guesses(environ, message, sdk, collector, monkeypatch):
    """Why each value is refused: given to the SDK as a worker builds it (exporting_provider, and the
    propagators opentelemetry.propagate loads on import) with nothing checking it first, the SDK raises
    or fails every export, or exports anyway with something else than was asked."""
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value.replace(ENDPOINT, collector))
    results: list[SpanExportResult] = []

    class Recording(SpanExporter):
        def __init__(self, exporter: SpanExporter) -> None:
            self.exporter = exporter

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            results.append(self.exporter.export(spans))
            return results[-1]

        def shutdown(self) -> None:
            self.exporter.shutdown()

    try:
        propagate._load_propagators()  # type: ignore[attr-defined]  # what importing the module runs
        traced_provider = exporting_provider({}, Recording)
    except ValueError:
        outcome = FAILS
    else:
        traced_provider.get_tracer(__name__).start_span("GET /").end()
        traced_provider.force_flush()
        traced_provider.shutdown()
        outcome = GUESSES if results == [SpanExportResult.SUCCESS] else FAILS
    assert outcome == sdk, results


class FlakyExporter(SpanExporter):
    """Fails while ``down``; logs a complaint per failed batch, as the OTLP exporter does."""

    def __init__(self) -> None:
        self.down = True

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.down:
            logging.getLogger(provider.SDK_LOGGERS[0]).warning("Failed to export span batch")
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@pytest.fixture
def quiet_sdk() -> Iterator[tuple[ExportState, OncePerOutage]]:
    state = ExportState(ENDPOINT)
    quiet = OncePerOutage(state)
    logger = logging.getLogger(provider.SDK_LOGGERS[0])
    logger.addFilter(quiet)
    yield state, quiet
    logger.removeFilter(quiet)


def test_an_outage_is_logged_once_at_its_start_and_once_at_its_end(quiet_sdk, caplog):
    state, quiet = quiet_sdk
    inner = FlakyExporter()
    exporter = reporting_exporter(inner, state, quiet)
    spans: list[ReadableSpan] = [ReadableSpan(name="GET /")] * 3
    with caplog.at_level(logging.WARNING):
        for _ in range(50):
            assert exporter.export(spans) is SpanExportResult.FAILURE
        assert state.failing and state.problem() and state.failed_spans == 150
        inner.down = False
        exporter.export(spans)
        inner.down = True
        exporter.export(spans)  # a second outage is news again
    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("Failed to export span batch") == 2
    failing = [message for message in messages if "is failing" in message]
    assert len(failing) == 2 and "requests are not affected" in failing[0]
    assert messages.count("Trace export to " + ENDPOINT + " recovered after 50 failed batch(es)") == 1
    assert state.exported_spans == 3


def test_the_metrics_port_shows_the_export_state(quiet_sdk):
    state, quiet = quiet_sdk
    registry = CollectorRegistry()
    registry.register(ExportCollector(state))
    reporting_exporter(FlakyExporter(), state, quiet).export([ReadableSpan(name="GET /")])
    assert registry.get_sample_value("tracing_export_failing") == 1
    assert registry.get_sample_value("tracing_spans_export_failed_total") == 1
    assert registry.get_sample_value("tracing_spans_exported_total") == 0


@pytest.fixture
def span() -> Iterator[trace.Span]:
    """A sampled span, current for the test (a provider of the test's own: the global one stays unset)."""
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("GET /") as current:
        yield current


def ids(span: trace.Span) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


@pytest.fixture
def exemplars_cleared() -> Iterator[None]:
    EXEMPLARS.clear()
    yield
    EXEMPLARS.clear()


def test_a_workers_port_serves_the_latest_exemplar_per_series_in_openmetrics_only(
    tmp_path, monkeypatch, exemplars_cleared
):
    slot = Slot(1, tmp_path, lock_fd=-1)
    monkeypatch.setattr(values, "ValueClass", slot_value_class(slot))
    latency = Histogram("latency_seconds", "Latency.", ["view"], buckets=(0.1, 1.0), registry=None).labels("index")
    responses = Counter("responses", "Responses.", ["status"], registry=None).labels("200")
    latency.observe(0.05, {"trace_id": "a" * 32, "span_id": "1" * 16})
    latency.observe(0.07, {"trace_id": "b" * 32, "span_id": "2" * 16})  # the latest one stays
    latency.observe(0.5)  # none: an unsampled request
    responses.inc(1, {"trace_id": "b" * 32, "span_id": "2" * 16})
    registry = CollectorRegistry()
    registry.register(SlotCollector(tmp_path, 1))

    openmetrics = generate_openmetrics(registry).decode()
    assert (
        'latency_seconds_bucket{le="0.1",view="index"} 2.0 # {span_id="2222222222222222",trace_id="' + "b" * 32
    ) in openmetrics
    assert 'latency_seconds_bucket{le="1.0",view="index"} 3.0\n' in openmetrics
    assert 'responses_total{status="200"} 1.0 # {span_id="2222222222222222"' in openmetrics
    assert "a" * 32 not in openmetrics
    assert "# {" not in generate_latest(registry).decode()  # the text format has no exemplars


lean_only = pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own middleware")


def lean_middleware(status: int = 200) -> LeanMiddleware:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=status)

    return lean_metrics_middleware(view)


@lean_only
def test_without_tracing_the_lean_middleware_records_no_exemplar(monkeypatch, span):
    monkeypatch.setattr(provider, "ACTIVE", None)
    middleware = lean_middleware()
    assert type(middleware.recorder) is LeanMetricsRecorder
    middleware(RequestFactory().get("/"))
    assert all(series.responses.get_exemplar() is None for series in middleware.recorder.series.values())


@lean_only
def test_a_traced_workers_lean_middleware_records_the_requests_trace(monkeypatch, span):
    monkeypatch.setattr(provider, "ACTIVE", object())
    middleware = lean_middleware(status=503)
    assert type(middleware.recorder) is ExemplarLeanMetricsRecorder
    middleware(RequestFactory().get("/"))
    trace_id, span_id = ids(span)
    (series,) = middleware.recorder.series.values()
    assert series.responses._value.get_exemplar().labels == {"trace_id": trace_id, "span_id": span_id}
    with_exemplar = [bucket for bucket in series.latency._buckets if bucket.get_exemplar() is not None]
    assert len(with_exemplar) == 1 and with_exemplar[0].get_exemplar().labels["trace_id"] == trace_id


@lean_only
def test_an_unsampled_request_leaves_no_exemplar(monkeypatch):
    monkeypatch.setattr(provider, "ACTIVE", object())
    middleware = lean_middleware()
    middleware(RequestFactory().get("/"))  # no current span at all
    assert all(series.responses._value.get_exemplar() is None for series in middleware.recorder.series.values())


def log_record() -> logging.LogRecord:
    return logging.LogRecord("orders", logging.INFO, __file__, 1, "Order placed", None, None)


def test_log_lines_inside_a_traced_request_carry_its_ids(monkeypatch, span):
    monkeypatch.setattr(provider, "ACTIVE", object())
    record = log_record()
    assert TraceContextFilter().filter(record)
    trace_id, span_id = ids(span)
    assert record.trace_context == f" trace_id={trace_id} span_id={span_id}"


def test_log_lines_carry_nothing_when_tracing_is_off(monkeypatch, span):
    monkeypatch.setattr(provider, "ACTIVE", None)
    record = log_record()
    assert TraceContextFilter().filter(record) and record.trace_context == ""


def test_tracing_off_imports_no_opentelemetry_module():
    """Off by default: a request through every middleware loads none of the SDK, the exporter or its threads."""
    code = (
        "import django, sys, threading\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "assert Client().get('/').status_code == 200\n"
        "print(sorted(name for name in sys.modules if name.startswith('opentelemetry')), threading.active_count())\n"
    )
    environ = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=environ, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[]", "1"]


def test_a_fault_in_opentelemetrys_middleware_costs_the_span_not_the_request(monkeypatch, caplog):
    from types import SimpleNamespace

    from django.http import HttpResponse
    from django.test import RequestFactory
    from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

    from service_runtime.tracing import provider
    from service_runtime.tracing.middleware import GuardedTracingMiddleware

    state = provider.ExportState("http://collector:4318")
    monkeypatch.setattr(provider, "ACTIVE", SimpleNamespace(state=state))

    def broken(self, *args):
        raise AttributeError("'NoneType' object has no attribute 'get'")

    for step in ("process_request", "process_view", "process_exception", "process_response"):
        monkeypatch.setattr(_DjangoMiddleware, step, broken)
    response = HttpResponse("served")
    middleware = GuardedTracingMiddleware(lambda request: response)
    request = RequestFactory().get("/")
    assert middleware(request) is response
    assert middleware.process_view(request, lambda r: response, (), {}) is None
    assert middleware.process_exception(request, ValueError("the view's")) is None
    problem = state.problem()
    assert problem is not None and "failed in process_request" in problem and "untraced" in problem
    assert sum("logged once" in record.getMessage() for record in caplog.records) == 1


def test_propagators_none_reads_no_context_and_still_answers_one():
    from opentelemetry.context import Context

    from service_runtime.tracing.provider import NoPropagation

    propagation = NoPropagation()
    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    assert propagation.extract(carrier) == Context()
    outgoing: dict[str, str] = {}
    propagation.inject(outgoing)
    assert outgoing == {} and propagation.fields == set()
