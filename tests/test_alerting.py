"""Alerts that reach the right person: runbooks and links, routing as code, the low-traffic guard.

The routing exists twice, as the chart's AlertmanagerConfig (for prometheus-operator)
and as the bake's chart/alerting/alertmanager.yml (for an Alertmanager without it);
amtool checks both, and one test proves they route, group and inhibit alike.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest
import yaml
from cloudcoil.models.prometheus_operator.v1alpha1 import AlertmanagerConfig

from tests.support import helm
from tests.support.alertmanager import AMTOOL, MISSING, check_config, operator_translation, routes_to
from tests.support.manifests import one
from tests.support.prometheus import PROMTOOL
from tests.support.promql import selectors

needs_amtool = pytest.mark.skipif(AMTOOL is None, reason=MISSING)
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')")

RELEASE, NAMESPACE = "orders-service", "shop"
# Series the runbooks may query besides the recorded ones: what the service exports.
EXPORTED = {
    "django_http_responses_total_by_status_view_method_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
    "django_http_requests_latency_seconds_by_view_method_count",
    "django_migrations_unapplied_total",
    "django_db_errors_total",
    "django_db_new_connection_errors_total",
    "up",
}
AMC_ON = {"alertmanagerConfig": {"enabled": True}}
SECRETS = {(NAMESPACE, f"{RELEASE}-alerting", "page-url"): "http://pager.invalid/page"} | {
    (NAMESPACE, f"{RELEASE}-alerting", "ticket-url"): "http://tickets.invalid/ticket"
}


def render(project: Path, values: dict | None = None) -> list[dict]:
    return helm.render(project / "chart", values, release=RELEASE, namespace=NAMESPACE)


def alerts(docs: list[dict]) -> dict[str, dict]:
    rule = one(docs, "PrometheusRule")
    return {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r}


def recorded(docs: list[dict]) -> set[str]:
    rule = one(docs, "PrometheusRule")
    return {r["record"] for group in rule["spec"]["groups"] for r in group["rules"] if "record" in r}


def test_the_default_runbook_address_names_nobodys_host(bake):
    """A team that forgets repository_url must not send on-call to somebody else's repository: the default
    lives under example.com, which RFC 2606 reserves, and the bake's next steps say to set it."""
    import yaml

    from hooks.post_gen_project import repository_reminder

    values = yaml.safe_load((bake() / "chart" / "values.yaml").read_text())
    base = values["prometheusRule"]["runbookBaseUrl"]
    host = urllib.parse.urlsplit(base).hostname
    assert host is not None and host.endswith(".example.com"), host
    assert "Set prometheusRule.runbookBaseUrl" in (repository_reminder(base.split("/blob/")[0]) or "")
    assert repository_reminder("https://github.com/acme/orders") is None


@pytest.mark.parametrize(
    "context",
    [{}, {"repository_url": "https://gitlab.example.com:8443/platform/team/orders-service"}],
    ids=["default-repository", "gitlab-repository"],
)
def test_every_alert_links_its_runbook_page_in_the_bake_and_the_dashboard(bake, context):
    project = bake(**context)
    repository = context.get("repository_url", f"https://git.example.com/your-team/{project.name}")
    found = alerts(render(project))
    uid = json.loads((project / "chart" / "dashboards" / "slo.json").read_text())["uid"]
    assert len(found) == 9
    for name, alert in found.items():
        runbook = urllib.parse.urlsplit(alert["annotations"]["runbook_url"])
        assert alert["annotations"]["runbook_url"] == f"{repository}/blob/main/docs/runbooks/{name}.md"
        assert (runbook.scheme, runbook.query, runbook.fragment) == ("https", "", "")
        assert (project / "docs" / "runbooks" / f"{name}.md").is_file(), f"{name} has no runbook page"
        dashboard = urllib.parse.urlsplit(alert["annotations"]["dashboard_url"])
        assert (dashboard.scheme, dashboard.netloc, dashboard.path) == ("https", "grafana.example.com", f"/d/{uid}")
        assert urllib.parse.parse_qs(dashboard.query) == {"var-namespace": [NAMESPACE], "var-job": [RELEASE]}


def test_links_follow_values(bake):
    values = {"prometheusRule": {"runbookBaseUrl": "https://wiki.example.com/run/", "grafanaUrl": "https://g.example"}}
    alert = alerts(render(bake(), values))["DjangoDatabaseErrors"]
    assert alert["annotations"]["runbook_url"] == "https://wiki.example.com/run/DjangoDatabaseErrors.md"
    assert alert["annotations"]["dashboard_url"].startswith("https://g.example/d/django-worker-slo?")


def runbook_pages(project: Path) -> dict[str, str]:
    return {path.stem: path.read_text() for path in (project / "docs" / "runbooks").glob("*.md")}


def test_runbook_queries_are_promql_over_series_that_exist_and_name_real_panels(bake):
    project = bake()
    docs = render(project)
    panels = {
        panel["title"] for panel in json.loads((project / "chart" / "dashboards" / "slo.json").read_text())["panels"]
    }
    pages = runbook_pages(project)
    assert set(pages) - {"README"} == set(alerts(docs))
    for name, text in pages.items():
        if name == "README":
            continue
        for heading in ("## What it means for users", "## Confirm it", "## First mitigations", "## When to escalate"):
            assert heading in text, f"{name}.md lacks {heading!r}"
        assert "## Error budget policy" in text
        queries = re.findall(r"```promql\n(.*?)```", text, re.S)
        assert queries, f"{name}.md shows no PromQL"
        for query in queries:
            for metric, labels in selectors(query):
                assert metric in recorded(docs) | EXPORTED, f"{name}.md queries {metric}, which nothing exports"
                assert "job" in labels, f"{name}.md: {metric} is not narrowed to the service's job"
        named = re.findall(r'Dashboard panel: "([^"]+)"', text)
        assert named and set(named) <= panels, f"{name}.md names a panel the dashboard lacks: {named}"


def test_runbook_index_lists_each_alert_with_its_severity(bake):
    project = bake()
    index = (project / "docs" / "runbooks" / "README.md").read_text()
    listed = dict(re.findall(r"^\| \[(\w+)\]\(\w+\.md\) \| (\w+) \|$", index, re.M))
    assert listed == {name: alert["labels"]["severity"] for name, alert in alerts(render(project)).items()}


def test_latency_runbook_counts_the_bucket_the_rules_count(bake):
    context = {"slo_latency_threshold_seconds": "1"}
    text = (bake(**context) / "docs" / "runbooks" / "LatencyErrorBudgetBurnFast.md").read_text()
    assert 'le="1.0"' in text


# Routing: the AlertmanagerConfig and the plain fragment.


def fragment(project: Path) -> dict:
    return yaml.safe_load((project / "chart" / "alerting" / "alertmanager.yml").read_text())


def translated(project: Path, values: dict | None = None) -> dict:
    return operator_translation(one(render(project, {**AMC_ON, **(values or {})}), "AlertmanagerConfig"), SECRETS)


def test_alertmanagerconfig_is_off_by_default_and_gated_on_the_operator_api(bake):
    project = bake()
    assert [d for d in render(project) if d["kind"] == "AlertmanagerConfig"] == []
    without_api = helm.render(project / "chart", AMC_ON, api_versions=helm.OPERATOR_APIS[:3])
    assert [d for d in without_api if d["kind"] == "AlertmanagerConfig"] == []
    notes = helm.notes(project / "chart", AMC_ON, api_versions=helm.OPERATOR_APIS[:3])
    assert "monitoring.coreos.com/v1alpha1 AlertmanagerConfig" in notes


def test_alertmanagerconfig_passes_the_operator_schema_and_keeps_secrets_out(bake):
    config = one(render(bake(), AMC_ON), "AlertmanagerConfig")
    model = AlertmanagerConfig.model_validate(config)
    assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == config
    for receiver in config["spec"]["receivers"]:
        (hook,) = receiver["webhookConfigs"]
        assert "url" not in hook and hook["urlSecret"] == {
            "name": f"{RELEASE}-alerting",
            "key": f"{receiver['name']}-url",
        }


def test_a_receiver_can_be_replaced_by_pagerduty(bake):
    pagerduty = {"pagerdutyConfigs": [{"routingKey": {"name": "pd", "key": "routing-key"}}]}
    config = one(
        render(bake(), {"alertmanagerConfig": {"enabled": True, "receivers": {"page": pagerduty}}}),
        "AlertmanagerConfig",
    )
    receivers = {r["name"]: r for r in config["spec"]["receivers"]}
    assert receivers["page"] == {"name": "page", **pagerduty}
    assert "webhookConfigs" in receivers["ticket"]
    AlertmanagerConfig.model_validate(config)


@needs_amtool
@pytest.mark.parametrize("source", ["fragment", "alertmanagerconfig"])
def test_amtool_accepts_the_routing_and_sends_pages_and_tickets_apart(bake, tmp_path, source):
    project = bake()
    config = fragment(project) if source == "fragment" else translated(project)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    checked = check_config(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    service = {"namespace": NAMESPACE, "job": RELEASE}
    page = routes_to(
        path, **service, severity="critical", slo="availability", alertname="AvailabilityErrorBudgetBurnFast"
    )
    ticket = routes_to(
        path, **service, severity="warning", slo="availability", alertname="AvailabilityErrorBudgetBurnSlow"
    )
    other = routes_to(path, namespace=NAMESPACE, job="another-service", severity="critical")
    assert [name.rsplit("/", 1)[-1].rsplit("-", 1)[-1] for name in page + ticket] == ["page", "ticket"]
    if source == "alertmanagerconfig":
        assert other == ["null"], "another service's alerts in the namespace keep the cluster's routing"


def comparable_routing(config: dict, top: dict) -> dict:
    """Grouping, timings, child routes and inhibit rules, with receiver names reduced to page/ticket
    and the operator's namespace matchers dropped."""

    def role(name: str) -> str:
        return "page" if name.endswith("page") else "ticket"

    def route(spec: dict) -> dict:
        kept = {k: v for k, v in spec.items() if k not in ("receiver", "routes", "matchers", "continue")}
        kept["receiver"] = role(spec["receiver"])
        kept["matchers"] = [m for m in spec.get("matchers", []) if not m.startswith(("namespace=", "job="))]
        kept["routes"] = [route(child) for child in spec.get("routes", [])]
        return kept

    inhibit = [
        {
            key: [m for m in value if not m.startswith("namespace=")] if key.endswith("matchers") else value
            for key, value in rule.items()
        }
        for rule in config["inhibit_rules"]
    ]
    receivers = {
        role(r["name"]): [hook["send_resolved"] for hook in r["webhook_configs"]]
        for r in config["receivers"]
        if r["name"] != "null"
    }
    return {"route": route(top), "inhibit_rules": inhibit, "send_resolved": receivers}


def test_fragment_and_alertmanagerconfig_route_group_and_inhibit_alike(bake):
    project = bake()
    plain = fragment(project)
    operator = translated(project)
    assert comparable_routing(plain, plain["route"]) == comparable_routing(operator, operator["route"]["routes"][0])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"prometheusRule": {"runbookBaseUrl": "wiki/runbooks"}}, "at '/prometheusRule/runbookBaseUrl'"),
        ({"prometheusRule": {"grafanaUrl": "https://grafana example"}}, "at '/prometheusRule/grafanaUrl'"),
        ({"prometheusRule": {"pageFor": "2 minutes"}}, "at '/prometheusRule/pageFor'"),
        ({"prometheusRule": {"pageMinimumFailuresPerHour": -1}}, "at '/prometheusRule/pageMinimumFailuresPerHour'"),
        ({"alertmanagerConfig": {"webhookSecret": "Not_A_Name"}}, "at '/alertmanagerConfig/webhookSecret'"),
        ({"alertmanagerConfig": {"receivers": {"pager": {}}}}, "additional properties 'pager' not allowed"),
    ],
    ids=[
        "relative-runbook-url",
        "grafana-url-with-space",
        "for-in-words",
        "negative-guard",
        "bad-secret-name",
        "unknown-receiver",
    ],
)
def test_bad_alerting_values_are_rejected(bake, values, message):
    with pytest.raises(helm.HelmFailed) as raised:
        render(bake(), values)
    assert message in str(raised.value)


# The low-traffic guard, for the default objective (99.9 %): what pages and what does not.

# name: (requests a minute, share failing, pages?). Evaluated at 1 h, 6 h and 12 h, every
# two minutes (three samples in the 5-minute window, as the shipped rule tests sample).
TRAFFIC = {
    "trickle-12-an-hour-3-fail": (12 / 60, 0.25, False),
    "quiet-service-failing-completely": (12 / 60, 1.0, True),
    "2-percent-at-1000-a-minute": (1000, 0.02, True),
    "0.05-percent-at-1000-a-minute": (1000, 0.0005, False),
}


def promtool_traffic_test(rules: Path, per_minute: float, failing: float, pages: bool) -> str:
    job = f'namespace="{NAMESPACE}", job="{RELEASE}", view="index", method="GET"'
    series = [
        {
            "series": f'django_http_responses_total_by_status_view_method_total{{{job}, status="{status}"}}',
            "values": f"0+{2 * per_minute * share:.6f}x360",
        }
        for status, share in (("200", 1 - failing), ("500", failing))
    ]
    fast = 'count(ALERTS{alertname="AvailabilityErrorBudgetBurnFast", alertstate="firing"}) or vector(0)'
    checks = [
        {"expr": fast, "eval_time": at, "exp_samples": [{"labels": "{}", "value": 1 if pages else 0}]}
        for at in ("1h", "6h", "12h")
    ]
    test = {
        "rule_files": [rules.name],
        "evaluation_interval": "2m",
        # The chart lists its groups in the order they read each other; promtool's own order is random.
        "group_eval_order": [group["name"] for group in yaml.safe_load(rules.read_text())["groups"]],
        "tests": [{"interval": "2m", "input_series": series, "promql_expr_test": checks}],
    }
    path = rules.parent / "traffic.test.yaml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    return path.name


def write_rules(docs: list[dict], directory: Path) -> Path:
    spec = json.loads(json.dumps(one(docs, "PrometheusRule")["spec"]))
    for group in spec["groups"]:
        group.pop("interval", None)
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@needs_promtool
@pytest.mark.parametrize(("per_minute", "failing", "pages"), TRAFFIC.values(), ids=TRAFFIC.keys())
def test_low_traffic_guard_pages_for_outages_not_for_trickles(bake, tmp_path, per_minute, failing, pages):
    rules = write_rules(render(bake()), tmp_path)
    name = promtool_traffic_test(rules, per_minute, failing, pages)
    result = subprocess.run([PROMTOOL, "test", "rules", name], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_without_the_guard_the_trickle_pages(bake, tmp_path):
    """Negative control: the guard, not the burn-rate windows, keeps the quiet night quiet."""
    rules = write_rules(render(bake(), {"prometheusRule": {"pageMinimumFailuresPerHour": 0}}), tmp_path)
    name = promtool_traffic_test(rules, *TRAFFIC["trickle-12-an-hour-3-fail"])
    result = subprocess.run([PROMTOOL, "test", "rules", name], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr
