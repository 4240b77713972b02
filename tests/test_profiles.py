"""Both metrics profiles export every series, with its labels, that the SLO rules and the dashboard select."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.support import helm
from tests.support.manifests import dashboard_configmap, one
from tests.support.promql import grafana_query, selectors

# Labels Prometheus (or prometheus-operator) attaches to every target, not the service.
TARGET_LABELS = {"namespace", "job", "pod", "service", "endpoint", "instance"}
# Series Prometheus makes itself.
PROMETHEUS_SERIES = {"up", "ALERTS"}

# The same requests against each profile, then every django_http sample with its labels and value.
# With SLOT_DIRECTORY set, the values live in a slot's files, as a sync worker's do (where the lean
# middleware folds its request families, service_runtime/worker_slots/rollup.py), and are read as its port serves them.
SAMPLES_AFTER_TRAFFIC = """
import importlib, json, os
from pathlib import Path
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
slot_directory = os.environ.get("SLOT_DIRECTORY")
if slot_directory:
    from service_runtime.worker_slots.values import keep_values_in_slot
    from service_runtime.worker_slots.slots import claim_slot
    keep_values_in_slot(claim_slot(Path(slot_directory), 1))
import django
from django.conf import settings
if slot_directory:  # as production runs: no /metrics URL reading this process' registry
    settings.METRICS_URL_EXPORTER = False
# The test settings' SQLite database, with the default (lean) database metrics, whose failed
# queries and connections DjangoDatabaseErrors reads.
assert settings.DATABASES["default"]["ENGINE"] == "service_runtime.database_metrics.backends.sqlite3"
django.setup()
from collections import Counter
from django.test import Client, override_settings
from django.test.utils import setup_test_environment
from django.urls import clear_url_caches
setup_test_environment()
answered = Counter()  # every status a client got, as a string


class CountingClient(Client):
    def request(self, **request):
        response = super().request(**request)
        answered[str(response.status_code)] += 1
        return response


with override_settings(FAULT_INJECTION_VIEWS=True):
    import config.urls
    clear_url_caches()
    importlib.reload(config.urls)
    client = CountingClient(raise_request_exception=False)
    for _ in range(3):
        assert client.get("/").status_code == 200
    assert client.get("/", secure=True).status_code == 200
    assert client.post("/").status_code in (200, 405)
    assert client.get("/__fault__/status/503").status_code == 503
    assert client.get("/__fault__/raise").status_code == 500  # an exception out of the view
    for _ in range(2):  # HEAD and OPTIONS keep their own method label, as in full
        assert client.head("/").status_code == 200
    assert client.options("/").status_code == 200
    for made_up in ("M123", "FOO", "M123"):  # any client can send any method
        client.generic(made_up, "/")
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/admin/login/").status_code == 200
    # Answered by middlewares around the view's: the metrics count what the client got.
    assert client.get("/admin").status_code == 301  # CommonMiddleware's APPEND_SLASH, of a 404
    assert client.get("/", HTTP_HOST="elsewhere.example").status_code == 400  # DisallowedHost
    with override_settings(SECURE_SSL_REDIRECT=True):  # production's default, behind no proxy
        assert CountingClient(raise_request_exception=False).get("/").status_code == 301
    Client().get("/readyz")  # sets django_migrations_unapplied_total; a probe is never counted
    # Behind a proxy, as production runs: the transport label follows the proxy's header.
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        behind_proxy = CountingClient(raise_request_exception=False)
        for forwarded in ("https", "http", "https, http", " https ", "HTTPS"):
            assert behind_proxy.get("/", HTTP_X_FORWARDED_PROTO=forwarded).status_code == 200
        assert behind_proxy.get("/", secure=True).status_code == 200
from django.db import DatabaseError, connection
try:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
except DatabaseError:
    pass
from django.db import connections
unreachable = connections.create_connection("default")
unreachable.settings_dict = {**unreachable.settings_dict, "NAME": "/no-such-directory/db.sqlite3"}
try:
    unreachable.ensure_connection()
except DatabaseError:
    pass
if slot_directory:
    from prometheus_client.multiprocess import MultiProcessCollector
    from service_runtime.worker_slots.collectors import SlotCollector, slot_files
    files = slot_files(Path(slot_directory))
    assert "django_http_requests_folded" in {m.name for m in MultiProcessCollector.merge(files)}, "not folded"
    metrics = list(SlotCollector(Path(slot_directory)).collect())
else:
    from prometheus_client import REGISTRY
    metrics = list(REGISTRY.collect())
print(json.dumps({"answered": answered, "samples": [
    [s.name, sorted(s.labels.items()), s.value]
    for m in metrics for s in m.samples
    if s.name.startswith(("django_http", "django_db_", "django_migrations_unapplied"))
]}))
"""
# What the request panels of the community Django dashboards (grafana.com 17613 / 17616 / 17617,
# generated by django-mixin) select. Body sizes and template names are left to `full`.
COMMUNITY_REQUEST_SERIES = {
    "django_http_requests_total_by_view_transport_method_total",
    "django_http_responses_total_by_status_view_method_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
}


def traffic(project, venv, slot_directory: Path | None = None) -> tuple[Counter, dict[str, dict[tuple, float]]]:
    """The statuses the clients got, and the samples the same requests left."""
    env = {**os.environ, "SLOT_DIRECTORY": str(slot_directory or "")}
    result = subprocess.run(
        [venv / "bin/python", "-c", SAMPLES_AFTER_TRAFFIC], cwd=project, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.splitlines()[-1])
    samples: dict[str, dict[tuple, float]] = {}
    for name, labels, value in printed["samples"]:
        samples.setdefault(name, {})[tuple(map(tuple, labels))] = value
    return Counter(printed["answered"]), samples


def samples_after_traffic(project, venv, slot_directory: Path | None = None) -> dict[str, dict[tuple, float]]:
    return traffic(project, venv, slot_directory)[1]


@pytest.mark.parametrize("profile", ["lean", "full"])
def test_profile_exports_every_series_the_rules_and_dashboard_select(bake, baked_venv, profile):
    project = bake(metrics_profile=profile)
    exported = {
        name: {label for labels in series for label, _ in labels}
        for name, series in samples_after_traffic(project, baked_venv).items()
    }

    docs = helm.render(project / "chart", {})
    rules = [rule for group in one(docs, "PrometheusRule")["spec"]["groups"] for rule in group["rules"]]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    dashboard = json.loads(dashboard_configmap(docs)["data"]["slo.json"])
    expressions = [rule["expr"] for rule in rules] + [
        grafana_query(target["expr"], "ns", "svc") for panel in dashboard["panels"] for target in panel["targets"]
    ]

    # Served by every metrics port beside the Django metrics (the bake's tests/test_build_info.py).
    port_series = {f"{project.name}_build_info"}
    needed: dict[str, set[str]] = {}
    for expression in expressions:
        for name, labels in selectors(expression):
            if name not in recorded | PROMETHEUS_SERIES | port_series:
                needed.setdefault(name, set()).update(labels - TARGET_LABELS)
    assert set(needed) == {
        "django_http_responses_total_by_status_view_method_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",  # +Inf counts every request
        "django_migrations_unapplied_total",  # DjangoMigrationsUnapplied; set by /readyz
        # DjangoDatabaseErrors; the lean database engine (METRICS_DATABASE), on by default.
        "django_db_errors_total",
        "django_db_new_connection_errors_total",
    }
    for name, labels in needed.items():
        assert name in exported, f"{profile} does not export {name}"
        assert labels <= exported[name], f"{name}: {profile} lacks labels {labels - exported[name]}"


@pytest.mark.parametrize("profile", ["lean", "full"])
def test_every_answer_is_counted_with_the_status_the_client_got(bake, baked_venv, profile):
    """Middlewares around the view's answer too (a redirect to the slashed URL, a refused Host, a
    redirect to HTTPS): each is counted as the status the client got, not the view's, or not at all."""
    answered, samples = traffic(bake(metrics_profile=profile), baked_venv)
    counted: Counter = Counter()
    for labels, value in samples["django_http_responses_total_by_status_view_method_total"].items():
        counted[dict(labels)["status"]] += int(value)
    assert answered["301"] == 2 and answered["400"] == 1, answered
    assert counted == answered


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"}


@pytest.mark.parametrize("profile", ["lean", "full"])
def test_no_client_makes_series_and_an_exception_is_timed_once(bake, baked_venv, profile):
    """Made-up methods fold into one label, as the SLO rules expect, and a view's exception is one
    latency observation (django-prometheus' own middleware times it twice)."""
    samples = samples_after_traffic(bake(metrics_profile=profile), baked_venv)
    methods = {
        dict(labels)["method"]
        for name, series in samples.items()
        if name.startswith("django_http")
        for labels in series
        if "method" in dict(labels)
    }
    assert "<invalid method>" in methods and methods <= KNOWN_METHODS | {"<invalid method>"}, methods
    latency = samples["django_http_requests_latency_seconds_by_view_method_count"]
    assert sum(value for labels, value in latency.items() if dict(labels)["view"] == "fault-raise") == 1


def test_lean_exports_far_fewer_series_than_full(bake, baked_venv):
    counts = {
        profile: len(samples_after_traffic(bake(metrics_profile=profile), baked_venv)) for profile in ("lean", "full")
    }
    assert counts["lean"] < counts["full"] / 2, counts


def test_lean_exports_what_full_exports_for_every_name_they_share(bake, baked_venv):
    """Same requests, same series: a dashboard panel reads identical label values from either profile."""
    lean = samples_after_traffic(bake(metrics_profile="lean"), baked_venv)
    full = samples_after_traffic(bake(metrics_profile="full"), baked_venv)
    assert COMMUNITY_REQUEST_SERIES <= set(lean), COMMUNITY_REQUEST_SERIES - set(lean)
    for name in set(lean) & set(full):
        assert set(lean[name]) == set(full[name]), name
        if name.endswith(("_total", "_count")):
            assert lean[name] == full[name], name
    by_view = lean["django_http_requests_total_by_view_transport_method_total"]
    # secure=True, then behind the proxy "https", "https, http", " https " and secure=True ("HTTPS" is not)
    assert by_view[(("method", "GET"), ("transport", "https"), ("view", "index"))] == 5
    assert not [labels for labels in by_view if ("view", "<unnamed view>") in labels], "a 404 reached no view"


def test_lean_in_a_sync_workers_slot_exports_what_lean_in_memory_exports(bake, baked_venv, tmp_path):
    """A sync worker writes lean's request families folded into one histogram; its port serves
    exactly the request series, and counts, that the same requests leave in memory (but for the
    ``_created`` samples, which prometheus_client serves from memory only)."""
    project = bake(metrics_profile="lean")

    def requests(samples: dict[str, dict[tuple, float]]) -> dict[str, dict[tuple, float]]:
        return {name: series for name, series in samples.items() if name.startswith("django_http")}

    in_memory = {
        name: series
        for name, series in requests(samples_after_traffic(project, baked_venv)).items()
        if not name.endswith("_created")
    }
    in_slot = requests(samples_after_traffic(project, baked_venv, slot_directory=tmp_path))
    assert not [name for name in in_slot if name.startswith("django_http_requests_folded")], "served folded"
    assert set(in_slot) == set(in_memory), set(in_slot) ^ set(in_memory)
    for name in in_memory:
        assert set(in_slot[name]) == set(in_memory[name]), name
        if name.endswith(("_total", "_count")):
            assert in_slot[name] == in_memory[name], name
