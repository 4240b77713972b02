"""The chart's SLO rules, rendered by Helm and checked by promtool (Debian package `prometheus`).

`chart/rule-tests/*.test.yaml` are promtool unit tests generated for this service's
objectives; they read the rules from a `rules.yaml` written next to them here.
"""

import shutil
import subprocess
from pathlib import Path

import helm_python
import pytest
import yaml

CHART = Path(__file__).resolve().parent.parent / "chart"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')")


def render(values: dict | None = None) -> list[dict]:
    chart = helm_python.Chart.load(CHART)
    name = chart.name
    # Release named like the chart, so the rules select job="<chart name>", as the unit tests expect.
    # The SDK cannot say which APIs a cluster serves: take prometheus-operator's as served.
    values = {"assumeOperatorApi": True, **(values or {})}
    manifests = chart.render(values=values, name=name, namespace="slo")
    texts = [text for path, text in manifests.items() if path.endswith(".yaml")]  # not NOTES.txt
    return [doc for text in texts for doc in yaml.safe_load_all(text) if doc]


def rule_groups(values: dict | None = None) -> dict:
    (rule,) = [doc for doc in render(values) if doc["kind"] == "PrometheusRule"]
    spec = rule["spec"]
    # Evaluation cadence is a deployment choice; each unit test sets its own.
    for group in spec["groups"]:
        group.pop("interval", None)
    return spec


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("slo-rules")
    (directory / "rules.yaml").write_text(yaml.safe_dump(rule_groups(), sort_keys=False))
    return directory


@needs_promtool
def test_rules_pass_promtool_check(rules_dir):
    result = subprocess.run([PROMTOOL, "check", "rules", rules_dir / "rules.yaml"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
@pytest.mark.parametrize("unit_test", sorted(CHART.glob("rule-tests/*.test.yaml")), ids=lambda path: path.name)
def test_promtool_unit_tests(rules_dir, unit_test):
    shutil.copy(unit_test, rules_dir / unit_test.name)
    result = subprocess.run(
        [PROMTOOL, "test", "rules", unit_test.name], cwd=rules_dir, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_unit_tests_are_shipped():
    shipped = {path.name for path in CHART.glob("rule-tests/*.test.yaml")}
    assert shipped == {
        "slo-alerts.test.yaml",
        "slo-budget.test.yaml",
        "low-traffic.test.yaml",
        "django-alerts.test.yaml",
        "underspent.test.yaml",
    }


def expressions(values: dict) -> str:
    return "\n".join(rule["expr"] for group in rule_groups(values)["groups"] for rule in group["rules"])


@pytest.mark.parametrize(("threshold", "label"), [(1, "1.0"), (0.25, "0.25"), (2.5, "2.5"), (10, "10.0")])
def test_rules_count_the_bucket_the_python_client_exports(threshold, label):
    assert f'le="{label}"' in expressions({"env": {"config": {"SLO_LATENCY_THRESHOLD_SECONDS": threshold}}})
    from prometheus_client.utils import floatToGoString

    assert floatToGoString(threshold) == label
