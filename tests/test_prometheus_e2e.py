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
from dataclasses import dataclass

import pytest

from tests.support import helm
from tests.support.load import Stream
from tests.support.metrics import responses, scrape
from tests.support.ports import free_block
from tests.support.processes import Gunicorn, production_env, wait_until
from tests.support.prometheus import PROMETHEUS, Prometheus, one, scrape_jobs_from_chart

pytestmark = pytest.mark.e2e

NAIVE_JOB = "naive-single-url"


@dataclass
class Deployed:
    service: Gunicorn
    prometheus: Prometheus
    job: str  # the Service name, which prometheus-operator makes the job label

    def counter(self, job: str | None = None) -> str:
        return f'django_http_responses_total_by_status_view_method_total{{job="{job or self.job}",view="index"}}'

    def targets_up(self) -> float:
        return self.prometheus.scalar(f'count(up{{job="{self.job}"}} == 1)') or 0

    def wait_all_up(self, timeout: float = 30) -> float:
        workers = len(self.service.metrics_ports)
        return self.prometheus.wait_for(f'count(up{{job="{self.job}"}} == 1)', lambda v: v == workers, timeout)


@pytest.fixture
def deployed(served_project, baked_venv, tmp_path):
    """deployed(workers, naive=False, **env): the service as its chart would run it, and Prometheus scraping it."""
    if PROMETHEUS is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus'; .ci/run installs it)")
    started = []

    def start(workers: int, naive: bool = False, **extra_env: str) -> Deployed:
        workdir = tmp_path / f"deploy-{len(started)}"
        workdir.mkdir()
        ports = free_block(workers + 1)
        values = {
            "env": {"config": {"WEB_CONCURRENCY": workers, "METRICS_START_PORT": ports[1], "HTTP_PORT": ports[0]}},
            "serviceMonitor": {"interval": "1s", "scrapeTimeout": "1s"},
        }
        docs = helm.render(served_project / "chart", values, release="e2e", namespace="e2e")
        config = dict(one(docs, "ConfigMap")["data"])
        # The chart's demo database lives in the pod's /tmp; here, the project's migrated one.
        config["DATABASE_URL"] = f"sqlite:///{served_project / 'db.sqlite3'}"
        container_ports = {
            p["name"]: p["containerPort"]
            for p in one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["ports"]
        }
        http_port = container_ports.pop("http")
        env = production_env(baked_venv, workdir, config, **extra_env)
        service = Gunicorn(served_project, baked_venv, env, http_port, list(container_ports.values()), workdir)
        started.append(service)
        service.wait_ready()

        jobs = scrape_jobs_from_chart(docs)
        if naive:
            jobs.append(
                {
                    "job_name": NAIVE_JOB,
                    "scrape_interval": "1s",
                    "scrape_timeout": "1s",
                    "static_configs": [{"targets": [f"127.0.0.1:{http_port}"]}],
                }
            )
        prometheus = Prometheus(workdir, jobs)
        started.append(prometheus)
        deployment = Deployed(service, prometheus, one(docs, "Service")["metadata"]["name"])
        deployment.wait_all_up()
        return deployment

    yield start
    for process in reversed(started):
        process.stop()


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
