"""What only an ASGI bake must prove: requests served together, deadlines that count, blocked loops counted.

The guarantees both interfaces share (a port per worker, exact sums, recycles, kill -9, HUP, the
aggregated mode) run for both in tests/test_workers.py and tests/test_prometheus_e2e.py; these are
the ones ASGI changes. The async views are the bake's fault views (FAULT_INJECTION_VIEWS).
"""

from __future__ import annotations

import http.client
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.deployment import FAULTS_SETTINGS
from tests.support.load import get
from tests.support.metrics import RESPONSES, sample_value, scrape
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("interface", ["asgi"])]


def status_of(port: int, path: str, timeout: float = 30) -> int | str:
    """The status, or the name of what cut the answer off (a worker killed mid-request)."""
    try:
        return get(port, path, timeout=timeout)
    except (http.client.HTTPException, OSError) as error:
        return type(error).__name__


def counted(ports, **labels: str) -> float:
    return sum(sample_value(scrape(port), RESPONSES, **labels) for port in ports)


def test_awaiting_requests_are_served_together_and_mixed_traffic_counts_exactly(gunicorn, report):
    service = gunicorn(2, DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(lambda _: status_of(service.http_port, "/__fault__/await/1000"), range(40)))
    together = time.monotonic() - started
    assert statuses == [200] * 40
    # One at a time, two workers would need 20 s for forty 1-second waits.
    assert together < 10, f"forty 1 s awaits took {together:.1f}s: the workers served them one by one"

    paths = ["/__fault__/await/20", "/__fault__/sleep/5", "/"] * 100  # async, sync (thread pool), sync
    with ThreadPoolExecutor(max_workers=24) as pool:
        mixed = Counter(pool.map(lambda path: status_of(service.http_port, path), paths))
    assert mixed == {200: 300}
    ports = service.metrics_ports
    per_view = {view: counted(ports, view=view) for view in ("fault-await", "fault-sleep", "index")}
    report(f"asgi, 2 workers: 40 awaits of 1 s took {together:.2f}s; 300 mixed requests counted {per_view}")
    assert per_view == {"fault-await": 140, "fault-sleep": 100, "index": 100}


def test_a_request_past_its_deadline_is_a_504_counted_once_and_the_worker_goes_on(gunicorn, report):
    service = gunicorn(1, GUNICORN_TIMEOUT="2", DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    [worker] = service.worker_pids()
    started = time.monotonic()
    assert status_of(service.http_port, "/__fault__/await/6000") == 504
    answered_after = time.monotonic() - started
    assert status_of(service.http_port, "/__fault__/await/10") == 200
    assert service.worker_pids() == [worker], "the deadline replaced the worker"
    ports = service.metrics_ports
    assert counted(ports, view="fault-await", status="504") == 1
    assert counted(ports, view="fault-await") == 2, "the 504 counted once, the next request once"
    report(f"asgi, GUNICORN_TIMEOUT=2: a 6 s await answered 504 after {answered_after:.1f}s, same worker")
    assert "passed its 2s deadline: answered 504" in service.output()


def test_a_blocked_loops_worker_is_replaced_and_every_request_it_held_counts_as_a_5xx(gunicorn, report):
    service = gunicorn(1, GUNICORN_TIMEOUT="2", DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    [worker] = service.worker_pids()
    with ThreadPoolExecutor(max_workers=4) as pool:
        waiting = [pool.submit(status_of, service.http_port, "/__fault__/await/8000") for _ in range(3)]
        time.sleep(0.5)  # the three are in flight, awaiting, when the loop blocks
        blocked = pool.submit(status_of, service.http_port, "/__fault__/block/8000")
        outcomes = [future.result() for future in (*waiting, blocked)]
    assert all(outcome != 200 for outcome in outcomes), outcomes
    wait_until(lambda: service.worker_pids() not in ([], [worker]) and service.open_metrics_ports(), timeout=30)
    ports = service.metrics_ports
    failed = {view: counted(ports, view=view, status="500") for view in ("fault-await", "fault-block")}
    report(f"asgi, a loop blocked past GUNICORN_TIMEOUT=2 with 4 requests in flight: clients got {outcomes}")
    assert failed == {"fault-await": 3, "fault-block": 1}
    assert f"Worker {worker} timed out: 4 request(s) in flight counted as 500" in service.output()
    assert get(service.http_port, "/") == 200


def test_an_async_stream_counts_once_its_body_is_sent(gunicorn):
    service = gunicorn(1, DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    assert status_of(service.http_port, "/__fault__/async-stream/200") == 200
    assert counted(service.metrics_ports, view="fault-async-stream", status="200") == 1
