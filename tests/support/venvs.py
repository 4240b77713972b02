"""Virtualenvs built from pinned requirement files and cached under .cache/ by their content."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import CACHE


def cached_virtualenv(prefix: str, install: Path, pinned_by: list[Path] | None = None) -> Path:
    """A virtualenv with ``pip install -r install``, reused while the pins (and this Python) are unchanged.

    ``pinned_by``: every file the install reads (``install`` itself and any file it includes with -r).
    """
    pins = b"".join(path.read_bytes() for path in pinned_by or [install])
    key = hashlib.sha256(pins + sys.version.encode()).hexdigest()[:16]
    venv = CACHE / f"{prefix}-{key}"
    if (venv / "ready").exists():
        return venv
    for stale in CACHE.glob(f"{prefix}-*"):  # built for pins that have since changed
        if stale != venv:
            shutil.rmtree(stale, ignore_errors=True)
    # A build that died half-way has no "ready" marker and is rebuilt from scratch.
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    pip = [venv / "bin/python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    installed = subprocess.run([*pip, "-r", install], capture_output=True, text=True)
    if installed.returncode != 0:
        raise RuntimeError(f"installing {install.name} failed:\n{installed.stdout}{installed.stderr}")
    (venv / "ready").write_text(key)
    return venv


def baked_virtualenv(project: Path) -> Path:
    """A virtualenv with the baked requirements-dev.txt (which includes requirements.txt and requirements-chart.txt)."""
    pins = [project / "requirements.txt", project / "requirements-chart.txt", project / "requirements-dev.txt"]
    return cached_virtualenv("baked-venv", project / "requirements-dev.txt", pinned_by=pins)
