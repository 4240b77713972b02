"""Updating a baked service when the template moves, with cruft.

The template is committed to a git repository of its own; a service is baked from that
commit with `cruft create` and edited by its team; the template then changes (a new
setting, a changed chart value) and `cruft update` brings the change in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

CRUFT = Path(sys.executable).parent / "cruft"  # installed next to this Python from requirements-test.txt
TEMPLATE_PARTS = ("cookiecutter.json", "local_extensions.py", "hooks", "{{cookiecutter.project_slug}}")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}
NEW_SETTING = "\n# Added by a later template commit.\nTEMPLATE_FOLLOW_UP = True\n"


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
    run(CRUFT, "update", "--skip-apply-ask", "--allow-untracked-files", cwd=service)

    assert (service / "config" / "settings" / "base.py").read_text().endswith(NEW_SETTING)
    updated_values = values.read_text()
    assert "replicaCount: 3" in updated_values, "the template's change arrived"
    assert "tmpVolumeSize: 1Gi" in updated_values, "the service's own edit survived"
    assert "## Our runbook" in (service / "README.md").read_text()
    assert not list(service.rglob("*.rej")), "every hunk applied"
    run(CRUFT, "check", cwd=service)

    tests = run(
        baked_venv / "bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not promtool", cwd=service
    )
    assert " passed" in tests.stdout
