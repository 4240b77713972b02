"""Durable worker slots: a metrics series belongs to a slot, not to a process.

Each gunicorn worker claims one of WEB_CONCURRENCY slots with an exclusive
``fcntl`` lock on ``slot-<i>.lock`` in the instance's slot directory before it
serves anything. The kernel drops the lock when the process dies, however it
dies (``kill -9`` included), so the replacement claims the same slot, exports
on the same port and continues the counts its predecessor left in the slot's
files (see ``durable.py``). One gunicorn master owns a slot directory at a
time (``instance.lock``); a second one is refused.

Standard library only: gunicorn's master imports this before Django or
prometheus_client may be loaded.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

SLOT_DIRECTORY_NAME = "{{ cookiecutter.project_slug }}-metrics"
INSTANCE_LOCK = "instance.lock"
PROBLEM_SUFFIX = ".problem"
AGGREGATOR_PID = "aggregator.pid"
CLAIM_POLL_SECONDS = 0.02


class SlotDirectoryInUse(RuntimeError):
    """Another gunicorn master (or its orphaned workers) holds the slot directory."""


@dataclass(frozen=True)
class Slot:
    index: int
    directory: Path
    lock_fd: int  # kept open for the life of the process: closing it would release the slot


class RuntimeDirectoryUnusable(RuntimeError):
    """No writable directory for gunicorn's control socket and the metrics slots."""


def runtime_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """GUNICORN_RUNTIME_DIR, else the temp directory: the pod's /tmp volume in Kubernetes.

    A read-only root filesystem without a writable /tmp is the usual cause of
    failure here, so the message says how to provide one.
    """
    how = "give the container a writable /tmp (docker/podman run --tmpfs /tmp; the chart mounts an emptyDir)"
    configured = environ.get("GUNICORN_RUNTIME_DIR")
    if configured:
        path = Path(configured)
    else:
        try:
            path = Path(tempfile.gettempdir())
        except FileNotFoundError:  # gettempdir found no directory it could write to
            raise RuntimeDirectoryUnusable(
                f"no writable temporary directory (TMPDIR {environ.get('TMPDIR') or 'unset'}, /tmp, /var/tmp): {how}"
            ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        name = "GUNICORN_RUNTIME_DIR" if configured else "the temporary directory"
        raise RuntimeDirectoryUnusable(f"{name} {path} is not writable: {how}")
    return path


def slot_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """Where this instance keeps its slot locks and metric files."""
    return runtime_directory(environ) / SLOT_DIRECTORY_NAME


def hold_instance(directory: Path) -> int:
    """Make this process the only gunicorn master using ``directory``, and start it empty.

    Returns the lock's file descriptor, which must stay open. Workers inherit it
    across fork, so orphaned workers of a killed master still count as holders.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / INSTANCE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if error.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        raise SlotDirectoryInUse(
            f"another gunicorn (pid {holder}) already serves metrics from {directory}: stop it, or give this"
            " instance its own GUNICORN_RUNTIME_DIR and its own HTTP_PORT and METRICS_START_PORT"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    # Nobody else holds the directory, so nothing in it is live: a new master starts from zero,
    # as any restarted process does, and stale files of an older layout cannot leak into scrapes.
    for entry in directory.iterdir():
        if entry.name != INSTANCE_LOCK:
            entry.unlink(missing_ok=True)
    return fd


def try_claim(directory: Path, index: int) -> Slot | None:
    fd = os.open(directory / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return Slot(index, directory, fd)


def claim_slot(
    directory: Path,
    slots: int,
    heartbeat: Callable[[], None] = lambda: None,
    on_wait: Callable[[float], None] = lambda waited: None,
) -> Slot:
    """Claim the lowest free slot, waiting while every slot is held.

    During a reload the new workers start while the old ones still hold every
    slot; each old worker's slot frees the moment it exits. ``heartbeat`` keeps
    gunicorn's timeout from killing a waiting worker; ``on_wait`` is called once,
    after five seconds of waiting.
    """
    started = time.monotonic()
    reported = False
    while True:
        for index in range(slots):
            slot = try_claim(directory, index)
            if slot is not None:
                return slot
        waited = time.monotonic() - started
        if not reported and waited > 5:
            on_wait(waited)
            reported = True
        heartbeat()
        time.sleep(CLAIM_POLL_SECONDS)


def start_fresh_gauges(slot: Slot) -> None:
    """Gauges describe the live process, so a new holder of the slot starts them from zero."""
    for path in slot.directory.glob(f"gauge_*_{slot.index}.db"):
        path.unlink(missing_ok=True)


def report_problem(directory: Path, exporter: str, text: str) -> None:
    """Record why ``exporter`` cannot serve, for /readyz to report from any worker."""
    path = directory / f"{exporter}{PROBLEM_SUFFIX}"
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)


def clear_problem(directory: Path, exporter: str) -> None:
    (directory / f"{exporter}{PROBLEM_SUFFIX}").unlink(missing_ok=True)


def reported_problems(directory: Path) -> list[str]:
    problems = []
    for path in sorted(directory.glob(f"*{PROBLEM_SUFFIX}")):
        try:
            problems.append(path.read_text())
        except FileNotFoundError:
            continue  # cleared between the listing and the read
    return problems


def write_aggregator_pid(directory: Path, pid: int) -> None:
    (directory / AGGREGATOR_PID).write_text(f"{pid}\n")


def aggregator_running(directory: Path) -> bool:
    try:
        os.kill(int((directory / AGGREGATOR_PID).read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def metrics_problems(directory: Path, aggregated: bool) -> list[str]:
    """Why this instance's metrics are not all being served, for /readyz (empty when they are)."""
    problems = reported_problems(directory)
    if aggregated and not aggregator_running(directory):
        problems.append(f"the metrics aggregator process (see {directory / AGGREGATOR_PID}) is not running")
    return problems
