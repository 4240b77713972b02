"""Both metrics profiles export every series, with its labels, that the SLO rules and the dashboard select."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support import helm
from tests.support.manifests import dashboard_configmap, one
from tests.support.promql import selectors

# Labels Prometheus (or prometheus-operator) attaches to every target, not the service.
TARGET_LABELS = {"namespace", "job", "pod", "service", "endpoint", "instance"}
# Series Prometheus makes itself.
PROMETHEUS_SERIES = {"up", "ALERTS"}

EXPORT_AFTER_TRAFFIC = """
import importlib, json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
import django
django.setup()
from django.test import Client, override_settings
from django.test.utils import setup_test_environment
from django.urls import clear_url_caches
setup_test_environment()
with override_settings(FAULT_INJECTION_VIEWS=True):
    import config.urls
    clear_url_caches()
    importlib.reload(config.urls)
    client = Client()
    assert client.get("/").status_code == 200
    assert client.get("/__fault__/status/503").status_code == 503
from prometheus_client import REGISTRY
print(json.dumps({s.name: sorted(s.labels) for m in REGISTRY.collect() for s in m.samples}))
"""


def grafana_to_promql(query: str) -> str:
    return query.replace("$namespace", "ns").replace("$job", "svc").replace("$__rate_interval", "5m")


@pytest.mark.parametrize("profile", ["lean", "full"])
def test_profile_exports_every_series_the_rules_and_dashboard_select(bake, baked_venv, profile):
    project = bake(metrics_profile=profile)
    result = subprocess.run(
        [baked_venv / "bin/python", "-c", EXPORT_AFTER_TRAFFIC], cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    exported = {name: set(labels) for name, labels in json.loads(result.stdout.splitlines()[-1]).items()}

    docs = helm.render(project / "chart", {})
    rules = [rule for group in one(docs, "PrometheusRule")["spec"]["groups"] for rule in group["rules"]]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    dashboard = json.loads(dashboard_configmap(docs)["data"]["slo.json"])
    expressions = [rule["expr"] for rule in rules] + [
        grafana_to_promql(target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]
    ]

    needed: dict[str, set[str]] = {}
    for expression in expressions:
        for name, labels in selectors(expression):
            if name not in recorded | PROMETHEUS_SERIES:
                needed.setdefault(name, set()).update(labels - TARGET_LABELS)
    assert set(needed) == {
        "django_http_responses_total_by_status_view_method_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",
        "django_http_requests_latency_seconds_by_view_method_count",
    }
    for name, labels in needed.items():
        assert name in exported, f"{profile} does not export {name}"
        assert labels <= exported[name], f"{name}: {profile} lacks labels {labels - exported[name]}"


def test_lean_exports_far_fewer_series_than_full(bake, baked_venv):
    counts = {}
    for profile in ("lean", "full"):
        result = subprocess.run(
            [baked_venv / "bin/python", "-c", EXPORT_AFTER_TRAFFIC],
            cwd=bake(metrics_profile=profile),
            capture_output=True,
            text=True,
        )
        counts[profile] = len(
            [name for name in json.loads(result.stdout.splitlines()[-1]) if name.startswith("django_http")]
        )
    assert counts["lean"] < counts["full"] / 2, counts
