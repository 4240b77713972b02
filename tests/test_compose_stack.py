"""The baked local stack (compose.yaml), brought up for real: every worker scraped, the SLO rules
recording, a failing service paging the local sink, and nothing left once it is down."""

from __future__ import annotations

import os
import shutil
import time
import urllib.error
import urllib.request

import pytest
import yaml

from tests.support import helm
from tests.support import stack as compose_stack
from tests.support.manifests import app_container, one
from tests.support.waiting import wait_until

SECRET_KEY = "stack-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "stack-test-password"


def get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0  # not listening yet


@pytest.fixture
def copied(default_project, tmp_path):
    project = tmp_path / default_project.name
    shutil.copytree(default_project, project)
    return project


def test_a_stack_started_without_its_env_values_names_the_missing_one(copied, tmp_path):
    reason = compose_stack.unavailable()
    if reason:
        pytest.skip(reason)
    stack = compose_stack.Stack(copied, f"template-stack-env-{os.getpid()}", tmp_path)
    (copied / ".env").write_text(f"DJANGO_SECRET_KEY={SECRET_KEY}\n")  # no POSTGRES_PASSWORD
    result = stack.compose("config", timeout=60)
    assert result.returncode != 0
    last = (result.stdout + result.stderr).strip().splitlines()[-1]
    assert "POSTGRES_PASSWORD" in last and "copy .env.example to .env" in last, last
    assert SECRET_KEY not in result.stdout + result.stderr


def test_the_example_env_file_names_every_value_compose_requires(default_project):
    example = (default_project / ".env.example").read_text()
    required = set()
    for line in (default_project / "compose.yaml").read_text().splitlines():
        for part in line.split("${")[1:]:
            name, _, rest = part.partition(":")
            if rest.startswith("?"):
                required.add(name)
    assert required == {"DJANGO_SECRET_KEY", "POSTGRES_PASSWORD"}
    assert all(f"\n{name}=" in "\n" + example for name in required)


@pytest.mark.parametrize(
    "context",
    [{}, {"metrics_mode": "aggregated"}, {"web_concurrency": "2", "metrics_start_port": "9300"}],
    ids=["per_worker", "aggregated", "two-workers-from-9300"],
)
def test_the_stacks_prometheus_scrapes_the_ports_the_chart_scrapes(bake, context):
    """One set of answers, two files: compose/prometheus.yml's targets are the chart's metrics ports,
    under the job and namespace its rules select."""
    project = bake(**context)
    config = yaml.safe_load((project / "compose" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    (targets,) = job["static_configs"]
    ports = sorted(int(target.rpartition(":")[2]) for target in targets["targets"])
    docs = helm.render(project / "chart", release=project.name.replace("_", "-"), namespace="local")
    chart_ports = sorted(p["containerPort"] for p in app_container(docs)["ports"] if p["name"].startswith("metrics"))
    assert ports == chart_ports
    assert {target.rpartition(":")[0] for target in targets["targets"]} == {"web"}
    assert job["job_name"] == one(docs, "Service")["metadata"]["name"]
    assert targets["labels"] == {"namespace": "local", "pod": "web"}


@pytest.mark.e2e
@pytest.mark.image
def test_the_stack_scrapes_every_worker_records_the_slos_pages_and_leaves_nothing(copied, tmp_path, report):
    reason = compose_stack.unavailable()
    if reason:
        pytest.skip(reason)
    stack = compose_stack.Stack(copied, f"template-stack-{os.getpid()}", tmp_path)
    stack.write_env_file(SECRET_KEY, PASSWORD)
    stack.prepare_images("3.11", tmp_path)
    started = time.monotonic()
    try:
        up = stack.compose("up", "--detach")
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        wait_until(lambda: get(stack.http_port, "/readyz") == 200, timeout=120, interval=1)
        workers = 4
        wait_until(
            lambda: [t["health"] for t in stack.prometheus("/api/v1/targets")["activeTargets"]] == ["up"] * workers,
            timeout=60,
            interval=1,
        )
        report(f"stack up, every worker's target up, {time.monotonic() - started:.0f}s after `up`")
        failing = time.monotonic()

        def paged() -> bool:
            for _ in range(20):  # failures spread over scrapes: a burst inside one would be one sample
                assert get(stack.http_port, "/__fault__/status/500") == 500
                assert get(stack.http_port, "/") == 200
            return "notification to" in stack.logs("notifications")

        wait_until(paged, timeout=180, interval=0.5)
        report(f"page at the local sink {time.monotonic() - failing:.0f}s after the first failure")
        notification = [line for line in stack.logs("notifications").splitlines() if "notification to" in line][0]
        chart = copied.name.replace("_", "-")
        assert f"notification to {chart}-page: firing AvailabilityErrorBudgetBurnFast severity=critical" in notification
        ratio = stack.prometheus("/api/v1/query", query='slo:sli_error:ratio_rate5m{slo="availability"}')["result"]
        assert float(ratio[0]["value"][1]) > 0.1, ratio
        assert SECRET_KEY not in stack.logs("web") and PASSWORD not in stack.logs("web")
    finally:
        down = stack.down()
    assert down.returncode == 0, down.stderr[-2000:]
    assert stack.resources() == {}
    report(f"up to down {time.monotonic() - started:.0f}s")
