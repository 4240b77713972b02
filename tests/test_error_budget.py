"""The chart's side of the error budget deciding: drills refused or carried, the release's version, the panel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import promql_parser
import pytest
import yaml

from tests.support import helm
from tests.support.manifests import dashboard_configmap, env_configmap, one
from tests.support.promql import grafana_query, selectors

FUTURE = "2999-01-01T00:00:00Z"

REFUSED = {
    "ratio-without-end": (
        {"DOWNTIME_DRILL_RATIO": 0.05},
        "env.config.DOWNTIME_DRILL_RATIO=0.05 needs env.config.DOWNTIME_DRILL_UNTIL",
    ),
    "end-in-the-past": (
        {"DOWNTIME_DRILL_RATIO": 0.05, "DOWNTIME_DRILL_UNTIL": "2020-01-01T00:00:00Z"},
        "env.config.DOWNTIME_DRILL_UNTIL=2020-01-01T00:00:00Z is in the past",
    ),
    "above-the-ceiling": (
        {"DOWNTIME_DRILL_RATIO": 0.5, "DOWNTIME_DRILL_UNTIL": FUTURE},
        "at '/env/config/DOWNTIME_DRILL_RATIO': maximum: got 0.5, want 0.1",
    ),
    "end-without-seconds": (
        {"DOWNTIME_DRILL_RATIO": 0.05, "DOWNTIME_DRILL_UNTIL": "2999-01-01T00:00Z"},
        "at '/env/config/DOWNTIME_DRILL_UNTIL': '2999-01-01T00:00Z' does not match pattern",
    ),
    "end-without-zone": (
        {"DOWNTIME_DRILL_RATIO": 0.05, "DOWNTIME_DRILL_UNTIL": "2999-01-01T00:00:00"},
        "at '/env/config/DOWNTIME_DRILL_UNTIL': '2999-01-01T00:00:00' does not match pattern",
    ),
    "end-centuries-away": (
        {"DOWNTIME_DRILL_RATIO": 0.05, "DOWNTIME_DRILL_UNTIL": FUTURE},
        f"env.config.DOWNTIME_DRILL_UNTIL={FUTURE} is more than 24 hours away",
    ),
}


@pytest.mark.parametrize(("config", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_helm_refuses_a_drill_that_could_not_run_as_written(bake, config, message):
    with pytest.raises(helm.HelmFailed) as raised:
        helm.render(bake() / "chart", {"env": {"config": config}})
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "spelling", ["%Y-%m-%dT%H:%M:%S.5+02:00", "%Y-%m-%dt%H:%M:%Sz"], ids=["fraction-and-offset", "lowercase-t-and-z"]
)
def test_a_drill_reaches_the_pods_environment(bake, spelling):
    """An end within a day, in RFC 3339's spellings; the chart's bound is service_runtime/error_budget/drill.py's."""
    soon = datetime.now(UTC) + timedelta(hours=23)
    until = (soon.astimezone(timezone(timedelta(hours=2))) if "+02" in spelling else soon).strftime(spelling)
    drill = {"DOWNTIME_DRILL_RATIO": 0.05, "DOWNTIME_DRILL_UNTIL": until}
    data = env_configmap(helm.render(bake() / "chart", {"env": {"config": drill}}))["data"]
    assert (data["DOWNTIME_DRILL_RATIO"], data["DOWNTIME_DRILL_UNTIL"]) == ("0.05", until)


@pytest.mark.parametrize(
    ("values", "version"),
    [
        ({}, None),
        ({"image": {"tag": "1.4.2"}}, "1.4.2"),
        ({"env": {"config": {"SERVICE_VERSION": "2.0.0-rc1"}}}, "2.0.0-rc1"),
    ],
    ids=["app-version", "image-tag", "explicit"],
)
def test_the_release_version_for_build_info(bake, values, version):
    project = bake()
    app_version = yaml.safe_load((project / "chart" / "Chart.yaml").read_text())["appVersion"]
    data = env_configmap(helm.render(project / "chart", values))["data"]
    assert data["SERVICE_VERSION"] == (version or str(app_version))


def test_the_release_annotation_and_panel_read_recorded_series(bake):
    project = bake()
    docs = helm.render(project / "chart", {})
    recorded = {r["record"] for g in one(docs, "PrometheusRule")["spec"]["groups"] for r in g["rules"] if "record" in r}
    dashboard = json.loads(dashboard_configmap(docs)["data"]["slo.json"])
    (annotation,) = dashboard["annotations"]["list"]
    (panel,) = [p for p in dashboard["panels"] if p["title"] == "Error budget spent by release"]
    for query in (annotation["expr"], panel["targets"][0]["expr"]):
        promql_parser.parse(grafana_query(query, "ns", "svc"))
        assert {name for name, _ in selectors(grafana_query(query, "ns", "svc"))} <= recorded
