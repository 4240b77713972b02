"""A small tmpfs for the metrics-fault tests: a runtime directory that really runs out of space."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(mountpoint: Path, size_kib: int, leave_free_kib: int) -> Iterator[Path]:
    """Mount a ``size_kib`` tmpfs at ``mountpoint`` (mode 1777, as /tmp) filled up to ``leave_free_kib``.

    Needs root (CI runs as root); elsewhere the test is skipped, naming why.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mountpoint.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=1777", "tmpfs", mountpoint], check=True)
    try:
        filler = mountpoint / "filler"
        with open(filler, "wb", buffering=0) as handle:  # unbuffered: close() has nothing left to fail on
            try:
                while True:
                    handle.write(b"\0" * 4096)
            except OSError:
                pass  # full
        os.truncate(filler, max(0, filler.stat().st_size - leave_free_kib * 1024))
        yield mountpoint
    finally:
        subprocess.run(["umount", "--lazy", mountpoint], check=True)
