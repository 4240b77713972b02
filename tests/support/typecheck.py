"""Strict mypy on a baked project, with one cache shared by every bake of the session.

Why the files are named by absolute path: mypy trusts a cached module without reading it
again when the module's recorded path, size and whole-second mtime all match. Bakes share
module names (``config.settings.base``) and relative paths, and bakes made in the same
second with slugs of equal length write files of equal size, so with the relative paths
mypy reads from ``pyproject.toml`` one bake would be checked against another's cache. An
absolute path differs between bakes, so mypy compares content hashes instead: the cache
still saves the analysis of Django's stubs and every other shared dependency, and never
hands one bake another's modules.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path


def mypy_targets(project: Path) -> list[str]:
    """What ``mypy`` with no arguments checks in ``project`` (its ``[tool.mypy] files``), as absolute paths."""
    config = tomllib.loads((project / "pyproject.toml").read_text())
    return [str((project / name).resolve()) for name in config["tool"]["mypy"]["files"]]


def type_check(project: Path, venv: Path, cache: Path) -> subprocess.CompletedProcess:
    command = [venv / "bin/mypy", "--cache-dir", cache, *mypy_targets(project)]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300)
