"""The error budget deciding, against real Prometheus servers.

The deploy gate and the report read a Prometheus holding a month of known
history (backfilled with promtool) and the chart's rules; two releases of one
service share a Prometheus job and the rules say which spent the budget; a
downtime drill spends real budget, and one past its end spends none.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
import yaml

from tests.support import helm
from tests.support.backfill import STEP, History, Pod, write_blocks
from tests.support.deployment import FAULTS_SETTINGS
from tests.support.interfaces import INTERFACES
from tests.support.load import burst
from tests.support.manifests import dashboard_configmap, one
from tests.support.ports import free_block
from tests.support.prometheus import PROMETHEUS, Prometheus
from tests.support.promql import grafana_query

pytestmark = pytest.mark.e2e

DAY = 86400
JOB = "orders-service"
# The shortest period the chart allows, so the history to backfill is a week, not a month.
PERIOD_DAYS = 7
PER_STEP = 1000
# Prometheus' --query.max-samples for the history. Prometheus 2.42 releases a series' samples once a
# range function has read them, so the limit bounds the densest single series read (and the vectors a
# query builds), not the total: the records here hold a sample every 30 minutes (at most 384 in the
# period), the raw counters one every 5 minutes for their last 6 hours (about 445 over the default
# period). At fleet scale the raw form is stopped by the size of its vectors and the query timeout.
MAX_SAMPLES = 420
# namespace: (share of requests failing, budget left about, decision, exit code)
BUDGETS = {
    "plenty": (0.0002, 0.8, "features may ship", 0),
    "little": (0.0009, 0.1, "features may ship one release at a time", 0),
    "overspent": (None, -0.2, "fixes only", 1),
}


def histories(end: float) -> list[History]:
    found = []
    for namespace, (failing, _, _, _) in BUDGETS.items():
        if failing is not None:
            pods = [Pod("pod-a", "1.0", end - (PERIOD_DAYS + 1) * DAY, end, PER_STEP, failing)]
            found.append(History(namespace, JOB, pods))
    # Release 1.0 serves all week cleanly; 2.0, a canary beside it for the last three days, fails
    # 0.4 % of its requests: 1.2 budgets over the week, all of it spent by 2.0.
    pods = [
        Pod("pod-a", "1.0", end - (PERIOD_DAYS + 1) * DAY, end, PER_STEP, 0.0),
        Pod("pod-b", "2.0", end - 3 * DAY, end, PER_STEP, 0.004),
    ]
    incident = ("AvailabilityErrorBudgetBurnFast", "availability", end - 2 * DAY, end - 2 * DAY + 2 * 3600)
    found.append(History("overspent", JOB, pods, alerts=[incident]))
    return found


def rules_without_the_raw_group(rule: dict) -> dict:
    """The chart's rules less the group that records the 5-minute rates: the history brings those."""
    groups = [group for group in rule["spec"]["groups"] if not group["name"].endswith("-sli-rates")]
    assert len(groups) == len(rule["spec"]["groups"]) - 1
    return {"groups": groups}


@pytest.fixture(scope="module")
def history(served_project, tmp_path_factory):
    """A Prometheus with a week of the three services' history, raw and recorded, and the chart's rules."""
    if PROMETHEUS is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus'; .ci/run installs it)")
    workdir = tmp_path_factory.mktemp("history")
    end = math.floor(time.time() / STEP) * STEP - STEP
    known = histories(end)
    write_blocks(known, served_project.name, workdir / "blocks", records=True)
    shutil.copytree(workdir / "blocks", workdir / "tsdb")
    rule_files = []
    values = {
        "prometheusRule": {"interval": "1s", "periodInterval": "1s", "dashboardInterval": "1s"},
        "slo": {"periodDays": PERIOD_DAYS},
    }
    for namespace in BUDGETS:
        rule = one(helm.render(served_project / "chart", values, release=JOB, namespace=namespace), "PrometheusRule")
        path = workdir / f"rules-{namespace}.yaml"
        path.write_text(yaml.safe_dump(rules_without_the_raw_group(rule), sort_keys=False))
        rule_files.append(path)
    # Below what the raw form reads over the week, above what the records need: the commands must
    # answer from the records where the raw form is refused.
    prometheus = Prometheus(workdir, [], rule_files, retention="30d", max_samples=MAX_SAMPLES)
    try:
        prometheus.wait_for("count(slo:error_budget:remaining)", lambda v: v == 2 * len(BUDGETS), timeout=60)
        yield prometheus, end, {h.namespace: h for h in known}
    finally:
        prometheus.stop()


@pytest.fixture(scope="module")
def unlimited(history, tmp_path_factory):
    """The same history and rules in a Prometheus with its default sample limit, where the raw form fits."""
    prometheus, _, _ = history
    workdir = tmp_path_factory.mktemp("unlimited")
    shutil.copytree(prometheus.workdir / "blocks", workdir / "tsdb")
    rule_files = sorted(prometheus.workdir.glob("rules-*.yaml"))
    server = Prometheus(workdir, [], rule_files, retention="30d")
    try:
        server.wait_for("count(slo:error_budget:remaining)", lambda v: v == 2 * len(BUDGETS), timeout=60)
        yield server
    finally:
        server.stop()


def manage(project: Path, venv: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    command = [str(venv / "bin/python"), "manage.py", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("failing", "left", "decision", "code"), BUDGETS.values(), ids=BUDGETS.keys())
def test_the_gate_gives_the_policys_decision_and_exit_code(
    history, served_project, baked_venv, report, failing, left, decision, code, request
):
    prometheus, _, _ = history
    namespace = request.node.callspec.id
    url = f"http://127.0.0.1:{prometheus.port}"
    args = ["--prometheus-url", url, "--namespace", namespace, "--period-days", str(PERIOD_DAYS)]
    result = manage(served_project, baked_venv, "slo_budget", *args)
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:3]}
    report(f"{namespace}: exit {result.returncode}; {rows['availability']}")
    assert result.returncode == code, result.stdout + result.stderr
    remaining = float(rows["availability"].split()[2].rstrip("%")) / 100
    assert remaining == pytest.approx(left, abs=0.01)
    assert decision in rows["availability"]
    assert "features may ship" in rows["latency"], "every request was fast: the latency budget is whole"
    assert f"Read from the chart's 5-minute SLO records, over the whole {PERIOD_DAYS}-day period." in result.stdout


class NotPrometheus(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def not_prometheus(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", free_block(1)[0]), NotPrometheus)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def empty_prometheus(tmp_path):
    if PROMETHEUS is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus'; .ci/run installs it)")
    prometheus = Prometheus(tmp_path, [])
    yield f"http://127.0.0.1:{prometheus.port}"
    prometheus.stop()


@pytest.mark.parametrize("command", ["slo_budget", "slo_report"])
def test_a_prometheus_that_cannot_answer_is_exit_2_and_one_line(
    served_project, baked_venv, not_prometheus, empty_prometheus, tmp_path, command
):
    unreachable = f"http://127.0.0.1:{free_block(1)[0]}"
    cases = {
        unreachable: "cannot reach Prometheus at",
        not_prometheus: "answered HTTP 404 to /api/v1/query: is it a Prometheus server?",
        empty_prometheus: "has no data for slo:objective:ratio",
        "prometheus:9090": "is not allowed: give Prometheus' http(s)://host[:port] address",
    }
    output = ["--output", str(tmp_path)] if command == "slo_report" else []
    for url, message in cases.items():
        result = manage(served_project, baked_venv, command, "--prometheus-url", url, *output)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], result.stderr


def figures_of(project: Path, venv: Path, url: str, output: Path, end: float, *more: str) -> dict:
    args = ["--namespace", "overspent", "--period-days", str(PERIOD_DAYS), "--end", str(end)]
    result = manage(
        project, venv, "slo_report", "--prometheus-url", url, *args, "--output", str(output), "--json", *more
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((output / "slo-report.json").read_text())


def test_the_records_agree_with_the_raw_series_and_only_they_fit_the_sample_limit(
    history, unlimited, served_project, baked_venv, tmp_path, report
):
    prometheus, end, _ = history
    limited, roomy = f"http://127.0.0.1:{prometheus.port}", f"http://127.0.0.1:{unlimited.port}"
    recorded = figures_of(served_project, baked_venv, limited, tmp_path / "recorded", end)
    raw = figures_of(served_project, baked_venv, roomy, tmp_path / "raw", end, "--raw")
    assert (recorded["source"], raw["source"]) == ("recorded", "raw")
    assert recorded["covered_days"] == pytest.approx(PERIOD_DAYS, rel=1e-3), recorded["note"]
    for ours, theirs in zip(recorded["slos"], raw["slos"]):
        for figure in ("requests", "failed", "budget_spent"):
            assert ours[figure] == pytest.approx(theirs[figure], rel=1e-3, abs=1e-9), (ours["slo"], figure)
        assert dict(ours["releases"]) == pytest.approx(dict(theirs["releases"]), rel=1e-3, abs=1e-9)
    # The gate reads the budget now, not at the history's end: its recorded figure is the report's (the
    # records only step every half hour), but the raw one is Prometheus' increase() over counters sampled
    # every half hour, extrapolated to wherever now falls on that grid, so it is only near the records.
    gates = {}
    started = time.time()
    for url, more in ((limited, ()), (roomy, ("--raw",))):
        result = manage(
            served_project,
            baked_venv,
            "slo_budget",
            "--prometheus-url",
            url,
            "--namespace",
            "overspent",
            "--period-days",
            str(PERIOD_DAYS),
            *more,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        row = next(line for line in result.stdout.splitlines() if line.startswith("availability"))
        gates[bool(more)] = float(row.split()[2].rstrip("%")) / 100
    # Between two reports that bracket the gate's reading: after the history ends, the budget left can
    # only fall as the window slides past its older, cleaner records.
    left = []
    for at in (started - 5, time.time()):
        figures = figures_of(served_project, baked_venv, limited, tmp_path / f"at-{at}", at)
        left.append(1 - next(slo for slo in figures["slos"] if slo["slo"] == "availability")["budget_spent"])
    assert left[1] - 0.0005 <= gates[False] <= left[0] + 0.0005, ("gate against the reports", gates[False], left)
    assert gates[True] == pytest.approx(BUDGETS["overspent"][1], abs=0.01), "the raw gate"
    report(
        f"gate, recorded vs raw: budget left {gates[False]:.4f} / {gates[True]:.4f}, "
        f"under --query.max-samples={MAX_SAMPLES}"
    )
    # A period longer than the records (a service that just moved to them): both commands say so.
    args = ["--prometheus-url", limited, "--namespace", "overspent", "--period-days", "14"]
    gate = manage(served_project, baked_venv, "slo_budget", *args)
    assert "The SLO records cover only the last 8.0 of the 14 days" in gate.stdout, gate.stdout + gate.stderr
    longer = figures_of(served_project, baked_venv, limited, tmp_path / "longer", end, "--period-days", "14")
    assert (
        longer["covered_days"] == pytest.approx(8, rel=1e-3) and "cover only the last 8.0 of the 14" in longer["note"]
    )
    # The raw form asks more of Prometheus than the limit allows: one line, exit 2, no traceback.
    for command, more in (("slo_report", ("--output", str(tmp_path / "refused"))), ("slo_budget", ())):
        args = ["--prometheus-url", limited, "--namespace", "overspent", "--raw", *more]
        result = manage(served_project, baked_venv, command, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "too many samples" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_report_gives_the_hand_computed_figures_and_a_burn_down(
    history, served_project, baked_venv, tmp_path, report
):
    prometheus, end, known = history
    overspent = known["overspent"]
    url = f"http://127.0.0.1:{prometheus.port}"
    args = ["--namespace", "overspent", "--period-days", str(PERIOD_DAYS), "--end", str(end)]
    args += ["--output", str(tmp_path), "--json"]
    result = manage(served_project, baked_venv, "slo_report", "--prometheus-url", url, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = {slo["slo"]: slo for slo in json.loads((tmp_path / "slo-report.json").read_text())["slos"]}
    availability = figures["availability"]

    start = end - PERIOD_DAYS * DAY
    requests = overspent.increase("django_http_responses_total_by_status_view_method_total", "pod", start, end)
    failed = overspent.increase("django_http_responses_total_by_status_view_method_total", 'status="500"', start, end)
    spent = failed / (requests * 0.001)
    spent_by_v2 = overspent.increase(
        "django_http_responses_total_by_status_view_method_total", 'pod="pod-b", view="orders"', start, end
    ) / (requests * 0.001)
    report(
        f"report: {availability['requests']:.0f} requests (hand: {requests:.0f}), {availability['failed']:.0f} failed "
        f"(hand: {failed:.0f}), budget spent {availability['budget_spent']:.4f} (hand: {spent:.4f})"
    )
    assert availability["requests"] == pytest.approx(requests, rel=1e-3)
    assert availability["failed"] == pytest.approx(failed, rel=1e-3)
    assert availability["budget_spent"] == pytest.approx(spent, rel=1e-3)
    assert availability["attainment"] == pytest.approx(1 - failed / requests, abs=1e-6)
    (version, share), *others = availability["releases"]
    assert version == "2.0" and share == pytest.approx(spent_by_v2, rel=1e-3)
    assert all(other_share == pytest.approx(0, abs=1e-6) for _, other_share in others)
    assert [view for view, _ in availability["views"]] == ["orders"]
    (incident,) = availability["incidents"]
    assert incident["alert"] == "AvailabilityErrorBudgetBurnFast" and incident["minutes"] == pytest.approx(120)
    burndown = availability["burndown"]
    assert burndown[0][1] == 1.0 and burndown[-1][1] == pytest.approx(1 - spent, abs=0.01)
    assert all(a[1] >= b[1] for a, b in zip(burndown, burndown[1:])), "a burn-down never rises"
    assert figures["latency"]["budget_spent"] == 0

    svg = ElementTree.parse(tmp_path / "burndown-availability.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall("{http://www.w3.org/2000/svg}polyline")) == 2
    markdown = (tmp_path / "slo-report.md").read_text()
    assert "![Error budget burn-down, availability](burndown-availability.svg)" in markdown
    assert f"| availability | 99.900% | {1 - failed / requests:.3%} |" in markdown


@pytest.mark.parametrize("mode", ["per_worker", "aggregated"])
def test_the_rules_attribute_the_spend_to_the_release_that_failed(deployed, report, mode):
    releases = [{"SERVICE_VERSION": "1.0.0"}, {"SERVICE_VERSION": "1.1.0"}]
    d = deployed(2, rules=True, config={"METRICS_MODE": mode}, pod_env=releases, DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    steady, failing = d.pods
    # In rounds a scrape apart: a series' first sample is its baseline, so a burst that both creates
    # and fills a series within one scrape would be invisible to increase().
    for _ in range(2):
        assert set(burst(steady.http_port, 200)) == {200}
        assert set(burst(failing.http_port, 190)) == {200}
        assert set(burst(failing.http_port, 10, "/__fault__/status/500")) == {500}  # 5 % of the new release's
        time.sleep(1.2)

    total = f'sum(django_http_responses_total_by_status_view_method_total{{job="{d.job}"}})'
    d.prometheus.wait_for(total, lambda v: v == 800, timeout=30)
    time.sleep(2)  # a rule evaluation on the complete data
    spent = 'slo:error_budget:spent_by_version{slo="availability", version="%s"}'
    d.prometheus.wait_for(spent % "1.1.0", lambda v: v is not None and v > 0, timeout=30)
    # Attribution is complete: at one evaluation the releases' spends add up to what the service spent.
    # (Their size against raw increase() is proven exact on histories, tests/test_slo_exactness.py
    # and the report above: a 5-minute rate counts a request fully only 5 minutes after it.)
    # Every answer at the time of one evaluation of the budget group, the one that showed the spend
    # (a moment picked by the clock could fall before it, when nothing was spent yet).
    at = repr(d.prometheus.scalar(f"timestamp({spent % '1.1.0'})"))

    def value(expr: str) -> float:
        return float(d.prometheus.api("query", query=expr, time=at)["result"][0]["value"][1])

    expected = value('1 - slo:error_budget:remaining{slo="availability"}')
    assert expected > 0
    assert value('sum(slo:error_budget:spent_by_version{slo="availability"})') == pytest.approx(expected, rel=1e-6)
    assert value(spent % "1.1.0") == pytest.approx(expected, rel=1e-6)
    assert d.prometheus.scalar(spent % "1.0.0") == 0
    dashboard = json.loads(dashboard_configmap(d.docs)["data"]["slo.json"])
    (panel,) = [p for p in dashboard["panels"] if p["title"] == "Error budget spent by release"]
    answered = d.prometheus.query(grafana_query(panel["targets"][0]["expr"], "e2e", d.job))
    by_version = {(r["metric"]["slo"], r["metric"]["version"]): float(r["value"][1]) for r in answered}
    report(f"{mode}: budget spent by 1.1.0 {by_version[('availability', '1.1.0')]:.1f} (expected about {expected:.0f})")
    assert by_version[("availability", "1.1.0")] > 0 and by_version[("availability", "1.0.0")] == 0
    annotation = dashboard["annotations"]["list"][0]["expr"]
    assert {r["metric"]["version"] for r in d.prometheus.query(grafana_query(annotation, "e2e", d.job))} == {
        "1.0.0",
        "1.1.0",
    }, "both releases are new within the annotation's window"


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_drill_spends_real_budget_and_one_past_its_end_spends_none(deployed, report, interface):
    until = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    drill = {"DOWNTIME_DRILL_RATIO": 0.05, "DOWNTIME_DRILL_UNTIL": until}
    # The second pod starts after its drill ended (the chart refuses a past end; a restart can still meet one).
    d = deployed(2, config=drill, pod_env=[{}, {"DOWNTIME_DRILL_UNTIL": "2020-01-01T00:00:00Z"}])
    drilling, ended = d.pods
    statuses = burst(drilling.http_port, 2000) + burst(ended.http_port, 500)
    drilled = statuses[:2000].count(503)
    assert 0.03 <= drilled / 2000 <= 0.07, drilled
    assert set(statuses[2000:]) == {200}
    counted = 'sum by (pod) (django_http_responses_total_by_status_view_method_total{status="503"})'
    d.prometheus.wait_for(f"sum({counted})", lambda v: v == drilled, timeout=30)
    by_pod = {r["metric"]["pod"]: float(r["value"][1]) for r in d.prometheus.query(counted)}
    share = f"{drilled / 20:.1f} %"
    report(f"{interface}: drill at 0.05: {drilled} of 2000 requests drilled ({share}), every one counted as a 503")
    assert by_pod.get("pod-1", 0) == 0 and by_pod["pod-0"] == drilled
    assert "has passed: no requests are drilled" in ended.output()
