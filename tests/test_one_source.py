"""Rules that must exist in several languages, read from every copy and proven to agree.

The port limits live in the hook (Python, standard library only), the service
(service_runtime/environment/ports.py), the chart's schema (JSON Schema) and its ports helper (Go
template); the histogram bound's spelling lives in the Python client, the chart's SLO
helper (Go template) and the promtool test template (Jinja).
"""

from __future__ import annotations

import ast
import json
import re

import pytest
from prometheus_client.utils import floatToGoString

from hooks import pre_gen_project as hook
from tests.support import helm
from tests.support.manifests import one
from tests.support.paths import REPO

SERVICE = REPO / "{{cookiecutter.project_slug}}"
LIMITS = ("MIN_PORT", "MAX_PORT", "MAX_WORKERS")


def module_constants(path) -> dict[str, object]:
    """Module-level NAME = literal assignments, read without importing (the module needs Django)."""
    constants = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def test_port_and_worker_limits_agree_in_hook_service_schema_helper_and_prompts():
    from_hook = {name: getattr(hook, name) for name in LIMITS}
    service = module_constants(SERVICE / "service_runtime" / "environment" / "ports.py")
    assert {name: service[name] for name in LIMITS} == from_hook

    schema = json.loads((SERVICE / "chart" / "values.schema.json").read_text())
    port = schema["definitions"]["port"]
    workers = schema["properties"]["env"]["properties"]["config"]["properties"]["WEB_CONCURRENCY"]
    assert (port["minimum"], port["maximum"]) == (from_hook["MIN_PORT"], from_hook["MAX_PORT"])
    assert (workers["minimum"], workers["maximum"]) == (1, from_hook["MAX_WORKERS"])

    helper = (SERVICE / "chart" / "templates" / "_ports.tpl").read_text()
    assert re.findall(r"past (\d+);", helper) == [str(from_hook["MAX_PORT"])]
    assert re.findall(r"\(sub (\d+) \$workers\)", helper) == [str(from_hook["MAX_PORT"] + 1)]
    assert re.findall(r"gt \$end (\d+)", helper) == [str(from_hook["MAX_PORT"] + 1)]

    prompts = json.loads((REPO / "cookiecutter.json").read_text())["__prompts__"]
    assert f"1-{from_hook['MAX_WORKERS']})" in prompts["web_concurrency"]
    assert f"({from_hook['MIN_PORT']}-{from_hook['MAX_PORT']})" in prompts["http_port"]


def test_gunicorn_limits_agree_in_the_service_and_the_schema(bake):
    """L11: what gunicorn refuses at start, the chart refuses at install."""
    startup = bake() / "service_runtime" / "server" / "startup.py"
    service = module_constants(startup)
    schema = json.loads((SERVICE / "chart" / "values.schema.json").read_text())
    config = schema["properties"]["env"]["properties"]["config"]["properties"]
    for name in ("GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT"):
        assert (config[name]["minimum"], config[name]["maximum"]) == (1, service["MAX_TIMEOUT_SECONDS"])
    for name in ("GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_REQUESTS_JITTER"):
        assert (config[name]["minimum"], config[name]["maximum"]) == (0, service["MAX_REQUESTS"])
    assert 'env_choice("GUNICORN_ACCESS_LOG", "on", choices=("on", "off"))' in startup.read_text()
    assert config["GUNICORN_ACCESS_LOG"]["enum"] == ["on", "off"]


def test_a_slot_has_one_number_in_the_chart_the_logs_and_readyz(bake):
    """Slot n serves port METRICS_START_PORT + n - 1, which the chart names metrics-n: counted from 1 everywhere."""
    helper = (SERVICE / "chart" / "templates" / "_ports.tpl").read_text()
    assert '(printf "metrics-%d" (add1 (sub $port $start)))' in helper
    hooks = (bake() / "service_runtime" / "server" / "hooks.py").read_text()
    assert "settings.metrics_ports[slot.number - 1]" in hooks and 'name=f"slot-{slot.number}"' in hooks
    assert 'worker.log.info("Worker %s holds metrics slot %s", worker.pid, slot.number)' in hooks
    slots = (bake() / "service_runtime" / "worker_slots" / "slots.py").read_text()
    assert "for number in range(1, slots + 1):" in slots


@pytest.mark.parametrize("threshold", ["0.005", "0.1", "0.3", "1", "2.5", "10"])
def test_the_latency_bucket_bound_is_spelled_alike_by_client_chart_and_promtool_tests(bake, threshold):
    """A rule or test that spells the bound differently from the client would select no series."""
    python_client = floatToGoString(float(threshold))
    project = bake(slo_latency_threshold_seconds=threshold)
    rule = one(helm.render(project / "chart", {}), "PrometheusRule")
    assert f'le=\\"{python_client}\\"' in json.dumps(rule), "the chart's _slo.tpl spelling"
    unit_test = (project / "chart" / "rule-tests" / "slo-alerts.test.yaml").read_text()
    assert f'le="{python_client}"' in unit_test, "the promtool test template's spelling"


def policy_table(readme: str) -> list[list[str]]:
    section = readme.split("### Error budget policy", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_the_error_budget_policy_agrees_in_the_gate_the_alerts_the_values_and_the_readme(bake):
    """One policy: service_runtime/error_budget/policy.py decides; the alerts, values.yaml and README repeat
    its thresholds."""
    project = bake()
    policy = module_constants(project / "service_runtime" / "error_budget" / "policy.py")
    rule = one(helm.render(project / "chart", {}), "PrometheusRule")
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r}
    fast = alerts["AvailabilityErrorBudgetBurnFast"]["expr"]
    assert f"> ({policy['PAGE_BURN_RATE_1H']:g} * " in fast and f"> ({policy['PAGE_BURN_RATE_6H']:g} * " in fast
    underspent = alerts["AvailabilityErrorBudgetUnderspent"]["expr"]
    assert f"> {policy['UNDERSPENT_ABOVE']:g}\n" in underspent
    values = (project / "chart" / "values.yaml").read_text()
    assert f"underspentAbove: {policy['UNDERSPENT_ABOVE']:g}\n" in values

    rows = policy_table((project / "README.md").read_text())
    when = " ".join(row[0] for row in rows)
    assert f"at least {policy['PAGE_BURN_RATE_1H']:g} over 1 h, or {policy['PAGE_BURN_RATE_6H']:g} over 6 h" in when
    assert f"below {policy['CAREFUL_BELOW'] * 100:g} %" in when
    assert f"budget left {policy['FROZEN_AT_OR_BELOW'] * 100:g} % or less" in when
    assert f"more than {policy['UNDERSPENT_ABOVE'] * 100:g} % left" in when
    decisions = {row[1]: row[2] for row in rows}
    for text, exit_code in (
        (policy["INCIDENT"], "exit 1"),
        (policy["FIXES_ONLY"], "exit 1"),
        (policy["CAREFUL"], "exit 0"),
        (policy["FEATURES"], "exit 0"),
    ):
        assert decisions[text] == exit_code, f"README's table lacks {text!r} with {exit_code}"


def test_the_drill_ceiling_agrees_in_the_service_and_the_schema():
    service = module_constants(SERVICE / "service_runtime" / "error_budget" / "drill.py")
    schema = json.loads((SERVICE / "chart" / "values.schema.json").read_text())
    ratio = schema["properties"]["env"]["properties"]["config"]["properties"]["DOWNTIME_DRILL_RATIO"]
    assert ratio["maximum"] == service["MAX_DRILL_RATIO"]
    # The longest a drill may run: the service's checks and the chart's refusal.
    checks = (SERVICE / "chart" / "templates" / "_checks.tpl").read_text()
    assert re.findall(r"\$maxDrillHours := (\d+)", checks) == [str(service["MAX_DRILL_HOURS"])]


def test_the_reports_raw_promql_is_the_charts(bake, baked_venv):
    """The raw form of service_runtime/error_budget/queries.py writes what the chart's raw group records by
    release, character for character; the recorded form reads the records the chart writes."""
    import subprocess

    project = bake()
    rule = one(helm.render(project / "chart", {}, release="svc", namespace="ns"), "PrometheusRule")
    job = "svc-" + project.name.replace("_", "-")  # the release's full name
    rules = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    by_version = {r["labels"]["slo"]: r["expr"] for r in rules if r.get("record") == "slo:sli_errors_by_version:rate5m"}
    code = "\n".join(
        [
            "from service_runtime.error_budget.queries import Raw, Recorded",
            f'sel = \'namespace="ns", job="{job}"\'',
            "for slo in ('availability', 'latency'):",
            f"    print(repr(Raw(sel, 0.3).errors_by_version(slo, '5m', 'rate', '10m', '{project.name}_build_info')))",
            "recorded = Recorded(sel)",
            "print(repr(' '.join([recorded.failed('latency', '1d'), recorded.failed_by('version', 'latency', '1d'),"
            " recorded.failed_by('view', 'latency', '1d'), recorded.requests('latency', '1d'),"
            " *recorded.evaluations('1d').values()])))",
        ]
    )
    result = subprocess.run([baked_venv / "bin/python", "-c", code], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    availability, latency, recorded = (ast.literal_eval(line) for line in result.stdout.splitlines())

    def same(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    assert same(availability) == same(by_version["availability"])
    assert same(latency) == same(by_version["latency"])
    written = {r.get("record") for r in rules}
    read = set(re.findall(r"(slo:[a-z_]+:[a-z0-9_]+)\{", recorded))
    assert read == {
        "slo:sli_errors:rate5m",
        "slo:sli_errors_by_version:rate5m",
        "slo:sli_errors_by_view:rate5m",
        "slo:sli_requests:rate5m",
        "slo:evaluation:timestamp_seconds",
    }
    assert read <= written


def module_tuple(path, name: str) -> tuple:
    """A module-level NAME = (literal, ...) tuple, read without importing."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{name} is not assigned in {path}")


def test_the_samplers_and_the_ratio_agree_in_the_service_and_the_schema(bake):
    """What service_runtime/tracing/configuration.py accepts at start-up, the chart's schema accepts at install,
    and no more."""
    configuration = SERVICE / "service_runtime" / "tracing" / "configuration.py"
    tracing = json.loads((SERVICE / "chart" / "values.schema.json").read_text())["properties"]["tracing"]
    assert tuple(tracing["properties"]["sampler"]["enum"]) == module_tuple(configuration, "SAMPLERS")
    ratio = tracing["properties"]["ratio"]
    assert (ratio["minimum"], ratio["maximum"]) == (0, 1)
    assert re.search(r'"OTEL_TRACES_SAMPLER_ARG", 1\.0, minimum=0\.0, maximum=1\.0', configuration.read_text())
    # The chart's default sampler is one the service accepts, and the service's default is the SDK's own.
    values = helm.render(bake() / "chart", {"tracing": {"endpoint": "http://c:4318"}})
    sampler = next(doc for doc in values if doc["kind"] == "ConfigMap")["data"]["OTEL_TRACES_SAMPLER"]
    assert sampler in module_tuple(configuration, "SAMPLERS")
