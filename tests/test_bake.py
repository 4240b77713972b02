"""Bake the supported combinations, refuse the unsupported ones, and check what comes out."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.support.paths import REPO
from tests.support.postgres import skip_reason as postgres_skip_reason
from tests.support.typecheck import type_check

SUPPORTED = {
    "defaults": {},
    # Named like the runtime's subpackages, which live under service_runtime/ and no longer clash.
    "one-worker-named-health": {"web_concurrency": "1", "project_slug": "health"},
    "twelve-workers-high-ports-named-tracing": {
        "web_concurrency": "12",
        "metrics_start_port": "20000",
        "http_port": "8080",
        "project_slug": "tracing",
    },
    "http-above-metrics-gitlab-repository": {
        "web_concurrency": "3",
        "metrics_start_port": "8001",
        "http_port": "8004",
        "repository_url": "https://gitlab.example.com:8443/platform/team/orders-service",
    },
    "range-ends-at-65535": {"web_concurrency": "64", "metrics_start_port": "65472"},
    "short-slug-sorts-before-config": {"project_name": "Ab"},
    "longest-slug": {"project_name": "Billing", "project_slug": "b" * 40},
    "quotes-and-backslash": {
        "project_name": 'Bob\'s "Quoted" Service',
        "project_slug": "quoted_service",
        "description": 'Says "hi", it\'s \\ fine: café 🚀 𝔘 <tag> & ## Run it',
    },
    "python-3.13-image": {"python_version": "3.13"},
    "full-metrics-profile": {"metrics_profile": "full"},
    "asgi-interface": {"interface": "asgi"},
    "aggregated-metrics-mode-named-environment": {"metrics_mode": "aggregated", "project_slug": "environment"},
    "strict-slos": {
        "slo_availability_target": "99.99",
        "slo_latency_target": "99.9",
        "slo_latency_threshold_seconds": "0.1",
        "slo_period_days": "28",
    },
    "lenient-slos-whole-second-threshold": {
        "slo_availability_target": "95",
        "slo_latency_target": "97.5",
        "slo_latency_threshold_seconds": "1",
        "slo_period_days": "7",
    },
}

UNSUPPORTED = {
    "slug-with-dash": ({"project_slug": "orders-service"}, "project_slug='orders-service' is not a valid package name"),
    "slug-uppercase": ({"project_slug": "Orders"}, "project_slug='Orders' is not a valid package name"),
    "slug-keyword": ({"project_slug": "import"}, "project_slug='import' is a Python keyword"),
    "slug-shadows-config": ({"project_slug": "config"}, "project_slug='config' clashes with a package"),
    "repository-url-trailing-slash": (
        {"repository_url": "https://github.com/org/orders/"},
        "repository_url='https://github.com/org/orders/' is not allowed",
    ),
    "zero-workers": ({"web_concurrency": "0"}, "web_concurrency='0' is not allowed: use a whole number from 1 to 64"),
    "fractional-workers": ({"web_concurrency": "1.5"}, "web_concurrency='1.5' is not allowed"),
    "privileged-http-port": ({"http_port": "80"}, "http_port='80' is not allowed: use a whole number from 1024"),
    "port-not-a-number": ({"metrics_start_port": "abc"}, "metrics_start_port='abc' is not allowed"),
    "range-past-65535": (
        {"metrics_start_port": "65535", "web_concurrency": "2"},
        "metrics_start_port=65535 with web_concurrency=2 needs ports 65535..65536, past 65535",
    ),
    "http-inside-range": (
        {"http_port": "9101"},
        "http_port=9101 lies inside the metrics port range 9100..9103",
    ),
    "objective-100": ({"slo_availability_target": "100"}, "slo_availability_target='100' is not allowed"),
    "objective-below-95": ({"slo_latency_target": "90"}, "slo_latency_target='90' is not allowed"),
    "threshold-zero": ({"slo_latency_threshold_seconds": "0"}, "slo_latency_threshold_seconds='0' is not allowed"),
    "period-too-short": ({"slo_period_days": "3"}, "slo_period_days='3' is not allowed: use a whole number from 7"),
    "quote-in-bad-slug": ({"project_slug": "it's"}, 'project_slug="it\'s" is not a valid package name'),
    "empty-name": ({"project_name": ""}, "project_name is empty: give the service a human-readable name"),
    "name-of-5000-characters": ({"project_name": "x" * 5000}, "project_name is 5000 characters long: use at most 100"),
    "slug-shadows-json": ({"project_slug": "json"}, "project_slug='json' is the name of a Python standard-library"),
    "slug-shadows-os": ({"project_slug": "os"}, "project_slug='os' is the name of a Python standard-library module"),
    "slug-shadows-logging": ({"project_slug": "logging"}, "project_slug='logging' is the name of a Python standard"),
    "slug-shadows-typing": ({"project_slug": "typing"}, "project_slug='typing' is the name of a Python standard"),
    "slug-shadows-builtins": ({"project_slug": "builtins"}, "project_slug='builtins' is the name of a Python"),
    "slug-shadows-asgiref": ({"project_slug": "asgiref"}, "project_slug='asgiref' clashes with a package"),
    "slug-shadows-yaml": ({"project_slug": "yaml"}, "project_slug='yaml' clashes with a package"),
    "slug-shadows-pytest": ({"project_slug": "pytest"}, "project_slug='pytest' clashes with a package"),
    "slug-shadows-sqlparse": ({"project_slug": "sqlparse"}, "project_slug='sqlparse' clashes with a package"),
    "http-port-leading-zero": ({"http_port": "08000"}, "http_port='08000' is not allowed: write it plainly as 8000"),
    "http-port-spaces": ({"http_port": " 8000 "}, "http_port=' 8000 ' is not allowed: write it plainly as 8000"),
    "workers-octal-looking": (
        {"web_concurrency": "010"},
        "web_concurrency='010' is not allowed: write it plainly as 10",
    ),
    "period-leading-zero": ({"slo_period_days": "030"}, "slo_period_days='030' is not allowed: write it plainly as 30"),
    "threshold-leading-zero": (
        {"slo_latency_threshold_seconds": "01"},
        "slo_latency_threshold_seconds='01' is not allowed: write it plainly as 1",
    ),
    "objective-with-spaces": (
        {"slo_availability_target": " 99.9"},
        "slo_availability_target=' 99.9' is not allowed: write it plainly as 99.9",
    ),
    "start-port-with-sign": ({"metrics_start_port": "+9100"}, "metrics_start_port='+9100' is not allowed: write it"),
    "slug-trailing-underscore": ({"project_slug": "orders_"}, "project_slug='orders_' ends in an underscore"),
    "slug-django-admin": ({"project_slug": "admin"}, "project_slug='admin' is the label of a Django contrib app"),
    "slug-django-auth": ({"project_slug": "auth"}, "project_slug='auth' is the label of a Django contrib app"),
    "slug-is-the-chart-directory": ({"project_slug": "chart"}, "project_slug='chart' clashes with a package"),
    "slug-is-the-scripts-directory": ({"project_slug": "scripts"}, "project_slug='scripts' clashes with a package"),
    "description-of-two-lines": (
        {"description": "One.\n## Run it\n```sh\nrm -rf ~\n```"},
        "description='One.\\n## Run it\\n```sh\\nrm -rf ~\\n```' is not allowed: write one line of printable text",
    ),
}

# Jinja left unrendered: cookiecutter variables anywhere; any Jinja-like braces outside the
# places whose own syntax uses them (Helm templates, Grafana legend formats, Actions expressions).
OWN_BRACES = {("chart", "templates"), ("chart", "dashboards"), (".github", "workflows")}
COOKIECUTTER_SYNTAX = re.compile(r"\{\{-?\s*cookiecutter|\{%-?[^%]*cookiecutter|cookiecutter\.")
JINJA_SYNTAX = re.compile(r"\{\{|\{%|\{#")


def baked_files(project: Path) -> list[Path]:
    return [path for path in project.rglob("*") if path.is_file() and "__pycache__" not in path.parts]


@pytest.mark.parametrize("context", SUPPORTED.values(), ids=SUPPORTED.keys())
def test_supported_combination_bakes_clean(bake, context):
    project = bake(**context)
    assert (project / "manage.py").is_file()
    assert (project / "gunicorn.conf.py").is_file()
    slug = context.get("project_slug") or project.name
    assert project.name == slug and (project / slug / "apps.py").is_file()

    leftovers = []
    for path in baked_files(project):
        relative = path.relative_to(project)
        if JINJA_SYNTAX.search(str(relative)):
            leftovers.append(f"{relative} (path)")
        text = path.read_text(errors="replace")
        braces_allowed = relative.parts[:2] in OWN_BRACES
        if COOKIECUTTER_SYNTAX.search(text) or (not braces_allowed and JINJA_SYNTAX.search(text)):
            leftovers.append(str(relative))
    assert leftovers == []


def test_the_bake_holds_the_teams_package_config_and_the_runtime(bake):
    """Everything the template owns in Python lives under one root beside the team's package (and the
    repository's commands, which the service never imports: the import contracts keep it so)."""
    project = bake()
    packages = {path.parent.name for path in project.glob("*/__init__.py")}
    assert packages == {project.name, "config", "service_runtime", "tests", "scripts"}
    modules = {path.name for path in project.glob("*.py")}
    assert modules == {"manage.py", "gunicorn.conf.py"}


def test_a_choice_outside_its_list_is_refused_before_anything_is_written(cookies, tmp_path):
    """cookiecutter itself refuses a choice answer it does not list (the hook's validators cover the rest)."""
    result = cookies.bake(extra_context={"interface": "rsgi"})
    assert result.exit_code != 0 and "the choices are ['wsgi', 'asgi']" in str(result.exception)
    assert list((tmp_path / "cookies").glob("*/*")) == []


def test_free_text_reads_back_unchanged_from_toml_and_yaml(bake):
    """M6: an emoji once baked a surrogate pair (tojson), which TOML and YAML refuse."""
    context = SUPPORTED["quotes-and-backslash"]
    project = bake(**context)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    chart = yaml.safe_load((project / "chart" / "Chart.yaml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == chart["description"] == context["description"]


@pytest.mark.parametrize("context", SUPPORTED.values(), ids=SUPPORTED.keys())
def test_supported_combination_is_lint_clean(bake, context):
    project = bake(**context)
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", "--no-cache", "."], cwd=project, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run([*ruff, "format", "--check", "--no-cache", "."], cwd=project, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout


# Bakes whose Python differs beyond constants: the others type-check exactly as "defaults" does.
TYPED_SHAPES = (
    "defaults",
    "longest-slug",
    "quotes-and-backslash",
    "python-3.13-image",
    "full-metrics-profile",
    "aggregated-metrics-mode-named-environment",
    "asgi-interface",
)


@pytest.mark.parametrize("shape", TYPED_SHAPES)
def test_supported_code_shape_type_checks_strictly(bake, baked_venv, shape, mypy_cache):
    result = type_check(bake(**SUPPORTED[shape]), baked_venv, mypy_cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


@pytest.mark.suite
@pytest.mark.parametrize("context", SUPPORTED.values(), ids=SUPPORTED.keys())
def test_supported_combination_passes_its_own_tests(background, request, context, report):
    """Run in the background from the session's start (tests/support/background.py); this collects the result."""
    result = background.result(request.node.callspec.id)
    report(background.waited(request.node.callspec.id))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b\d+ passed\b", result.stdout)
    if not context and postgres_skip_reason() is None:  # the default bake's suite ran on PostgreSQL
        assert background.databases[request.node.callspec.id].startswith("postgres://")


@pytest.mark.parametrize(("context", "message"), UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_unsupported_combination_is_refused_with_a_clear_message(cookies, capfd, tmp_path, context, message):
    result = cookies.bake(extra_context=context)
    assert result.exit_code != 0
    assert result.project_path is None
    error_lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR: ")]
    assert len(error_lines) == 1, error_lines
    assert message in error_lines[0]
    # pytest-cookies bakes into tmp_path/cookies/bakeNN: nothing may be left half-written there.
    assert list((tmp_path / "cookies").glob("*/*")) == []


def test_template_code_itself_is_lint_clean():
    ruff = [sys.executable, "-m", "ruff"]
    # Named paths: ruff would otherwise try to read the template's unrendered pyproject.toml.
    paths = ["hooks", "tests", "benchmarks"]
    for command in (["check", "--no-cache", *paths], ["format", "--check", "--no-cache", *paths]):
        result = subprocess.run([*ruff, *command], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
