"""The chart's SLO rules, rendered by Helm and checked by promtool (Debian package `prometheus`).

`chart/rule-tests/*.test.yaml` are promtool unit tests generated for this service's
objectives; they read the rules from a `rules.yaml` written next to them here.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts import prometheus_rules

CHART = prometheus_rules.CHART
ROOT = CHART.parent
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')")


def rule_groups(values: dict | None = None) -> dict:
    """The chart's rules (scripts/prometheus_rules.py renders them, as for a plain rules file),
    released like the chart, so that they select job="<chart name>" as the unit tests expect."""
    spec = prometheus_rules.rule_groups(values, namespace="slo")
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


def test_the_plain_rules_file_holds_the_prometheusrules_groups(tmp_path):
    """scripts/prometheus_rules.py, for a Prometheus without the operator: the PrometheusRule's
    groups as the chart renders them (helm's own manifest, read apart), and a file promtool accepts."""
    import helm_python

    chart = helm_python.Chart.load(CHART)
    manifests = chart.render(values={"assumeOperatorApi": True}, name=chart.name, namespace="team")
    texts = [text for path, text in manifests.items() if path.endswith(".yaml")]  # not NOTES.txt
    documents = [doc for text in texts for doc in yaml.safe_load_all(text) if doc]
    (rule,) = [doc for doc in documents if doc["kind"] == "PrometheusRule"]
    command = [sys.executable, "scripts/prometheus_rules.py", "--namespace", "team"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == rule["spec"]
    assert 'namespace="team"' in result.stdout
    if PROMTOOL is not None:
        (tmp_path / "slo.rules.yaml").write_text(result.stdout)
        check = [PROMTOOL, "check", "rules", tmp_path / "slo.rules.yaml"]
        checked = subprocess.run(check, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--values", "no-such-values.yaml"], "--values 'no-such-values.yaml' cannot be read"),
        (["--values", "VALUES"], "set prometheusRule.enabled to true"),
    ],
    ids=["missing values file", "rules turned off"],
)
def test_the_plain_rules_command_refuses_in_one_line(tmp_path, arguments, message):
    values = tmp_path / "values.yaml"
    values.write_text("prometheusRule:\n  enabled: false\n")
    argv = [str(values) if argument == "VALUES" else argument for argument in arguments]
    command = [sys.executable, "scripts/prometheus_rules.py", *argv]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
