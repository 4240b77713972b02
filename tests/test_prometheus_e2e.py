"""A real Prometheus scrapes every worker of a real gunicorn, configured from the rendered chart.

The service gets the environment the chart's ConfigMap gives its pod; Prometheus
gets one scrape job per ServiceMonitor endpoint, each port name resolved through
the rendered Service and Deployment to its number. Then we do to it what
operators do: load, reload, recycle, kill.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.deployment import NAIVE_JOB
from tests.support.load import Stream
from tests.support.metrics import responses, scrape
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("workers", [3, 6])
def test_every_worker_is_a_target_and_the_sum_is_exact(deployed, report, workers):
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
        f"{workers} targets up; K={sent} requests; sum over targets={total:.0f} (reached {exact:.1f}s after load);"
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


def test_recycled_workers_keep_every_target_up_and_increase_sane(deployed, report):
    d = deployed(3, GUNICORN_MAX_REQUESTS="150", GUNICORN_MAX_REQUESTS_JITTER="0")
    started = time.monotonic()
    with Stream(d.service.http_port, concurrency=6, rate=60, max_seconds=16) as stream:
        time.sleep(16)
    sent = stream.statuses[200]
    d.wait_all_up(timeout=15)
    time.sleep(2)
    window = int(time.monotonic() - started) + 5
    increase = d.prometheus.scalar(f"sum(increase({d.counter()}[{window}s]))")
    resets = d.prometheus.scalar(f"sum(resets({d.counter()}[{window}s]))")
    restarts = d.service.output().count("Autorestarting worker")
    report(
        f"max_requests=150, 3 workers: {restarts} recycles, {sent} requests,"
        f" resets seen {resets:.0f}, sum(increase)={increase:.0f} ({increase / sent:.2f} of the requests)"
    )
    assert restarts >= 3 and resets >= 3
    assert d.targets_up() == 3
    # Counts a worker served after its last scrape die with it; extrapolation adds a little.
    assert 0.7 * sent <= increase <= 1.15 * sent


def test_killed_worker_is_replaced_on_its_port(deployed, report):
    d = deployed(3)
    service = d.service
    with Stream(service.http_port, concurrency=6, max_seconds=60):
        time.sleep(3)
        before = set(service.worker_pids())
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()

        def replaced() -> bool:
            current = set(service.worker_pids())
            return victim not in current and len(current) == 3 and len(service.open_metrics_ports()) == 3

        wait_until(replaced, timeout=30)
        port_back = time.monotonic() - killed
        d.wait_all_up(timeout=15)
        time.sleep(3)
    resets = {r["metric"]["endpoint"]: float(r["value"][1]) for r in d.prometheus.query(f"resets({d.counter()}[2m])")}
    report(f"kill -9 of one of 3 workers: replacement served its port after {port_back:.2f}s; resets {resets}")
    assert port_back < 10
    assert sorted(resets.values()) == [0, 0, 1], "exactly the killed worker's target starts again from zero"
