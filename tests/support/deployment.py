"""A baked service run the way its chart runs it, and a real Prometheus scraping it as the chart says.

The service gets the environment the chart's ConfigMap gives its pod and its
ports from the rendered Deployment; Prometheus gets one scrape job per
ServiceMonitor endpoint and, if asked, the chart's PrometheusRule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support import helm
from tests.support.environment import production_env
from tests.support.load import Stream
from tests.support.manifests import app_container, env_configmap, one
from tests.support.ports import free_block
from tests.support.processes import Gunicorn
from tests.support.prometheus import Prometheus, scrape_jobs_from_chart
from tests.support.waiting import wait_until

NAIVE_JOB = "naive-single-url"
# Production settings plus the test-only /__fault__/ views (production refuses FAULT_INJECTION_VIEWS).
FAULTS_SETTINGS = "config.settings.faults"
NAMESPACE = "e2e"


@dataclass
class Deployed:
    service: Gunicorn
    prometheus: Prometheus
    job: str  # the Service name, which prometheus-operator makes the job label
    docs: list  # the rendered chart
    pods: list[Gunicorn] = field(default_factory=list)  # every gunicorn master of the release, service first

    def counter(self, job: str | None = None) -> str:
        labels = f'job="{job or self.job}",view="index",status="200"'
        return f"django_http_responses_total_by_status_view_method_total{{{labels}}}"

    def targets_up(self) -> float:
        return self.prometheus.scalar(f'count(up{{job="{self.job}"}} == 1)') or 0

    def wait_all_up(self, timeout: float = 30) -> float:
        targets = sum(len(pod.metrics_ports) for pod in self.pods)
        return self.prometheus.wait_for(f'count(up{{job="{self.job}"}} == 1)', lambda v: v == targets, timeout)

    def total(self) -> float:
        return self.prometheus.scalar(f"sum({self.counter()})") or 0

    def settled_sample_times(self, expected_total: float, timeout: float = 20) -> dict[str, float]:
        """Once Prometheus holds ``expected_total`` and one more scrape of every target: each target's
        latest sample time, a point from which ``between_own_samples`` measures exactly."""
        self.prometheus.wait_for(f"sum({self.counter()})", lambda v: v == expected_total, timeout)
        before = self.prometheus.last_sample_times(self.counter())
        wait_until(
            lambda: all(t > before[e] for e, t in self.prometheus.last_sample_times(self.counter()).items()),
            timeout,
        )
        return self.prometheus.last_sample_times(self.counter())

    def warm_up(self, timeout: float = 30) -> int:
        """Requests until every target exports the counter; returns how many were answered.

        Paced to ten a second per worker, so that no max_requests recycle takes a
        target down (and its series stale) while we wait for all of them.
        """
        targets = len(self.service.metrics_ports)
        pace = {"concurrency": 2 * targets, "rate": 10 * targets, "max_seconds": timeout}
        with Stream(self.service.http_port, **pace) as stream:
            self.prometheus.wait_for(f"count({self.counter()})", lambda v: v == targets, timeout)
        assert set(stream.statuses) == {200}, stream.statuses
        return stream.statuses[200]


def deploy(
    project: Path,
    venv: Path,
    workdir: Path,
    started: list,
    workers: int,
    naive: bool = False,
    rules: bool = False,
    config: dict | None = None,
    alerts: dict | None = None,
    alertmanager_port: int | None = None,
    namespace: str = NAMESPACE,
    pod_env: list[dict[str, str]] | None = None,
    chart_values: dict | None = None,
    features: tuple[str, ...] = (),
    **extra_env: str,
) -> Deployed:
    """Start the service and Prometheus; each process goes into ``started`` for the caller to stop.

    ``config`` goes into the chart's env.config (so it shapes the rendered ports too);
    ``alerts`` into the chart's prometheusRule values (``pageFor``, say), as a user would set them;
    ``extra_env`` only into the process' environment. With ``alertmanager_port``, Prometheus
    sends its alerts there. ``namespace`` is the release's, and so the namespace label of every
    series and alert: deployments in different namespaces can share one Alertmanager.
    ``pod_env``: one entry per pod of the release (default one pod), each a gunicorn master on
    its own ports with that extra environment (a SERVICE_VERSION, say), all scraped as one job.
    ``chart_values``: more top-level chart values (``tracing``, say); ``features``: Prometheus'
    --enable-feature flags (``exemplar-storage``).
    """
    pods: list[Gunicorn] = []
    jobs: list[dict] = []
    for index, pod_extra in enumerate(pod_env or [{}]):
        ports = free_block(workers + 1)
        chart_config = {"WEB_CONCURRENCY": workers, "METRICS_START_PORT": ports[1], "HTTP_PORT": ports[0]}
        values = {
            "env": {"config": {**chart_config, **(config or {})}},
            "serviceMonitor": {"interval": "1s", "scrapeTimeout": "1s"},
            "prometheusRule": {"interval": "1s", "periodInterval": "1s", "dashboardInterval": "1s", **(alerts or {})},
            **(chart_values or {}),
        }
        docs = helm.render(project / "chart", values, release="e2e", namespace=namespace)
        environment = dict(env_configmap(docs)["data"])
        # The chart's demo database lives in the pod's /tmp; here, the project's migrated one.
        environment["DATABASE_URL"] = f"sqlite:///{project / 'db.sqlite3'}"
        # The chart allows the Service's DNS names; here clients reach it on loopback.
        environment["DJANGO_ALLOWED_HOSTS"] = "localhost,127.0.0.1"
        container_ports = {port["name"]: port["containerPort"] for port in app_container(docs)["ports"]}
        http_port = container_ports.pop("http")
        pod_dir = workdir / f"pod-{index}"
        pod_dir.mkdir()
        env = production_env(venv, pod_dir, environment, **{**extra_env, **pod_extra})
        pod = Gunicorn(project, venv, env, http_port, list(container_ports.values()), pod_dir)
        started.append(pod)
        pods.append(pod)
        jobs += scrape_jobs_from_chart(docs, namespace=namespace, pod=f"pod-{index}")
    for pod in pods:
        pod.wait_ready()
    service = pods[0]
    if naive:
        jobs.append(
            {
                "job_name": NAIVE_JOB,
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "static_configs": [{"targets": [f"127.0.0.1:{http_port}"]}],
            }
        )
    rule_files = []
    if rules:
        rule_files.append(workdir / "rules.yaml")
        rule_files[0].write_text(yaml.safe_dump(one(docs, "PrometheusRule")["spec"], sort_keys=False))
    prometheus = Prometheus(workdir, jobs, rule_files, alertmanager_port=alertmanager_port, features=features)
    started.append(prometheus)
    deployment = Deployed(service, prometheus, one(docs, "Service")["metadata"]["name"], docs, pods)
    deployment.wait_all_up()
    return deployment
