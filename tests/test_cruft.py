"""Updating a baked service when the template moves, with cruft.

The template is committed to a git repository of its own; a service is baked from that
commit with `cruft create` and edited by its team; the template then changes (a new
setting, a changed chart value, a runtime module, a settings default) and `cruft update`
brings the change in without touching what the team wrote in its own files.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.paths import REPO

# Each test runs the updated service's own suite: out of ./run-tests --fast.
pytestmark = pytest.mark.suite

CRUFT = Path(sys.executable).parent / "cruft"  # installed next to this Python from requirements-test.txt
TEMPLATE_PARTS = ("cookiecutter.json", "local_extensions.py", "hooks", "{{cookiecutter.project_slug}}")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}
# The updated service's suite, but for what waits on a clock and no update changes (promtool's
# multi-day scenarios, the exporter's idle timeout): the supported bakes' own suites run those.
UPDATED_SUITE = "not promtool and not test_idle_connections_cannot_pile_up_threads"
# Where the update changes a setting, a chart value or a line of a runtime module: the tests that load
# the whole project (settings, URLs, checks, probes, import contracts), and the team's own. The update
# that moves the whole runtime (test_a_service_baked_before_the_move_updates_into_the_new_layout) runs
# the whole suite.
WHOLE_PROJECT_TESTS = (
    "tests/test_imports.py",
    "tests/test_urls.py",
    "tests/test_checks.py",
    "tests/test_health.py",
    "tests/test_production_settings.py",
)
TEAM_TEST = "tests/test_orders.py"
TEMPLATE_FOLLOW_UP_NOTE = "\n# Changed by a later template commit.\n"
NEW_SETTING = "\n# Added by a later template commit.\nTEMPLATE_FOLLOW_UP = True\n"
UPDATE_WORKFLOW = REPO / "{{cookiecutter.project_slug}}" / ".github" / "workflows" / "template-update.yml"


def workflow_command(starts: str) -> list[str]:
    """The command a step of the baked template-update workflow runs, as argv."""
    steps = yaml.safe_load(UPDATE_WORKFLOW.read_text())["jobs"]["update"]["steps"]
    [command] = [step["run"] for step in steps if step.get("run", "").startswith(starts)]
    return shlex.split(command)


# The command the baked workflow runs weekly: every update here runs exactly it.
UPDATE = workflow_command("cruft update")


def test_the_workflow_installs_the_cruft_these_tests_run():
    requirements = (REPO / "requirements-test.txt").read_text().splitlines()
    pinned = next(line for line in requirements if line.startswith("cruft=="))
    assert workflow_command("python -m pip install cruft")[-1] == pinned.split()[0]


def run(*argv, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_IDENTITY}
    result = subprocess.run([str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result


def commit(directory: Path, message: str) -> None:
    run("git", "add", "-A", cwd=directory)
    run("git", "commit", "-q", "-m", message, cwd=directory)


@pytest.fixture
def template_repo(tmp_path) -> Path:
    template = tmp_path / "template"
    template.mkdir()
    for part in TEMPLATE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, template / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, template / part)
    run("git", "init", "-q", "-b", "main", cwd=template)
    commit(template, "template v1")
    return template


def test_cruft_update_brings_template_changes_and_keeps_the_services_own(template_repo, tmp_path, baked_venv):
    out = tmp_path / "services"
    out.mkdir()
    run(CRUFT, "create", template_repo, "--no-input", "--output-dir", out, cwd=tmp_path)
    service = out / "orders_service"
    assert (service / ".cruft.json").is_file()
    run("git", "init", "-q", "-b", "main", cwd=service)
    commit(service, "baked")

    # The team's own edits: a README section and a chart value the template will not touch.
    (service / "README.md").write_text((service / "README.md").read_text() + "\n## Our runbook\n\nPage the team.\n")
    values = service / "chart" / "values.yaml"
    values.write_text(values.read_text().replace("tmpVolumeSize: 256Mi", "tmpVolumeSize: 1Gi"))
    commit(service, "our edits")

    # The template moves on: a new setting, and a changed chart default.
    base = template_repo / "{{cookiecutter.project_slug}}" / "config" / "settings" / "base.py"
    base.write_text(base.read_text() + NEW_SETTING)
    chart_values = template_repo / "{{cookiecutter.project_slug}}" / "chart" / "values.yaml"
    chart_values.write_text(chart_values.read_text().replace("replicaCount: 2", "replicaCount: 3"))
    commit(template_repo, "template v2")

    assert subprocess.run([CRUFT, "check"], cwd=service, capture_output=True).returncode != 0, "behind the template"
    run(CRUFT, *UPDATE[1:], cwd=service)

    assert (service / "config" / "settings" / "base.py").read_text().endswith(NEW_SETTING)
    updated_values = values.read_text()
    assert "replicaCount: 3" in updated_values, "the template's change arrived"
    assert "tmpVolumeSize: 1Gi" in updated_values, "the service's own edit survived"
    assert "## Our runbook" in (service / "README.md").read_text()
    assert not list(service.rglob("*.rej")), "every hunk applied"
    run(CRUFT, "check", cwd=service)

    tests = run(
        baked_venv / "bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *WHOLE_PROJECT_TESTS, cwd=service
    )
    assert " passed" in tests.stdout


TEAM_FILES = {
    "orders_service/models.py": (
        "from django.db import models\n\n\nclass Order(models.Model):\n    number = models.CharField(max_length=20)\n"
    ),
    "orders_service/settings.py": '"""The team\'s settings."""\n\nORDERS_PAGE_SIZE = 50\n',
    "tests/test_orders.py": (
        "import pytest\nfrom django.conf import settings\n\n\n"
        "@pytest.mark.django_db\ndef test_orders_are_counted(client):\n"
        '    assert client.get("/orders/").json() == {"orders": 0}\n'
        "    assert settings.ORDERS_PAGE_SIZE == 50\n"
    ),
}


def test_an_update_of_the_template_never_meets_the_teams_own_files(template_repo, tmp_path, baked_venv):
    """The team adds views, a model, a setting and a dependency; the template changes a runtime
    module and a settings default. The update touches no team file and the service's tests pass."""
    out = tmp_path / "services"
    out.mkdir()
    run(CRUFT, "create", template_repo, "--no-input", "--output-dir", out, cwd=tmp_path)
    service = out / "orders_service"
    run("git", "init", "-q", "-b", "main", cwd=service)
    commit(service, "baked")

    for name, text in TEAM_FILES.items():
        (service / name).write_text(text)
    views = service / "orders_service" / "views.py"
    views.write_text(
        views.read_text().replace("\n\n\ndef index", "\nfrom orders_service.models import Order\n\n\ndef index", 1)
        + "\n\ndef orders(request: HttpRequest) -> JsonResponse:\n"
        + '    return JsonResponse({"orders": Order.objects.count()})\n'
    )
    urls = service / "orders_service" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("import index", "import index, orders")
        .replace('name="index"),', 'name="index"),\n    path("orders/", orders),')
    )
    requirements = service / "requirements.txt"
    requirements.write_text(requirements.read_text() + "sqlparse==0.6.1  # the team's own dependency\n")
    run(baked_venv / "bin/python", "manage.py", "makemigrations", "orders_service", "-v0", cwd=service)
    commit(service, "the team's orders")
    team = {path: path.read_bytes() for path in service.rglob("*") if path.is_file() and ".git" not in path.parts}

    baked = template_repo / "{{cookiecutter.project_slug}}"
    exporter = baked / "service_runtime" / "worker_slots" / "exporter.py"
    exporter.write_text(exporter.read_text() + TEMPLATE_FOLLOW_UP_NOTE)
    base = baked / "config" / "settings" / "base.py"
    base.write_text(base.read_text().replace('TIME_ZONE = "UTC"', 'TIME_ZONE = "Etc/UTC"'))
    commit(template_repo, "template v2: a runtime module and a settings default")

    run(CRUFT, *UPDATE[1:], cwd=service)

    changed = run("git", "status", "--porcelain", cwd=service).stdout.split("\n")
    assert sorted(line[3:] for line in changed if line) == [
        ".cruft.json",
        "config/settings/base.py",
        "service_runtime/worker_slots/exporter.py",
    ], "the update touched the template's files only"
    assert not list(service.rglob("*.rej"))
    assert TEMPLATE_FOLLOW_UP_NOTE in (service / "service_runtime" / "worker_slots" / "exporter.py").read_text()
    assert 'TIME_ZONE = "Etc/UTC"' in (service / "config" / "settings" / "base.py").read_text()
    untouched = [path for path, text in team.items() if path.exists() and path.read_bytes() == text]
    assert len(untouched) == len(team) - 3, "every other file, the team's own included, is as the team left it"

    tests = run(
        baked_venv / "bin/python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *WHOLE_PROJECT_TESTS,
        TEAM_TEST,
        cwd=service,
    )
    assert " passed" in tests.stdout and "test_orders" not in tests.stdout.split("short test summary")[-1]


# The template's last commit before its runtime moved under service_runtime/ (issue 37): a service
# baked then has seven runtime packages beside its own.
BEFORE_THE_MOVE = "65d42ff3b8e89cc314e88dec1c01cfdccd629435"
MOVED_PACKAGES = (
    "environment",
    "worker_slots",
    "request_metrics",
    "database_metrics",
    "tracing",
    "health",
    "error_budget",
)


@pytest.fixture
def pre_move_template(tmp_path) -> Path:
    """The template as it was before the move, from this repository's history, in a repository of its own."""
    template = tmp_path / "template"
    template.mkdir()
    archive = subprocess.run(
        ["git", "archive", BEFORE_THE_MOVE, *TEMPLATE_PARTS], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout
    subprocess.run(["tar", "-x"], cwd=template, input=archive, check=True, timeout=60)
    run("git", "init", "-q", "-b", "main", cwd=template)
    commit(template, "template before the move")
    return template


def test_a_service_baked_before_the_move_updates_into_the_new_layout(pre_move_template, tmp_path, baked_venv):
    out = tmp_path / "services"
    out.mkdir()
    run(CRUFT, "create", pre_move_template, "--no-input", "--output-dir", out, cwd=tmp_path)
    service = out / "orders_service"
    run("git", "init", "-q", "-b", "main", cwd=service)
    commit(service, "baked")
    team_files = {
        "orders_service/settings.py": TEAM_FILES["orders_service/settings.py"],
        "tests/test_team.py": (
            "from django.conf import settings\n\n\n"
            "def test_the_teams_setting_is_read():\n    assert settings.ORDERS_PAGE_SIZE == 50\n"
        ),
    }
    for name, text in team_files.items():
        (service / name).write_text(text)
    urls = service / "orders_service" / "urls.py"
    urls.write_text(urls.read_text() + "\n# The team's note.\n")
    commit(service, "the team's own files")
    team = {name: (service / name).read_bytes() for name in [*team_files, "orders_service/urls.py"]}

    # The template moves to today's layout, as a later commit of the same repository.
    for part in TEMPLATE_PARTS:
        target = pre_move_template / part
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    commit(pre_move_template, "template: the runtime under service_runtime/")

    run(CRUFT, *UPDATE[1:], cwd=service)

    assert not list(service.rglob("*.rej")), "every hunk applied"
    assert {path.parent.name for path in service.glob("*/__init__.py")} == {
        "orders_service",
        "config",
        "service_runtime",
        "tests",
        "scripts",  # the repository's commands
    }, "the old packages are gone, the root is there"
    assert not [name for name in MOVED_PACKAGES if (service / name).exists()]
    assert {name: (service / name).read_bytes() for name in team} == team, "the team's files are as it left them"
    run(CRUFT, "check", cwd=service)
    tests = run(
        baked_venv / "bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", UPDATED_SUITE, cwd=service
    )
    assert " passed" in tests.stdout
