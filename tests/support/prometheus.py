"""A real Prometheus server on loopback, scraping what the rendered chart tells it to."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from tests.support.manifests import app_container, one
from tests.support.ports import free_block
from tests.support.processes import Process
from tests.support.waiting import wait_until

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


def scrape_jobs_from_chart(docs: list[dict], namespace: str, host: str = "127.0.0.1", pod: str = "pod-0") -> list[dict]:
    """What prometheus-operator would generate from the rendered ServiceMonitor, for one local pod.

    ``namespace`` is the release's, where the operator finds the Service. Each
    endpoint names a Service port; the Service maps it to a container port (by
    name or number) and the Deployment gives that port its number. Target
    labels follow the operator: job = Service name, plus namespace, service,
    pod and endpoint (the port name).
    """
    monitor, service = one(docs, "ServiceMonitor"), one(docs, "Service")
    container_ports = {port["name"]: port["containerPort"] for port in app_container(docs)["ports"]}
    service_ports = {port["name"]: port for port in service["spec"]["ports"]}
    name = monitor["metadata"]["name"]
    jobs = []
    for index, endpoint in enumerate(monitor["spec"]["endpoints"]):
        target_port = service_ports[endpoint["port"]]["targetPort"]
        number = container_ports[target_port] if isinstance(target_port, str) else target_port
        labels = {
            "job": service["metadata"]["name"],
            "namespace": namespace,
            "service": service["metadata"]["name"],
            "pod": pod,
            "endpoint": endpoint["port"],
        }
        jobs.append(
            {
                "job_name": f"serviceMonitor/{namespace}/{name}/{index}/{pod}",
                "scrape_interval": endpoint["interval"],
                "scrape_timeout": endpoint["scrapeTimeout"],
                "metrics_path": endpoint.get("path", "/metrics"),
                "static_configs": [{"targets": [f"{host}:{number}"], "labels": labels}],
            }
        )
    return jobs


class Prometheus(Process):
    """``prometheus`` on a free loopback port with its own temporary storage."""

    def __init__(
        self,
        workdir: Path,
        jobs: list[dict],
        rule_files: list[Path] = (),
        evaluation: str = "1s",
        alertmanager_port: int | None = None,
        retention: str = "15d",
        features: tuple[str, ...] = (),
        max_samples: int | None = None,
    ) -> None:
        self.port = free_block(1)[0]
        self.workdir = workdir
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": evaluation},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": jobs,
        }
        if alertmanager_port is not None:
            targets = [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]
            config["alerting"] = {"alertmanagers": [{"static_configs": targets}]}
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            PROMETHEUS,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--storage.tsdb.retention.time={retention}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
            *(f"--enable-feature={feature}" for feature in features),
            *([f"--query.max-samples={max_samples}"] if max_samples else []),
        ]
        super().__init__(argv, workdir, {"PATH": "/usr/bin:/bin"}, workdir / "prometheus.log")
        self.wait_http_ready(f"http://127.0.0.1:{self.port}/-/ready", timeout=60)

    def api(self, path: str, **params: str) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def scalar(self, expr: str) -> float | None:
        """The single value ``expr`` returns now, or None when it returns nothing."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr} returned {len(result)} series"
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, expr: str, predicate, timeout: float = 30) -> float:
        """Seconds until ``predicate(scalar(expr))`` held."""
        return wait_until(lambda: predicate(self.scalar(expr)), timeout=timeout, interval=0.25)

    def last_sample_times(self, selector: str) -> dict[str, float]:
        """Each target's (endpoint's) latest sample time of ``selector``, in seconds."""
        return {r["metric"]["endpoint"]: float(r["value"][1]) for r in self.query(f"timestamp({selector})")}

    def between_own_samples(self, function: str, selector: str, since: dict[str, float]) -> dict[str, float]:
        """``function`` (increase, resets) of each target's series from its sample at ``since[endpoint]``
        to its latest sample.

        Evaluated at the target's own latest sample time, over a range that starts
        exactly at its own earlier sample (ranges include their start in
        Prometheus 2.x), so ``increase()`` has nothing to extrapolate: the
        result is exactly the last value minus the first, plus any resets.
        """
        results = {}
        for endpoint, end in self.last_sample_times(selector).items():
            window_ms = round((end - since[endpoint]) * 1000)
            target = selector.replace("}", f', endpoint="{endpoint}"}}', 1)
            results[endpoint] = self.scalar(f"{function}({target}[{window_ms}ms] @ {end:.3f})")
        return results
