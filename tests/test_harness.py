"""The test harness itself: shared caches must never let one bake stand in for another."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.typecheck import type_check


def test_bakes_alike_in_size_and_time_each_type_check_against_their_own_code(cookies, baked_venv, mypy_cache):
    # Slugs of equal length give files of equal size; equal mtimes are what bakes made in the
    # same second get. mypy then once read one bake's modules from the other's cache entries.
    projects = []
    for name in ("Alpha Service", "Omega Service"):
        result = cookies.bake(extra_context={"project_name": name})
        assert result.exit_code == 0, result.exception
        projects.append(Path(result.project_path))
    same_second = 1_700_000_000
    for project in projects:
        for path in project.rglob("*"):
            os.utime(path, (same_second, same_second), follow_symlinks=False)

    for project in projects:
        result = type_check(project, baked_venv, mypy_cache)
        assert result.returncode == 0, f"{project.name}: {result.stdout}{result.stderr}"
        assert "Success: no issues found" in result.stdout
