"""A newcomer follows the baked README word for word: set up, start gunicorn, curl every port, test."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.support.load import get
from tests.support.metrics import scrape
from tests.support.ports import free_block
from tests.support.processes import Process
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def shell_blocks(readme: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)]


def test_baked_readme_commands_run_and_serve_every_worker(bake, tmp_path):
    ports = free_block(5)
    project = bake(
        project_name="Readme Check", web_concurrency="4", http_port=str(ports[0]), metrics_start_port=str(ports[1])
    )
    # The service alone; the whole stack's commands are tests/test_compose_stack.py's, with podman-compose.
    alone = (project / "README.md").read_text().split("### The service alone", 1)[1]
    setup, start, run_tests = shell_blocks(alone)[:3]
    # Loopback only, and a control socket of this run's own.
    env = {
        **os.environ,
        "HTTP_BIND_ADDRESS": "127.0.0.1",
        "METRICS_BIND_ADDRESS": "127.0.0.1",
        "GUNICORN_RUNTIME_DIR": str(tmp_path),
    }

    subprocess.run(["bash", "-ec", setup], cwd=project, env=env, check=True, capture_output=True, timeout=600)
    server = Process(["bash", "-ec", f"exec {start}"], project, env, tmp_path / "readme-gunicorn.log")
    try:
        wait_until(lambda: all(_answers(port) for port in ports[1:]), timeout=60)
        assert get(ports[0], "/") == 200
        assert get(ports[0], "/admin/login/") == 200, "static files collected with their manifest"
        assert all("python_info" in scrape(port) for port in ports[1:])
    finally:
        server.stop()

    # The command must work in the virtualenv the README set up; the whole suite of every supported
    # bake runs in test_bake.py (test_supported_combination_passes_its_own_tests), so two files do here.
    env["PYTEST_ADDOPTS"] = "tests/test_health.py tests/test_urls.py"
    result = subprocess.run(["bash", "-ec", run_tests], cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\b\d+ passed\b", result.stdout)


def _answers(port: int) -> bool:
    try:
        return "python_info" in scrape(port, timeout=1)
    except OSError:
        return False
