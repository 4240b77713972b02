"""Packages from the npm registry, unpacked once under .cache/ (``npm pack``: nothing is installed or run)."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tests.support.paths import CACHE


def unpacked(spec: str) -> Path | None:
    """The unpacked ``package/`` directory of ``spec`` (name@version), or None without npm."""
    name, _, version = spec.rpartition("@")
    target = CACHE / f"npm-{name.strip('@').replace('/', '-')}-{version}"
    if (target / "package").is_dir():
        return target / "package"
    npm = shutil.which("npm")
    if npm is None:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:  # same filesystem: the final move is a rename
        command = [npm, "pack", "--silent", spec]
        packed = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=True)
        tarball = Path(scratch) / packed.stdout.strip().splitlines()[-1]
        partial = Path(scratch) / "unpacked"
        with tarfile.open(tarball) as archive:
            archive.extractall(partial, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)  # only a complete package is ever found in the cache
    return target / "package"


def installed(spec: str, command: str) -> Path | None:
    """The path of ``command`` in ``spec`` (name@version) installed with its dependencies once under
    .cache/ (``npm install``: for a package that needs its dependencies to run), or None without npm."""
    name, _, version = spec.rpartition("@")
    target = CACHE / f"npm-installed-{name.strip('@').replace('/', '-')}-{version}"
    binary = target / "node_modules" / ".bin" / command
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:  # same filesystem: the final move is a rename
        partial = Path(scratch) / "installed"
        partial.mkdir()
        command_line = [npm, "install", "--silent", "--no-audit", "--no-fund", "--omit=optional", spec]
        subprocess.run(command_line, cwd=partial, capture_output=True, text=True, check=True, timeout=600)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)  # only a complete install is ever found in the cache
    return binary
