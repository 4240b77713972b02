"""A real Prometheus scrapes every worker of a real gunicorn, configured from the rendered chart.

The service gets the environment the chart's ConfigMap gives its pod; Prometheus
gets one scrape job per ServiceMonitor endpoint, each port name resolved through
the rendered Service and Deployment to its number. Then we do to it what
operators do: load, reload, recycle, kill.
"""

from __future__ import annotations

import http.client
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.deployment import FAULTS_SETTINGS, NAIVE_JOB
from tests.support.interfaces import INTERFACES
from tests.support.load import Stream, get
from tests.support.manifests import one
from tests.support.metrics import responses, scrape
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


# Every worker count under WSGI; under ASGI the smaller one proves the same sum.
@pytest.mark.parametrize(
    ("workers", "interface"), [(3, "wsgi"), (6, "wsgi"), *((3, other) for other in INTERFACES if other != "wsgi")]
)
def test_every_worker_is_a_target_and_the_sum_is_exact(deployed, report, workers, interface):
    d = deployed(workers, naive=True, METRICS_URL_EXPORTER="true")
    assert d.targets_up() == workers

    with Stream(d.service.http_port, concurrency=12, max_seconds=5) as stream:
        time.sleep(5)
    sent = stream.statuses[200]
    assert dict(stream.statuses) == {200: sent} and sent > 0

    exact = d.prometheus.wait_for(f"sum({d.counter()})", lambda v: v == sent, timeout=15)
    total = d.prometheus.scalar(f"sum({d.counter()})")
    per_target = {r["metric"]["endpoint"]: float(r["value"][1]) for r in d.prometheus.query(d.counter())}
    decreases = d.prometheus.scalar(f"sum(resets({d.counter()}[5m]))")
    naive_reads = single_url_reads(d.service.http_port)
    naive_last = d.prometheus.scalar(d.counter(NAIVE_JOB))
    report(
        f"{interface}: {workers} targets up; K={sent} requests; sum over targets={total:.0f}"
        f" (reached {exact:.1f}s after load);"
        f" per target {per_target}; decreases across targets: {decreases:.0f};"
        f" naive single URL read at one moment: {sorted(naive_reads)}, Prometheus' last naive sample {naive_last:.0f}"
    )
    assert total == sent
    assert len(per_target) == workers and all(count > 0 for count in per_target.values())
    assert decreases == 0, "a per-worker counter went backwards"
    # Negative control: with the counters standing still, one URL answers with
    # whichever worker accepts, so the same question gets different numbers, all short of K.
    assert len(naive_reads) >= 2
    assert max(naive_reads) < sent and naive_last < sent


def single_url_reads(http_port: int, rounds: int = 20) -> set[float]:
    """What /metrics on the HTTP port says the index count is, read concurrently (which forces
    several workers to answer), until two different answers came back or ``rounds`` ran out."""
    seen: set[float] = set()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(rounds):
            seen.update(pool.map(lambda _: responses(scrape(http_port), view="index"), range(8)))
            if len(seen) >= 2:
                break
    return seen


def test_reload_under_load_brings_every_target_back(deployed, report):
    d = deployed(4)
    service = d.service
    with Stream(service.http_port, concurrency=8, max_seconds=60) as stream:
        time.sleep(2)
        old_workers = set(service.worker_pids())
        os.kill(service.pid, signal.SIGHUP)
        hup = time.monotonic()

        def recovered() -> bool:
            current = set(service.worker_pids())
            return not current & old_workers and len(current) == 4 and len(service.open_metrics_ports()) == 4

        wait_until(recovered, timeout=30)
        ports_back = time.monotonic() - hup
        d.wait_all_up(timeout=30)
        prometheus_back = time.monotonic() - hup
        time.sleep(3)
    rate = d.prometheus.scalar(f"count(rate({d.counter()}[3s]) > 0)")
    report(
        f"HUP under load: new workers held all 4 ports {ports_back:.2f}s after the signal;"
        f" Prometheus saw 4/4 up after {prometheus_back:.2f}s; requests {dict(stream.statuses)}"
    )
    assert ports_back < 10
    assert prometheus_back < 15
    assert rate == 4, "every new worker is scraped and counting"


@pytest.mark.parametrize("interface", INTERFACES)
def test_recycling_under_load_loses_nothing_and_resets_nothing(deployed, report, interface):
    """Each worker's series belongs to its slot: a recycled worker's successor continues its counts."""
    d = deployed(3, GUNICORN_MAX_REQUESTS="75", GUNICORN_MAX_REQUESTS_JITTER="0")
    warm = d.warm_up()
    since = d.settled_sample_times(warm)
    with Stream(d.service.http_port, concurrency=6, rate=60, max_seconds=8) as stream:  # about two recycles each
        time.sleep(8)
    sent = stream.statuses[200]
    assert dict(stream.statuses) == {200: sent}, "a recycle dropped a request"
    d.settled_sample_times(warm + sent)
    increases = d.prometheus.between_own_samples("increase", d.counter(), since)
    resets = d.prometheus.between_own_samples("resets", d.counter(), since)
    restarts = recycles(d.service.output())
    report(
        f"{interface}: max_requests=75, 3 workers: {restarts} recycles, {sent} requests;"
        f" increase per target {increases},"
        f" sum {sum(increases.values()):.6f}; resets per target {resets}"
    )
    assert restarts >= 3
    assert len(increases) == 3 and set(resets.values()) == {0}
    assert sum(increases.values()) == pytest.approx(sent, abs=1e-6)


@pytest.mark.parametrize("interface", INTERFACES)
def test_kill_9_then_reload_under_load_resets_nothing_and_counts_every_answer(deployed, report, interface):
    d = deployed(3)
    service = d.service
    warm = d.warm_up()
    since = d.settled_sample_times(warm)
    with Stream(service.http_port, concurrency=6, max_seconds=60) as stream:
        time.sleep(2)
        victim = sorted(service.worker_pids())[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: victim not in service.worker_pids() and len(service.open_metrics_ports()) == 3, 30)
        port_back = time.monotonic() - killed
        time.sleep(2)
        old = set(service.worker_pids())
        os.kill(service.pid, signal.SIGHUP)
        wait_until(lambda: not set(service.worker_pids()) & old and len(service.open_metrics_ports()) == 3, 30)
        d.wait_all_up(timeout=15)
        time.sleep(2)
    answered = stream.statuses[200]
    cut_short = sum(count for status, count in stream.statuses.items() if status != 200)
    d.prometheus.wait_for(f"sum({d.counter()})", lambda v: v >= warm + answered, timeout=20)
    total = d.total()
    d.settled_sample_times(total)
    increases = d.prometheus.between_own_samples("increase", d.counter(), since)
    resets = d.prometheus.between_own_samples("resets", d.counter(), since)
    report(
        f"{interface}: kill -9 of 1 of 3 workers (its slot served again after {port_back:.2f}s), then HUP:"
        f" {answered} answered,"
        f" {cut_short} cut short by the kill; sum(increase) {sum(increases.values()):.6f}; resets {resets}"
    )
    assert set(resets.values()) == {0}, "a counter went back to zero"
    # A request the kill cut short may have been counted just before its response was lost.
    assert answered <= sum(increases.values()) <= answered + cut_short
    # A sync worker has one request in flight, an ASGI worker up to the load's concurrency; HUP is graceful.
    assert cut_short <= (1 if interface == "wsgi" else 6)
    if cut_short == 0:
        assert sum(increases.values()) == pytest.approx(answered, abs=1e-6)
    assert port_back < 10


def test_a_request_killed_by_the_worker_timeout_counts_as_a_5xx(deployed, report):
    d = deployed(1, rules=True, GUNICORN_TIMEOUT="2", DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    port = d.service.http_port
    assert [get(port, "/") for _ in range(10)] == [200] * 10
    # The view has served before, so its 500 series stands at 0 (a series' first sample is
    # not an increase to rate(): see prepare_error_series in the service's service_runtime/request_metrics/inflight.py).
    assert get(port, "/__fault__/sleep/1") == 200
    try:
        status = get(port, "/__fault__/sleep/8000")
    except (OSError, http.client.HTTPException) as error:
        status = type(error).__name__
    wait_until(lambda: "WORKER TIMEOUT" in d.service.output(), timeout=15)
    errors = f'django_http_responses_total_by_status_view_method_total{{job="{d.job}",status=~"5.."}}'
    d.prometheus.wait_for(f"sum({errors})", lambda v: v == 1, timeout=20)
    [series] = d.prometheus.query(f"{errors} > 0")
    latency = f'django_http_requests_latency_seconds_by_view_method{{job="{d.job}",view="fault-sleep"}}'
    seconds = d.prometheus.scalar(f"sum({latency.replace('{', '_sum{', 1)})")
    under_timeout = d.prometheus.scalar(f'sum({latency.replace("{", "_bucket{", 1)[:-1]},le="1.0"}})')
    sli = 'slo:sli_error:ratio_rate5m{slo="availability"}'
    d.prometheus.wait_for(sli, lambda v: v is not None and v > 0, timeout=20)
    report(
        f"GUNICORN_TIMEOUT=2: the client got {status}; Prometheus: {series['metric']['status']} on view"
        f" {series['metric']['view']}, latency {seconds:.2f}s; availability SLI 5m {d.prometheus.scalar(sli):.3f}"
    )
    assert status == 500, "gunicorn answers a timed-out request with 500"
    assert series["metric"]["view"] == "fault-sleep" and series["metric"]["status"] == "500"
    assert seconds >= 2, "its latency is the time it ran, at least the timeout"
    assert under_timeout == 1, "only the warm-up request of the view was fast"
    assert d.prometheus.scalar(f"sum({d.counter()})") == 10
    assert d.prometheus.scalar(f"sum({latency.replace('{', '_count{', 1)})") == 2


@pytest.mark.parametrize("interface", INTERFACES)
def test_aggregated_mode_serves_one_exact_port_through_recycles_and_kill_9(deployed, report, interface):
    d = deployed(3, config={"METRICS_MODE": "aggregated"}, GUNICORN_MAX_REQUESTS="100")
    assert len(d.service.metrics_ports) == 1 and d.targets_up() == 1
    assert [e["port"] for e in one(d.docs, "ServiceMonitor")["spec"]["endpoints"]] == ["metrics"]
    aggregator = aggregator_pid(d)
    with Stream(d.service.http_port, concurrency=6, rate=60, max_seconds=16) as stream:
        time.sleep(5)
        os.kill(sorted(d.service.worker_pids())[0], signal.SIGKILL)
        time.sleep(4)
        old = set(d.service.worker_pids())
        os.kill(d.service.pid, signal.SIGHUP)
        wait_until(lambda: not set(d.service.worker_pids()) & old and len(d.service.worker_pids()) == 3, 30)
        time.sleep(4)
    assert aggregator_pid(d) == aggregator, "the one-port process lives through recycles, kills and reloads"
    answered = stream.statuses[200]
    cut_short = sum(count for status, count in stream.statuses.items() if status != 200)
    d.prometheus.wait_for(f"sum({d.counter()})", lambda v: v >= answered, timeout=20)
    total = d.total()
    resets = d.prometheus.scalar(f"sum(resets({d.counter()}[2m]))")
    restarts = recycles(d.service.output())
    report(
        f"{interface}: aggregated, 3 workers, max_requests=100: {restarts} recycles, a kill -9 and a HUP;"
        f" {answered} answered,"
        f" {cut_short} cut short; one target says {total:.0f}; resets {resets:.0f}"
    )
    assert restarts >= 2 and resets == 0
    assert answered <= total <= answered + cut_short


def recycles(output: str) -> int:
    """Workers that reached GUNICORN_MAX_REQUESTS, as gunicorn's sync worker and uvicorn's each log it."""
    return output.count("Autorestarting worker") + output.count("Maximum request limit of")


def aggregator_pid(d) -> int:
    pid_file = d.service.slot_directory / "aggregator.pid"
    return int(pid_file.read_text())
