"""Traces and exemplars end to end: real gunicorn workers, a real Prometheus storing exemplars, an OTLP receiver.

A slow request sent with its own W3C traceparent must come out three ways that
point at one another: an exemplar on the latency bucket it filled (read back from
Prometheus' query_exemplars), its server span at the collector (from the worker
that served it, flushed when that worker exits gracefully), and the service's log
line. A collector that is down or hangs must cost requests nothing.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import time
from pathlib import Path

import pytest

from tests.support.deployment import FAULTS_SETTINGS
from tests.support.interfaces import INTERFACES
from tests.support.load import burst, get_json
from tests.support.metrics import sample_value, scrape
from tests.support.otlp import OtlpReceiver, SilentCollector
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

LATENCY = "django_http_requests_latency_seconds_by_view_method_bucket"
RESPONSES = "django_http_responses_total_by_status_view_method_total"
SERVER_SPAN = 2  # SpanKind SERVER in OTLP
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


@pytest.fixture
def receiver():
    collector = OtlpReceiver()
    yield collector
    collector.stop()


def traced_get(port: int, path: str) -> tuple[str, str, int]:
    """GET ``path`` as part of a new sampled trace; returns (trace id, the caller's span id, status)."""
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "localhost", "traceparent": f"00-{trace_id}-{parent}-01"})
        response = connection.getresponse()
        response.read()
        return trace_id, parent, response.status
    finally:
        connection.close()


def metrics_text(port: int, accept: str | None = None) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics", headers={"Accept": accept} if accept else {})
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def recycle_workers(service) -> list[int]:
    """SIGTERM every worker (each exits gracefully: that is when a worker flushes its spans); the new pids."""
    old = set(service.worker_pids())
    for pid in old:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: len(set(service.worker_pids()) - old) == len(old), timeout=30)
    service.wait_ready()
    return sorted(set(service.worker_pids()) - old)


def exemplars(prometheus, selector: str, since: float) -> list[dict]:
    data = prometheus.api("query_exemplars", query=selector, start=str(since), end=str(time.time() + 60))
    return [{**series["seriesLabels"], **exemplar["labels"]} for series in data for exemplar in series["exemplars"]]


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_slow_requests_trace_is_an_exemplar_a_span_and_a_log_line_and_survives_recycles(
    deployed, receiver, report, interface
):
    started = time.time()
    d = deployed(
        2,
        chart_values={"tracing": {"endpoint": receiver.endpoint, "sampler": "parentbased_traceidratio", "ratio": 0}},
        features=("exemplar-storage",),
        DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS,
        # Nothing is exported on a timer during the test: a span arrives only when its worker exits.
        OTEL_BSP_SCHEDULE_DELAY="600000",
    )
    assert burst(d.service.http_port, 20) == [200] * 20  # ratio 0: new traces unsampled, no exemplars
    trace_id, parent, status = traced_get(d.service.http_port, "/__fault__/sleep/300")
    assert status == 200

    selector = f'{LATENCY}{{job="{d.job}", view="fault-sleep"}}'
    wait_until(lambda: exemplars(d.prometheus, selector, started), timeout=20)
    (bucket,) = exemplars(d.prometheus, selector, started)
    assert bucket["trace_id"] == trace_id and len(bucket["span_id"]) == 16
    assert float(bucket["le"]) >= 0.3
    (response,) = exemplars(d.prometheus, f'{RESPONSES}{{job="{d.job}", view="fault-sleep"}}', started)
    assert (response["trace_id"], response["span_id"]) == (trace_id, bucket["span_id"])
    assert not [e for e in exemplars(d.prometheus, f'{RESPONSES}{{job="{d.job}", view="index"}}', started)]

    served_on = d.service.metrics_ports[int(bucket["endpoint"].rsplit("-", 1)[1]) - 1]
    assert trace_id in metrics_text(served_on, OPENMETRICS)
    assert "# {" not in metrics_text(served_on)  # the text format stays as it was
    log_line = next(line for line in d.service.output().splitlines() if "Injected a delay of 300 ms" in line)
    assert f"trace_id={trace_id} span_id={bucket['span_id']}" in log_line

    first_workers = set(d.service.worker_pids())
    new_workers = recycle_workers(d.service)
    wait_until(lambda: receiver.spans_of_trace(trace_id), timeout=20)
    (span,) = receiver.spans_of_trace(trace_id)
    assert (span.kind, span.parent_span_id, span.span_id) == (SERVER_SPAN, parent, bucket["span_id"])
    assert span.resource["process.pid"] in first_workers
    assert f"metrics-{span.resource['gunicorn.worker.slot']}" == bucket["endpoint"]
    assert span.resource["service.name"] == d.service.project.name
    assert span.resource["service.version"] == d.service.env["SERVICE_VERSION"]

    after = [traced_get(d.service.http_port, "/")[0] for _ in range(10)]
    recycle_workers(d.service)
    wait_until(lambda: all(receiver.spans_of_trace(t) for t in after), timeout=20)
    exported_by = {receiver.spans_of_trace(t)[0].resource["process.pid"] for t in after}
    assert exported_by <= set(new_workers) and exported_by
    report(
        f"{interface}: exemplar {bucket['trace_id']} on le={bucket['le']} of {bucket['endpoint']}; span from pid"
        f" {span.resource['process.pid']} slot {span.resource['gunicorn.worker.slot']};"
        f" after recycling, {len(after)} traced requests exported by pids {sorted(exported_by)}"
    )


@pytest.mark.parametrize("collector", ["refusing", "silent"])
def test_a_collector_that_is_down_costs_requests_nothing(gunicorn, collector, report):
    """Refusing: nothing listens. Silent: connections are accepted and never answered (until the timeout)."""
    silent = SilentCollector() if collector == "silent" else None
    endpoint = silent.endpoint if silent else "http://127.0.0.1:9"  # the discard port: nothing listens
    timeout_seconds = 2
    try:
        service = gunicorn(
            1,
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_TRACES_SAMPLER="always_on",
            OTEL_EXPORTER_OTLP_TIMEOUT=str(timeout_seconds),
            OTEL_BSP_SCHEDULE_DELAY="50",
            OTEL_BSP_MAX_QUEUE_SIZE="256",
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE="64",
        )
        (worker,) = service.worker_pids()
        assert burst(service.http_port, 1000, concurrency=4) == [200] * 1000  # fills the span queue
        rss_before = resident_kib(worker)
        slowest = 0.0
        statuses = []
        for _ in range(5):
            timed = timed_burst(service.http_port, 1000)
            statuses += [status for status, _ in timed]
            slowest = max(slowest, *(seconds for _, seconds in timed))
        rss_after = resident_kib(worker)
        readiness = get_json(service.http_port, "/readyz")
        port_metrics = scrape(service.metrics_ports[0])
        failed_spans = sample_value(port_metrics, "tracing_spans_export_failed_total")
    finally:
        if silent:
            silent.stop()
    log = service.output()
    report(
        f"collector {collector}: 5000 requests, slowest {slowest * 1000:.0f} ms; worker RSS {rss_before} ->"
        f" {rss_after} KiB; spans failed to export: {failed_spans:.0f}"
    )
    assert statuses == [200] * 5000
    # A request never waits for an export: one that did would take the exporter's whole timeout.
    assert slowest < timeout_seconds
    assert rss_after - rss_before < 3 * 1024, "the worker's memory grows with requests while the collector is down"
    assert readiness[0] == 200 and endpoint in readiness[1]["tracing_degraded"]
    assert sample_value(port_metrics, "tracing_export_failing") == 1
    assert log.count("is failing: spans are dropped") == 1
    sdk_lines = [line for line in log.splitlines() if " opentelemetry." in line]
    assert len(sdk_lines) <= 1, sdk_lines  # the SDK's first complaint, then nothing per batch or per span


def timed_burst(port: int, count: int) -> list[tuple[int, float]]:
    timed = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", "/", headers={"Host": "localhost"})
            response = connection.getresponse()
            response.read()
            timed.append((response.status, time.perf_counter() - started))
    finally:
        connection.close()
    return timed


def resident_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def test_without_otel_variables_a_worker_has_no_exporter_and_serves_no_exemplars(receiver, gunicorn):
    """The default: the same responses, no export thread, no exemplars; tracing on adds exactly one thread."""
    plain = gunicorn(1)
    traced = gunicorn(1, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_TRACES_SAMPLER="always_on")
    answers = {}
    for name, service in (("plain", plain), ("traced", traced)):
        connection = http.client.HTTPConnection("127.0.0.1", service.http_port, timeout=10)
        connection.request("GET", "/", headers={"Host": "localhost", "traceparent": f"00-{'1' * 32}-{'2' * 16}-01"})
        response = connection.getresponse()
        answers[name] = (response.status, sorted(k for k, _ in response.getheaders() if k != "Date"), response.read())
        connection.close()
    assert answers["plain"] == answers["traced"]
    assert "# {" not in metrics_text(plain.metrics_ports[0], OPENMETRICS)
    assert "1" * 32 in metrics_text(traced.metrics_ports[0], OPENMETRICS)
    (plain_worker,), (traced_worker,) = plain.worker_pids(), traced.worker_pids()
    assert settled_threads(plain_worker, PLAIN_WORKER_THREADS) == PLAIN_WORKER_THREADS
    assert settled_threads(traced_worker, PLAIN_WORKER_THREADS + 1) == PLAIN_WORKER_THREADS + 1  # the span exporter's


PLAIN_WORKER_THREADS = 2  # the main thread, and the one serving the worker's metrics port


def settled_threads(pid: int, expected: int) -> int:
    """The worker's thread count once the threads of finished metrics connections are gone.

    The metrics port answers each connection from a thread of its own, and the client sees the
    connection close a moment before that thread has ended, so a count taken right after a scrape
    can be one high. With no scrape under way the count only falls, so wait for it to come down to
    ``expected`` (or for the timeout) and give what it is then: never an earlier, higher reading.
    """
    try:
        wait_until(lambda: threads(pid) <= expected, timeout=10)
    except TimeoutError:
        pass  # the caller's assertion shows the count that never came down
    return threads(pid)


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


PROPAGATORS = {"default": None, "none": "none", "upper-none": "NONE", "tracecontext-none": "tracecontext,none"}


@pytest.mark.parametrize("propagators", PROPAGATORS.values(), ids=PROPAGATORS.keys())
def test_no_propagator_setting_fails_or_hides_a_request(receiver, gunicorn, propagators):
    """Every request answers 200 and is counted, with and without a caller's traceparent, whatever
    OTEL_PROPAGATORS says (the SDK's own "none" made OpenTelemetry's middleware fail every request).
    The receiver is set up first, so it outlives the service: the workers' exit flushes at once."""
    settings = {"OTEL_PROPAGATORS": propagators} if propagators else {}
    service = gunicorn(1, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_TRACES_SAMPLER="always_on", **settings)
    statuses = burst(service.http_port, 50) + [traced_get(service.http_port, "/")[2] for _ in range(50)]
    assert statuses == [200] * 100
    assert sample_value(scrape(service.metrics_ports[0]), RESPONSES, view="index", status="200") == 100
    status, readiness = get_json(service.http_port, "/readyz")
    assert status == 200 and "tracing_degraded" not in readiness, readiness


def test_collector_credentials_never_reach_the_probe_or_the_log(gunicorn):
    endpoint = "http://reader:s3cret-token@127.0.0.1:9"  # nothing listens: the probe names the outage
    service = gunicorn(
        1, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_TRACES_SAMPLER="always_on", OTEL_BSP_SCHEDULE_DELAY="50"
    )
    assert burst(service.http_port, 20) == [200] * 20
    wait_until(lambda: "tracing_degraded" in get_json(service.http_port, "/readyz")[1], timeout=30)
    status, readiness = get_json(service.http_port, "/readyz")
    assert "127.0.0.1:9" in readiness["tracing_degraded"]
    assert "s3cret-token" not in str(readiness) and "s3cret-token" not in service.output()
