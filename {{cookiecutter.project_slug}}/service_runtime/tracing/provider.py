"""The worker's OpenTelemetry tracer provider: started after fork, flushed on a graceful exit.

gunicorn's ``post_fork`` hook starts it in each worker, never in the master: the
SDK's batch thread would not survive ``fork`` (opentelemetry-python#3747). A
request only queues its span (bounded by ``OTEL_BSP_MAX_QUEUE_SIZE``); a thread
exports batches, so a collector that is down or slow drops spans, never delays a
request. An outage is logged once at its start and once at its end
(``OncePerOutage``), and shown on the metrics port and in ``/readyz``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from service_runtime.tracing.configuration import TracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger = logging.getLogger(__name__)

# How long a worker's graceful exit waits for its last spans; skipped while exports fail.
FLUSH_ON_EXIT_SECONDS = 5.0
# The loggers whose per-batch and per-span complaints one outage may produce many of.
SDK_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.sdk._shared_internal",
)


class ExportState:
    """What this worker's exports did: read by the metrics port and /readyz, written by the export thread."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.failing_since_batch: int | None = None  # the failed batch count when the outage began
        self.exported_spans = 0
        self.failed_spans = 0
        self.failed_batches = 0
        self.middleware_fault: str | None = None  # the first fault of OpenTelemetry's Django middleware
        self.lock = threading.Lock()

    @property
    def failing(self) -> bool:
        return self.failing_since_batch is not None

    def problem(self) -> str | None:
        if self.middleware_fault is not None:
            return f"{self.middleware_fault}; requests are served and counted, untraced"
        if not self.failing:
            return None
        return (
            f"trace export to {self.endpoint} is failing: spans are dropped until the collector answers;"
            " requests are not affected"
        )


class OncePerOutage(logging.Filter):
    """Lets the SDK's first complaint of an outage through, and none after it until exports recover."""

    def __init__(self, state: ExportState) -> None:
        super().__init__()
        self.state = state
        self.told = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if self.told:
            return False
        self.told = True
        return True


def reporting_exporter(exporter: SpanExporter, state: ExportState, quiet: OncePerOutage) -> SpanExporter:
    """``exporter``, counting what it sends and logging an outage once, at its start and at its end."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class ReportingExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            result = exporter.export(spans)
            with state.lock:
                if result is SpanExportResult.SUCCESS:
                    state.exported_spans += len(spans)
                    if state.failing_since_batch is not None:
                        lost = state.failed_batches - state.failing_since_batch
                        logger.warning("Trace export to %s recovered after %s failed batch(es)", state.endpoint, lost)
                        state.failing_since_batch = None
                        quiet.told = False
                else:
                    state.failed_spans += len(spans)
                    if state.failing_since_batch is None:
                        state.failing_since_batch = state.failed_batches
                        logger.warning(
                            "%s; logged once until it recovers (tracing_export_failing on the metrics port)",
                            state.problem(),
                        )
                    state.failed_batches += 1
            return result

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return exporter.force_flush(timeout_millis)

    return ReportingExporter()


def NoPropagation() -> Any:
    """OTEL_PROPAGATORS=none: read no context from requests, write none into calls. The SDK's own
    empty propagator answers None where the Django middleware needs a context."""
    from opentelemetry.context import Context
    from opentelemetry.propagators.textmap import TextMapPropagator

    class _NoPropagation(TextMapPropagator):
        def extract(self, carrier: Any, context: Context | None = None, getter: Any = None) -> Context:
            return context if context is not None else Context()

        def inject(self, carrier: Any, context: Context | None = None, setter: Any = None) -> None:
            return None

        @property
        def fields(self) -> set[str]:
            return set()

    return _NoPropagation()


class Tracing:
    """The running tracer provider of this worker and its export state."""

    def __init__(self, provider: TracerProvider, state: ExportState) -> None:
        self.provider, self.state = provider, state

    def stop(self) -> None:
        """Export what is queued, waiting at most FLUSH_ON_EXIT_SECONDS; not at all while exports fail."""
        if self.state.failing:
            return  # the queued spans would only wait for a collector that is not answering
        # The SDK's shutdown waits up to 30s per batch for a slow collector: bounded here instead.
        flush = threading.Thread(target=self.provider.shutdown, name="tracing-flush", daemon=True)
        flush.start()
        flush.join(FLUSH_ON_EXIT_SECONDS)


# This worker's tracing, once started; None in the master, in manage.py, and when tracing is off.
ACTIVE: Tracing | None = None


def resource_attributes(service_name: str, service_version: str, slot: int) -> dict[str, str | int]:
    """Who sent a span: the service and its release, and the worker (host, pid and metrics slot).

    ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` override these, as the SDK documents.
    """
    host = socket.gethostname()
    return {
        "service.name": service_name,
        "service.version": service_version,
        "service.instance.id": f"{host}/{os.getpid()}",
        "host.name": host,
        "process.pid": os.getpid(),
        "gunicorn.worker.slot": slot,
    }


def start_tracing(settings: TracingSettings, service_name: str, service_version: str, slot: int) -> Tracing:
    """Start this worker's provider, exporting over OTLP/HTTP in the background (call once, after fork)."""
    global ACTIVE
    from opentelemetry import trace
    from opentelemetry.sdk.resources import OTELResourceDetector

    state = ExportState(settings.endpoint)
    quiet = OncePerOutage(state)
    for name in SDK_LOGGERS:
        logging.getLogger(name).addFilter(quiet)
    detected = OTELResourceDetector().detect().attributes
    # The environment's word wins over the service's defaults.
    attributes: dict[str, Any] = {**resource_attributes(service_name, service_version, slot), **detected}
    provider = exporting_provider(attributes, lambda exporter: reporting_exporter(exporter, state, quiet))
    trace.set_tracer_provider(provider)
    if not settings.propagate:
        from opentelemetry import propagate

        propagate.set_global_textmap(NoPropagation())
    ACTIVE = Tracing(provider, state)
    return ACTIVE


def exporting_provider(attributes: dict[str, Any], wrap: Callable[[SpanExporter], SpanExporter]) -> TracerProvider:
    """The SDK's provider, batching spans to its OTLP/HTTP exporter (wrapped by ``wrap``): all three read
    their settings from ``OTEL_*`` themselves."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create(attributes), shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(wrap(OTLPSpanExporter())))
    return provider


def stop_tracing() -> None:
    """gunicorn's ``worker_exit``: flush and stop, within FLUSH_ON_EXIT_SECONDS."""
    if ACTIVE is not None:
        ACTIVE.stop()


class ExportCollector:
    """This worker's export state, on its metrics port."""

    def __init__(self, state: ExportState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        state = self.state
        yield GaugeMetricFamily(
            "tracing_export_failing",
            "1 while this worker's trace exports to the OTLP collector fail (spans are dropped meanwhile).",
            value=1 if state.failing else 0,
        )
        yield CounterMetricFamily(
            "tracing_spans_exported", "Spans this worker's exporter delivered.", value=state.exported_spans
        )
        yield CounterMetricFamily(
            "tracing_spans_export_failed", "Spans this worker's exporter failed to deliver.", value=state.failed_spans
        )
