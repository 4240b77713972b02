"""The SLO rules are exact enough to decide: every window, the budget and the spend by release,
built from the 5-minute records, against the shares computed from a synthetic week's counters.

promtool evaluates the chart's rules every 5 minutes over a week of a service's history
(`tests/support/synthetic_week.py`): daily peaks and troughs, an incident at a peak, a
release replacing another, pods added and removed. Each recorded SLI window must be within
0.1 % (relative) of the exact share of failed requests in it, and the budget left and each
release's spend within 0.001 of one budget.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.support import helm
from tests.support.manifests import one
from tests.support.prometheus import PROMTOOL
from tests.support.synthetic_week import DAY, INCIDENT, MINUTE, ROLL, WEEK, Week

pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')")

NAMESPACE, RELEASE = "slo", "week"
WINDOWS = {"5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": DAY, "3d": 3 * DAY, "7d": WEEK}
OBJECTIVES = {"availability": 0.999, "latency": 0.99}
# Moments that straddle what makes a window hard: inside and just after the incident, both releases
# serving and just after the old one left, pods just removed, and the end of the week.
MOMENTS = {
    "mid-incident": INCIDENT[0] + 20 * MINUTE,
    "after-incident": INCIDENT[1] + 15 * MINUTE,
    "both-releases": ROLL + 10 * MINUTE,
    "after-roll": ROLL + 25 * MINUTE,
    "pod-removed": 2 * DAY + 5 * MINUTE,
    "pod-added": 5 * DAY + 10 * MINUTE,
    "trough": 6 * DAY + 2 * 3600,
    "end": WEEK,
}
RELATIVE = 0.001  # of the share
BUDGETS = 0.001  # of one budget


def checks(week: Week, at: int, job: str) -> list[dict]:
    labels = f'job="{job}", namespace="{NAMESPACE}"'
    found = []
    for slo, objective in OBJECTIVES.items():
        budget = 1 - objective
        for window, seconds in WINDOWS.items():
            if seconds > at:
                continue
            exact = week.share(slo, at - seconds, at)
            name = f"slo:sli_error:ratio_rate{window}"
            found.append((f'abs({name}{{slo="{slo}"}} / {exact!r} - 1) < bool {RELATIVE}', slo))
        for window in ("1h", "6h"):
            exact = week.failed(slo, at - WINDOWS[window], at) / WINDOWS[window]
            found.append((f'abs(slo:sli_errors:rate{window}{{slo="{slo}"}} / {exact!r} - 1) < bool {RELATIVE}', slo))
        start = max(0, at - WINDOWS["7d"])
        total = week.total("all", start, at)
        left = 1 - week.failed(slo, start, at) / total / budget
        found.append((f'abs(slo:error_budget:remaining{{slo="{slo}"}} - {left!r}) < bool {BUDGETS}', slo))
        for version in ("1.0", "2.0"):
            if not week.total("all", start, at, version):
                continue
            spent = week.failed(slo, start, at, version) / (total * budget)
            selector = f'slo:error_budget:spent_by_version{{slo="{slo}", version="{version}"}}'
            found.append((f"abs({selector} - {spent!r}) < bool {BUDGETS}", slo, version))
    tests = []
    for expr, slo, *version in found:
        extra = f', version="{version[0]}"' if version else ""
        expected = {"labels": f'{{{labels}, slo="{slo}"{extra}}}', "value": 1}
        tests.append({"expr": expr, "eval_time": f"{at}s", "exp_samples": [expected]})
    return tests


@pytest.fixture(scope="module")
def promtool_run(bake, tmp_path_factory):
    project = bake()
    values = {"slo": {"periodDays": 7}}
    rule = one(helm.render(project / "chart", values, release=RELEASE, namespace=NAMESPACE), "PrometheusRule")
    job = f"{RELEASE}-{project.name.replace('_', '-')}"
    spec = rule["spec"]
    for group in spec["groups"]:
        group.pop("interval", None)
    directory = tmp_path_factory.mktemp("week")
    (directory / "rules.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    week = Week()
    unit = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "5m",
        # The chart lists its groups in the order they read each other; promtool's own order is random.
        "group_eval_order": [group["name"] for group in spec["groups"]],
        "tests": [
            {
                "interval": "15s",
                "input_series": week.input_series(NAMESPACE, job, project.name),
                "promql_expr_test": [check for at in MOMENTS.values() for check in checks(week, at, job)],
            }
        ],
    }
    (directory / "week.test.yaml").write_text(yaml.safe_dump(unit, sort_keys=False, width=1 << 20))
    return subprocess.run(
        [PROMTOOL, "test", "rules", "week.test.yaml"], cwd=directory, capture_output=True, text=True, timeout=600
    )


def test_every_window_the_budget_and_the_spend_match_the_weeks_exact_shares(promtool_run):
    output = promtool_run.stdout + promtool_run.stderr
    failed = re.findall(r'expr: "(.*?)", time: (\S+),', output)
    summary = "\n".join(f"at {at}: {expr}" for expr, at in failed[:20]) or output[-3000:]
    assert promtool_run.returncode == 0, f"{len(failed)} checks failed, the first:\n{summary}"
    assert "SUCCESS" in promtool_run.stdout
