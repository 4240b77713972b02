"""Every numeric answer reaches every kind of file it is written into with the same value.

Python, YAML, the Dockerfile, PromQL (the rules Helm renders) and the README
each read a number in their own way: '08000' is a SyntaxError in Python and
'010' is octal 8 in YAML, which is why the hook only bakes plain spellings.
This bakes unusual but plain answers and reads each file the way its own
consumer would.
"""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from tests.support import helm
from tests.support.manifests import one

ANSWERS = {
    "web_concurrency": "7",
    "http_port": "8123",
    "metrics_start_port": "9311",
    "slo_availability_target": "99.95",
    "slo_latency_target": "99.5",
    "slo_latency_threshold_seconds": "0.25",
    "slo_period_days": "28",
}


@pytest.fixture(scope="module")
def project(bake):
    return bake(**ANSWERS)


def python_constant(path, name: str):
    """The value a module-level assignment gives ``name``, or the default of the env reader it calls."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            value = node.value
            if isinstance(value, ast.Call):  # env_float("NAME", default, ...)
                value = value.args[1]
            return ast.literal_eval(value)
    raise AssertionError(f"{name} is not assigned in {path}")


def test_python_reads_the_answers(project):
    assert python_constant(project / "service_runtime" / "environment" / "ports.py", "DEFAULT_HTTP_PORT") == 8123
    assert python_constant(project / "config" / "settings" / "base.py", "SLO_LATENCY_THRESHOLD_SECONDS") == 0.25


def test_yaml_reads_the_answers(project):
    values = yaml.safe_load((project / "chart" / "values.yaml").read_text())
    config = values["env"]["config"]
    assert (config["WEB_CONCURRENCY"], config["METRICS_START_PORT"], config["HTTP_PORT"]) == (7, 9311, 8123)
    assert config["SLO_LATENCY_THRESHOLD_SECONDS"] == 0.25
    assert values["slo"] == {"availabilityObjective": 99.95, "latencyObjective": 99.5, "periodDays": 28}


def test_the_dockerfile_reads_the_answers(project):
    dockerfile = (project / "Dockerfile").read_text()
    assert re.findall(r"\bHTTP_PORT=(\S+)", dockerfile) == ["8123"]
    assert re.findall(r"\bWEB_CONCURRENCY=(\S+)", dockerfile) == ["7"]
    assert re.findall(r"\bMETRICS_START_PORT=(\S+)", dockerfile) == ["9311"]
    assert re.findall(r"^EXPOSE (.+)$", dockerfile, flags=re.MULTILINE) == ["8123 9311-9317"]  # 7 workers


def test_promql_reads_the_answers(project):
    rules = one(helm.render(project / "chart"), "PrometheusRule")
    exprs = "\n".join(rule["expr"] for group in rules["spec"]["groups"] for rule in group["rules"])
    # The period's sums read a range one second short of 28 days (Prometheus 2 ranges include their start).
    assert "slo:sli_error:ratio_rate28d" in exprs and f"[{28 * 86400 - 1}s]" in exprs and "offset 28d" in exprs
    assert "(1 - 99.95 / 100)" in exprs and "(1 - 99.5 / 100)" in exprs
    assert 'le="0.25"' in exprs


def test_the_readme_reads_the_answers(project):
    readme = (project / "README.md").read_text()
    assert "| availability | 99.95% over 28 days |" in readme
    assert "| latency | 99.5% over 28 days | it takes longer than 0.25 s |" in readme
    assert "WEB_CONCURRENCY=7 METRICS_START_PORT=9311" in readme and "| no (8123) |" in readme
