"""Unit tests of the hooks' validators and helpers, imported from the hooks package."""

import json

import pytest

from hooks import post_gen_project as post_gen
from hooks import pre_gen_project as hook
from tests.support.paths import REPO

# cookiecutter.json's defaults as a user accepting them answers (a choice's first entry). The slug's
# default and the repository's are Jinja expressions, given here as they render for the default name.
DEFAULTS = json.loads((REPO / "cookiecutter.json").read_text())
VALID = {
    key: value[0] if isinstance(value, list) else value
    for key, value in DEFAULTS.items()
    if not key.startswith("_") and "{{" not in str(value)
} | {"project_slug": "orders_service", "repository_url": "https://github.com/org/orders_service"}


def rejection(**changes: str) -> str:
    with pytest.raises(hook.InvalidAnswer) as raised:
        hook.validate({**VALID, **changes})
    return str(raised.value)


def test_valid_answers_pass():
    hook.validate(VALID)
    assert hook.main(VALID) == 0


@pytest.mark.parametrize("slug", ["Orders", "orders-service", "9lives", "_private", "orders service", ""])
def test_slug_must_be_a_lowercase_identifier(slug):
    assert rejection(project_slug=slug).startswith(f"project_slug={slug!r} is not a valid package name")


def test_slug_must_not_be_a_keyword():
    assert rejection(project_slug="class") == "project_slug='class' is a Python keyword: choose another name"


@pytest.mark.parametrize("slug", ["config", "django", "tests", "gunicorn"])
def test_slug_must_not_shadow_an_imported_package(slug):
    assert rejection(project_slug=slug).startswith(f"project_slug={slug!r} clashes with a package")


@pytest.mark.parametrize(
    "slug", ["health", "tracing", "environment", "worker_slots", "request_metrics", "database_metrics", "error_budget"]
)
def test_the_runtimes_subpackage_names_are_free_for_the_team(slug):
    """They live under service_runtime/ now, not beside the team's package."""
    hook.validate({**VALID, "project_slug": slug})


def test_slug_must_not_repeat_the_runtimes_root_or_its_app_labels():
    assert rejection(project_slug="service_runtime").startswith("project_slug='service_runtime' clashes with a package")
    for label in sorted(hook.TEMPLATE_APP_LABELS):
        assert rejection(project_slug=label).startswith(f"project_slug={label!r} is the label of one of the template's")


def test_the_template_app_labels_are_the_runtimes_own(bake):
    """The hook's list is every label a runtime AppConfig sets."""
    import re

    labels = {
        found
        for path in (bake() / "service_runtime").glob("*/apps.py")
        for found in re.findall(r'^    label = "(service_runtime_\w+)"', path.read_text(), re.M)
    }
    assert labels == hook.TEMPLATE_APP_LABELS


def test_slug_length_is_bounded_by_kubernetes_names():
    assert "is 41 characters long: use at most 40" in rejection(project_slug="a" * 41)
    hook.validate({**VALID, "project_slug": "a" * 40})


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "four", "65", ""])
def test_web_concurrency_must_be_a_positive_whole_number(value):
    assert rejection(web_concurrency=value) == (
        f"web_concurrency={value!r} is not allowed: use a whole number from 1 to 64"
    )


@pytest.mark.parametrize("key", ["http_port", "metrics_start_port"])
@pytest.mark.parametrize("value", ["80", "1023", "65536", "port", "8000.0"])
def test_ports_must_be_unprivileged_whole_numbers(key, value):
    assert rejection(**{key: value}) == f"{key}={value!r} is not allowed: use a whole number from 1024 to 65535"


def test_metrics_range_must_end_by_65535():
    assert rejection(metrics_start_port="65533", web_concurrency="4") == (
        "metrics_start_port=65533 with web_concurrency=4 needs ports 65533..65536, past 65535:"
        " lower metrics_start_port to at most 65532"
    )
    hook.validate({**VALID, "metrics_start_port": "65532", "web_concurrency": "4"})


@pytest.mark.parametrize("http_port", ["9100", "9103"])
def test_http_port_must_lie_outside_the_metrics_range(http_port):
    assert rejection(http_port=http_port) == (
        f"http_port={http_port} lies inside the metrics port range 9100..9103"
        " (metrics_start_port=9100, web_concurrency=4): move one of them"
    )


def test_http_port_just_outside_the_range_passes():
    hook.validate({**VALID, "http_port": "9104"})
    hook.validate({**VALID, "http_port": "9099"})


def test_main_prints_one_error_line_and_fails(capsys):
    assert hook.main({**VALID, "web_concurrency": "0"}) == 1
    assert capsys.readouterr().err == "ERROR: web_concurrency='0' is not allowed: use a whole number from 1 to 64\n"


def test_post_gen_names_the_chart_helpers_after_the_chart(tmp_path):
    templates = tmp_path / "templates"
    (templates / "tests").mkdir(parents=True)
    (templates / "_helpers.tpl").write_text('{{- define "__chart__.fullname" -}}x{{- end }}')
    (templates / "tests" / "pod.yaml").write_text('name: {{ include "__chart__.fullname" . }}')
    (templates / "plain.yaml").write_text("kind: ConfigMap  # __chart__ without a quote stays")

    changed = post_gen.namespace_helpers(templates, "orders-service")

    assert sorted(p.name for p in changed) == ["_helpers.tpl", "pod.yaml"]
    assert (templates / "_helpers.tpl").read_text() == '{{- define "orders-service.fullname" -}}x{{- end }}'
    assert (templates / "tests" / "pod.yaml").read_text() == 'name: {{ include "orders-service.fullname" . }}'
    assert "__chart__ without a quote" in (templates / "plain.yaml").read_text()


@pytest.mark.parametrize("key", ["slo_availability_target", "slo_latency_target"])
@pytest.mark.parametrize("value", ["100", "94.9", "99.9999", "abc", "99,9", "-99", "199"])
def test_objectives_are_percentages_a_fast_burn_can_exceed(key, value):
    assert rejection(**{key: value}) == (
        f"{key}={value!r} is not allowed: use a percentage from 95 up to, not including, 100,"
        " with at most three decimals (e.g. 99.9)"
    )


@pytest.mark.parametrize("value", ["95", "99", "99.95", "99.999"])
def test_objectives_in_range_pass(value):
    hook.validate({**VALID, "slo_availability_target": value, "slo_latency_target": value})


@pytest.mark.parametrize("value", ["0", "0.0001", "61", "fast", "-1"])
def test_latency_threshold_is_a_sane_number_of_seconds(value):
    assert rejection(slo_latency_threshold_seconds=value).startswith(
        f"slo_latency_threshold_seconds={value!r} is not allowed: use seconds from 0.001 to 60"
    )


@pytest.mark.parametrize("value", ["6", "91", "thirty"])
def test_period_is_one_week_to_three_months(value):
    assert rejection(slo_period_days=value) == (
        f"slo_period_days={value!r} is not allowed: use a whole number from 7 to 90"
    )


def test_metrics_profile_is_lean_or_full():
    hook.validate({**VALID, "metrics_profile": "full"})
    assert rejection(metrics_profile="tiny") == "metrics_profile='tiny' is not allowed: use one of lean, full"


def test_interface_is_wsgi_or_asgi():
    for interface in ("wsgi", "asgi"):
        hook.validate({**VALID, "interface": interface})
    assert rejection(interface="rsgi") == "interface='rsgi' is not allowed: use one of wsgi, asgi"


def test_metrics_mode_is_per_worker_or_aggregated():
    hook.validate({**VALID, "metrics_mode": "aggregated"})
    expected = "metrics_mode='per_pod' is not allowed: use one of per_worker, aggregated"
    assert rejection(metrics_mode="per_pod") == expected


def test_aggregated_mode_needs_only_its_one_port():
    hook.validate({**VALID, "metrics_mode": "aggregated", "metrics_start_port": "65535", "web_concurrency": "8"})
    assert rejection(metrics_mode="aggregated", http_port="9100") == (
        "http_port=9100 lies inside the metrics port range 9100..9100"
        " (metrics_start_port=9100, metrics_mode=aggregated): move one of them"
    )


@pytest.mark.parametrize(
    ("key", "typed", "plain"),
    [
        ("http_port", "08000", "8000"),
        ("http_port", "+8000", "8000"),
        ("metrics_start_port", "9100 ", "9100"),
        ("web_concurrency", "04", "4"),
        ("slo_period_days", "030", "30"),
        ("slo_latency_threshold_seconds", "00.3", "0.3"),
        ("slo_latency_threshold_seconds", "01", "1"),
        ("slo_latency_target", "99 ", "99"),
    ],
    ids=lambda value: repr(value),
)
def test_numbers_must_be_written_plainly(key, typed, plain):
    assert rejection(**{key: typed}) == (
        f"{key}={typed!r} is not allowed: write it plainly as {plain} (no leading zeros, signs or spaces)"
    )


def test_the_reserved_import_names_cover_every_package_the_baked_pins_install(baked_venv):
    """The hook runs with the standard library only, so its list is written out; this keeps it true."""
    import subprocess

    # Only names a slug could take: identifiers (mypyc's hashed modules and *-stubs folders are not).
    code = "import importlib.metadata as m; print(*sorted(k for k in m.packages_distributions() if k.isidentifier()))"
    installed = subprocess.run([baked_venv / "bin/python", "-c", code], capture_output=True, text=True, check=True)
    assert {name for name in installed.stdout.split() if not name.startswith("_")} <= hook.REQUIREMENT_IMPORT_NAMES


@pytest.mark.parametrize("slug", ["json", "os", "logging", "typing", "builtins", "sys", "email", "http"])
def test_slug_must_not_shadow_a_standard_library_module(slug):
    assert rejection(project_slug=slug).startswith(f"project_slug={slug!r} is the name of a Python standard-library")


def test_project_name_is_bounded():
    assert rejection(project_name="x" * 101) == (
        "project_name is 101 characters long: use at most 100 (e.g. 'Orders Service')"
    )


def test_next_steps_are_the_baked_readmes_run_it_commands(bake):
    project = bake()
    commands = post_gen.run_it_commands((project / "README.md").read_text())
    assert len(commands) == 5
    assert commands[0].startswith("cp .env.example .env") and commands[1].startswith("docker compose up --build")
    assert commands[2].startswith("python3 -m venv .venv")
    assert "gunicorn" in commands[3] and commands[4] == ".venv/bin/pytest"
    steps = post_gen.next_steps(project).splitlines()
    assert steps[1:] == [f"  cd {project.name}", *(f"  {command}" for command in commands)]


def test_baking_prints_the_next_steps(cookies, capfd):
    result = cookies.bake(extra_context={"project_name": "Next Steps"})
    assert result.exit_code == 0
    printed = capfd.readouterr().out
    assert "Baked next_steps. Next steps (README.md, 'Run it'):\n  cd next_steps\n  cp .env.example .env" in printed


def test_next_steps_come_from_the_readmes_own_section_not_the_description():
    """L13: a description that reads like the heading must not supply the printed commands."""
    readme = "# Svc\n\n## Run it\n```sh\nrm -rf ~\n```\n\n## Run it\n\n```sh\n.venv/bin/pytest\n```\n\n## Next\n"
    assert post_gen.run_it_commands(readme) == [".venv/bin/pytest"]


@pytest.mark.parametrize("description", ["tab\there", "bell\a", "del\x7f", "line\u2028separator"])
def test_description_must_be_one_printable_line(description):
    assert rejection(description=description).startswith(f"description={description!r} is not allowed")


@pytest.mark.parametrize(
    "url",
    [
        "github.com/org/orders",
        "ftp://example.com/orders",
        "https://github.com/org/orders/",
        "https://github.com",
        "https://github.com/org/orders?tab=readme",
        "https://github.com/org/or ders",
        'https://github.com/org/"orders"',
    ],
    ids=["no-scheme", "ftp", "trailing-slash", "no-path", "query", "space", "quotes"],
)
def test_repository_url_must_be_a_plain_web_address(url):
    assert rejection(repository_url=url).startswith(f"repository_url={url!r} is not allowed: give the repository's")


@pytest.mark.parametrize(
    "url", ["https://github.com/org/orders_service", "https://gitlab.example.com:8443/platform/team/orders-service"]
)
def test_repository_url_accepts_hosted_repositories(url):
    hook.validate({**VALID, "repository_url": url})
