"""The import contracts in pyproject.toml hold: the team's code above the template's runtime, never below."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SERVICE_PACKAGE = "{{ cookiecutter.project_slug }}"


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    command = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([command, "--no-cache"], cwd=project, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_hold():
    result = lint_imports(PROJECT_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken\.", result.stdout), result.stdout


def test_an_import_of_the_teams_code_from_the_runtime_breaks_a_contract(tmp_path):
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns(".venv", "__pycache__", ".*cache", "staticfiles")
    shutil.copytree(PROJECT_DIR, project, ignore=ignore)
    planted = project / "service_runtime" / "health" / "planted.py"
    planted.write_text(f"import {SERVICE_PACKAGE}.apps  # noqa: F401\n")
    result = lint_imports(project)
    assert result.returncode != 0, result.stdout
    report = " ".join(result.stdout.split())  # lint-imports wraps long lines at the terminal's width
    assert "BROKEN" in report and f"service_runtime.health.planted -> {SERVICE_PACKAGE}.apps" in report
