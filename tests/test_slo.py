"""SLO rules, alerts and the error-budget dashboard of the baked chart."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import promql_parser
import pytest
import yaml
from cloudcoil.models.prometheus_operator.v1 import PrometheusRule

from tests.support import helm
from tests.support.manifests import dashboard_configmap, one
from tests.support.prometheus import PROMTOOL
from tests.support.promql import grafana_query, is_recorded, ranges

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')")

OBJECTIVES = {
    "default-99.9-99": {},
    "strict-99.99-99.9-100ms-28d": {
        "slo_availability_target": "99.99",
        "slo_latency_target": "99.9",
        "slo_latency_threshold_seconds": "0.1",
        "slo_period_days": "28",
    },
    "lenient-95-95-1s-7d": {
        "slo_availability_target": "95",
        "slo_latency_target": "95",
        "slo_latency_threshold_seconds": "1",
        "slo_period_days": "7",
    },
}
# Series the dashboard may read: what django-prometheus exports, what Prometheus adds, and what the rules record.
EXPORTED = {
    "django_http_responses_total_by_status_view_method_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
    "up",
}


def prometheus_rule(project: Path, values: dict | None = None) -> dict:
    return one(
        helm.render(project / "chart", values, release=project.name.replace("_", "-"), namespace="slo"),
        "PrometheusRule",
    )


def write_rules(rule: dict, directory: Path) -> Path:
    spec = json.loads(json.dumps(rule["spec"]))
    for group in spec["groups"]:
        group.pop("interval", None)  # each promtool unit test sets its own cadence
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@needs_promtool
@pytest.mark.parametrize("context", OBJECTIVES.values(), ids=OBJECTIVES.keys())
def test_rules_pass_promtool_check(bake, tmp_path, context):
    rules = write_rules(prometheus_rule(bake(**context)), tmp_path)
    result = subprocess.run([PROMTOOL, "check", "rules", rules], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"SUCCESS: \d+ rules found", result.stdout)


@pytest.mark.parametrize("context", OBJECTIVES.values(), ids=OBJECTIVES.keys())
def test_rules_carry_the_baked_objectives_and_threshold(bake, context):
    project = bake(**context)
    availability = context.get("slo_availability_target", "99.9")
    threshold = float(context.get("slo_latency_threshold_seconds", "0.3"))
    rule = prometheus_rule(project)
    text = json.dumps(rule)
    assert f"(1 - {availability} / 100)" in text
    assert f'le=\\"{repr(threshold)}\\"' in text  # the Python client's spelling of the bucket bound
    assert f"slo:sli_error:ratio_rate{context.get('slo_period_days', '30')}d" in text
    windows = {rule["record"] for group in rule["spec"]["groups"] for rule in group["rules"] if "record" in rule}
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        assert f"slo:sli_error:ratio_rate{window}" in windows


def test_prometheusrule_passes_the_prometheus_operator_schema(bake):
    rule = prometheus_rule(bake())
    model = PrometheusRule.model_validate(rule)
    assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == rule


def test_alerts_carry_severity_slo_and_a_summary(bake):
    alerts = [r for g in prometheus_rule(bake())["spec"]["groups"] for r in g["rules"] if "alert" in r]
    names = {alert["alert"]: alert for alert in alerts}
    assert set(names) == {
        "AvailabilityErrorBudgetBurnFast",
        "AvailabilityErrorBudgetBurnSlow",
        "LatencyErrorBudgetBurnFast",
        "LatencyErrorBudgetBurnSlow",
        "MetricsTargetsMissing",
        "DjangoMigrationsUnapplied",
        "DjangoDatabaseErrors",
        "AvailabilityErrorBudgetUnderspent",
        "LatencyErrorBudgetUnderspent",
    }
    for name, alert in names.items():
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        if "ErrorBudget" in name:
            assert alert["labels"]["slo"] in name.lower()
    assert names["AvailabilityErrorBudgetBurnFast"]["labels"]["severity"] == "critical"
    assert names["AvailabilityErrorBudgetBurnSlow"]["labels"]["severity"] == "warning"
    assert "< 4" in names["MetricsTargetsMissing"]["expr"], "compares targets per pod with WEB_CONCURRENCY"


def test_rules_follow_values_and_can_be_disabled(bake):
    project = bake()
    rule = prometheus_rule(project, {"prometheusRule": {"labels": {"release": "kps"}, "interval": "1m"}})
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert rule["spec"]["groups"][0]["interval"] == "1m"
    docs = helm.render(project / "chart", {"prometheusRule": {"enabled": False}, "dashboard": {"enabled": False}})
    assert {doc["kind"] for doc in docs} >= {"Deployment"}
    assert [doc for doc in docs if doc["kind"] == "PrometheusRule"] == []
    assert [doc for doc in docs if doc["metadata"]["name"].endswith("-dashboard")] == []


@needs_promtool
def test_shipped_unit_tests_are_specific_to_the_baked_objectives(bake, tmp_path):
    """Negative control: the same promtool tests fail against rules for another objective."""
    project = bake()
    write_rules(prometheus_rule(project, {"slo": {"availabilityObjective": 99.99}}), tmp_path)
    # Its first scenario (a steady 20x-budget error rate pages) is enough to tell the objectives apart.
    unit_test = yaml.safe_load((project / "chart" / "rule-tests" / "slo-alerts.test.yaml").read_text())
    unit_test["tests"] = unit_test["tests"][:1]
    (tmp_path / "slo-alerts.test.yaml").write_text(yaml.safe_dump(unit_test, sort_keys=False))
    result = subprocess.run(
        [PROMTOOL, "test", "rules", "slo-alerts.test.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def dashboard_of(project: Path) -> tuple[dict, dict]:
    configmap = dashboard_configmap(helm.render(project / "chart", {}))
    return configmap, json.loads(configmap["data"]["slo.json"])


def dashboard_queries(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def as_promql(query: str) -> str:
    """A Grafana query with its variables filled in, as Grafana sends it."""
    return grafana_query(query, "slo", "orders-service")


def test_dashboard_ships_as_a_configmap_grafana_picks_up(bake):
    project = bake()
    configmap, dashboard = dashboard_of(project)
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard == json.loads((project / "chart" / "dashboards" / "slo.json").read_text())
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("budget remaining", "burn rate", "sli", "request rate", "errors", "latency", "targets up per pod"):
        assert topic in titles


def test_every_dashboard_query_is_promql_over_series_that_exist(bake):
    project = bake()
    _, dashboard = dashboard_of(project)
    recorded = {r["record"] for g in prometheus_rule(project)["spec"]["groups"] for r in g["rules"] if "record" in r}
    queries = dashboard_queries(dashboard)
    assert len(queries) >= 10
    for query in queries:
        promql_parser.parse(as_promql(query))
        for name in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", query):
            assert name in recorded | EXPORTED, f"{name} in {query!r} is neither recorded nor exported"
        # Over a week's range a panel reading raw series reads every target's samples of the week.
        raw = [name for name, _, _ in ranges(as_promql(query)) if not is_recorded(name)]
        assert not raw, f"{query!r} reads ranges of the raw series {raw}: read a recorded rate"


def test_promql_parser_rejects_what_prometheus_would():
    with pytest.raises(ValueError):
        promql_parser.parse(as_promql('sum(rate(up{job="$job"}[$__rate_interval])'))


# Rule shapes whose ranges differ: the default, the longest and shortest periods, one port a pod.
RULE_SHAPES = {
    "default": ({}, {}),
    "period-90-days": ({}, {"slo": {"periodDays": 90}}),
    "period-7-days-1s-threshold": ({"slo_period_days": "7", "slo_latency_threshold_seconds": "1"}, {}),
    "aggregated": ({"metrics_mode": "aggregated"}, {}),
    "rule-interval-5m": ({}, {"prometheusRule": {"interval": "5m"}}),
}
RAW_RANGE_LIMIT = 600  # seconds: what a rule may read of a raw series


@pytest.mark.parametrize(("context", "values"), RULE_SHAPES.values(), ids=RULE_SHAPES.keys())
def test_no_rule_reads_raw_series_over_more_than_ten_minutes(bake, context, values):
    """Raw series cost targets x samples in the range: only the 5-minute rates read them, and every
    longer window reads what those record, so no rule's cost grows with a window over raw series."""
    groups = prometheus_rule(bake(**context), values)["spec"]["groups"]
    raw_readers = set()
    for group in groups:
        for rule in group["rules"]:
            for name, seconds, in_subquery in ranges(rule["expr"]):
                where = f"{rule.get('record') or rule.get('alert')} in {group['name']}"
                if is_recorded(name):
                    continue
                assert not in_subquery, f"{where}: a subquery over the raw series {name}"
                assert seconds <= RAW_RANGE_LIMIT, f"{where}: reads {seconds:.0f} s of the raw series {name}"
                if name.startswith("django_http_"):
                    raw_readers.add(group["name"].removeprefix(groups[0]["name"].removesuffix("sli-rates")))
    expected = {"sli-rates", "dashboard"}
    assert raw_readers == expected, f"only the {expected} groups read the request series, not {raw_readers}"


def test_the_range_check_sees_long_raw_ranges_and_subqueries():
    """The walker the test above relies on finds what it must refuse."""
    found = ranges('sum_over_time(rate(x_total{a="b"}[5m])[1h:1m]) / rate(y_total[30d]) + sum_over_time(a:b:c[3d])')
    assert ("x_total", 300, True) in found and ("y_total", 2592000, False) in found
    assert ("a:b:c", 259200, False) in found and is_recorded("a:b:c") and not is_recorded("y_total")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"env": {"config": {"FAULT_INJECTION_VIEWS": "true"}}}, "invalid propertyName 'FAULT_INJECTION_VIEWS'"),
        (
            {"slo": {"availabilityObjective": 100}},
            "at '/slo/availabilityObjective': exclusiveMaximum: got 100, want 100",
        ),
        ({"slo": {"latencyObjective": 90}}, "at '/slo/latencyObjective': minimum: got 90, want 95"),
        ({"slo": {"periodDays": 5}}, "at '/slo/periodDays': minimum: got 5, want 7"),
        ({"env": {"config": {"SLO_LATENCY_THRESHOLD_SECONDS": 0}}}, "SLO_LATENCY_THRESHOLD_SECONDS': minimum: got 0"),
        (
            {"prometheusRule": {"interval": "5m1s"}},
            "prometheusRule.interval=5m1s is longer than the 5 minutes each recorded rate covers",
        ),
        (
            {"prometheusRule": {"dashboardInterval": "10m"}},
            "prometheusRule.dashboardInterval=10m is longer than the 5 minutes each recorded rate covers",
        ),
    ],
    ids=[
        "fault-injection",
        "objective-100",
        "objective-90",
        "period-5-days",
        "threshold-0",
        "rule-interval-over-5m",
        "dashboard-interval-over-5m",
    ],
)
def test_bad_slo_values_are_rejected(bake, values, message):
    with pytest.raises(helm.HelmFailed) as raised:
        helm.render(bake() / "chart", values)
    assert message in str(raised.value)
