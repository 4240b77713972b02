"""Durable worker slots: a metrics series belongs to a slot, not to a process.

Each gunicorn worker claims one of WEB_CONCURRENCY slots, numbered from 1 as the
chart numbers the metrics ports, with an exclusive ``fcntl`` lock on
``slot-<n>.lock`` in the instance's slot directory. The kernel drops the lock
however the process dies, so its replacement claims the same slot and continues
the counts in the slot's files (``values.py``). One master owns a directory at a
time (``instance.lock``). No import beyond the standard library: gunicorn's
master imports this before Django or prometheus_client may be loaded.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

SLOT_DIRECTORY_PREFIX = "{{ cookiecutter.project_slug }}-metrics"
INSTANCE_LOCK = "instance.lock"
CONTROL_SOCKET = "gunicorn.ctl"
PROBLEM_SUFFIX = ".problem"
DEGRADED_SUFFIX = ".degraded"
AGGREGATOR_PID = "aggregator.pid"
CLAIM_POLL_SECONDS = 0.02
# Every name this service ever writes in its slot directory. Anything else there was put by
# someone else (or by a newer layout): the service refuses to start rather than guess.
OWN_ENTRY = re.compile(
    r"instance\.lock|gunicorn\.ctl|aggregator\.pid|slot-\d+\.lock|[a-z_]+_\d+\.db|[\w.-]+\.(?:problem|degraded|partial)"
)


class SlotDirectoryInUse(RuntimeError):
    """Another gunicorn master (or its orphaned workers) holds the slot directory."""


@dataclass(frozen=True)
class Slot:
    number: int  # 1..WEB_CONCURRENCY, as the chart's port names count: slot n serves METRICS_START_PORT + n - 1
    directory: Path
    lock_fd: int  # kept open for the life of the process: closing it would release the slot


class RuntimeDirectoryUnusable(RuntimeError):
    """No writable directory for gunicorn's control socket and the metrics slots."""


class SlotDirectoryNotOurs(RuntimeError):
    """The slot directory, or something in it, could have been made or changed by another user."""


def runtime_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """GUNICORN_RUNTIME_DIR, else the temp directory: the pod's /tmp volume in Kubernetes.

    A read-only root filesystem without a writable /tmp is the usual cause of
    failure here, so the message says how to provide one.
    """
    how = "give the container a writable /tmp (docker/podman run --tmpfs /tmp; the chart mounts an emptyDir)"
    configured = environ.get("GUNICORN_RUNTIME_DIR")
    if configured:
        path = Path(configured)
        if not path.is_absolute():
            # gunicorn's workers and the aggregator start in different directories: one path for both.
            raise RuntimeDirectoryUnusable(
                f"GUNICORN_RUNTIME_DIR {configured!r} is relative: give an absolute path, such as /tmp/metrics"
            )
        if not path.exists():
            raise RuntimeDirectoryUnusable(f"GUNICORN_RUNTIME_DIR {configured!r} does not exist: create it first")
        if not path.is_dir():
            raise RuntimeDirectoryUnusable(f"GUNICORN_RUNTIME_DIR {configured!r} is not a directory")
    else:
        try:
            path = Path(tempfile.gettempdir())
        except FileNotFoundError:  # gettempdir found no directory it could write to
            raise RuntimeDirectoryUnusable(
                f"no writable temporary directory (TMPDIR {environ.get('TMPDIR') or 'unset'!r}, /tmp, /var/tmp): {how}"
            ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        name = "GUNICORN_RUNTIME_DIR" if configured else "the temporary directory"
        raise RuntimeDirectoryUnusable(f"{name} {str(path)!r} is not writable: {how}")
    return path


def slot_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """Where this instance keeps its slot locks, metric files and gunicorn's control socket.

    Named for the user too: on a shared machine, two users running the same
    service in one temp directory get a directory each, and neither can
    stand in the other's way.
    """
    return runtime_directory(environ) / f"{SLOT_DIRECTORY_PREFIX}-{os.geteuid()}"


def _not_ours(directory: Path, what: str) -> SlotDirectoryNotOurs:
    return SlotDirectoryNotOurs(
        f"metrics slot directory {str(directory)!r} {what}: another user could have made or changed it, so it is"
        " not used; remove it if it is yours, or set GUNICORN_RUNTIME_DIR to a directory only you can write"
        " (e.g. $XDG_RUNTIME_DIR)"
    )


def make_private_directory(directory: Path) -> None:
    """Create ``directory`` (mode 0700) or check that the one there is ours alone; never follow a symlink.

    The checks are on the directory itself, opened without following links:
    owned by this user, and no access for group or others, so nobody else can
    add, swap or read an entry. A temp directory with the sticky bit (``/tmp``)
    keeps anyone else from renaming or removing it afterwards.
    """
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as error:
        raise RuntimeDirectoryUnusable(
            f"cannot create the metrics slot directory {str(directory)!r}: {error.strerror}"
        ) from None
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _not_ours(directory, "is a symlink or not a directory") from None
        raise RuntimeDirectoryUnusable(
            f"cannot open the metrics slot directory {str(directory)!r}: {error.strerror}"
        ) from None
    try:
        status = os.fstat(fd)
    finally:
        os.close(fd)
    if status.st_uid != os.geteuid():
        raise _not_ours(directory, f"belongs to uid {status.st_uid}, not to this user (uid {os.geteuid()})")
    if stat.S_IMODE(status.st_mode) & 0o077:
        raise _not_ours(directory, f"has mode {stat.S_IMODE(status.st_mode):04o}, not 0700")


def remove_own_entries(directory: Path, keep: frozenset[str] = frozenset()) -> None:
    """Delete what an earlier master of this service left; refuse anything it cannot have made.

    Only regular files (and gunicorn's socket) with the service's own names are
    removed, by name within the checked directory, never through a link.
    """
    for entry in os.scandir(directory):
        if entry.name in keep:
            continue
        if not OWN_ENTRY.fullmatch(entry.name):
            raise _not_ours(directory, f"holds {entry.name!r}, which this service never writes")
        mode = entry.stat(follow_symlinks=False).st_mode
        if not (stat.S_ISREG(mode) or (entry.name == CONTROL_SOCKET and stat.S_ISSOCK(mode))):
            raise _not_ours(directory, f"holds {entry.name!r}, which is not a regular file")
    for entry in os.scandir(directory):
        if entry.name not in keep:
            os.unlink(entry.path)


def hold_instance(directory: Path) -> int:
    """Make this process the only gunicorn master using ``directory``, and start it empty.

    Returns the lock's file descriptor, which must stay open. Workers inherit it
    across fork, so orphaned workers of a killed master still count as holders.
    Raises ``SlotDirectoryNotOurs`` when the directory or an entry could be
    someone else's, and ``RuntimeDirectoryUnusable`` when it cannot be written.
    """
    make_private_directory(directory)
    try:
        fd = os.open(directory / INSTANCE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _not_ours(directory, f"holds {INSTANCE_LOCK!r} as a symlink") from None
        raise RuntimeDirectoryUnusable(f"cannot open {str(directory / INSTANCE_LOCK)!r}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if error.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        raise SlotDirectoryInUse(
            f"another gunicorn (pid {holder}) already serves metrics from {directory}: stop it, or give this"
            " instance its own GUNICORN_RUNTIME_DIR and its own HTTP_PORT and METRICS_START_PORT. If that"
            " gunicorn was killed, its orphaned workers still hold the directory: they exit within the"
            " graceful timeout, or stop them (pkill -f the service's gunicorn)"
        ) from None
    try:
        # Nobody else holds the directory, so nothing in it is live: a new master starts from zero,
        # as any restarted process does, and stale files of an older layout cannot leak into scrapes.
        remove_own_entries(directory, keep=frozenset({INSTANCE_LOCK}))
        os.ftruncate(fd, 0)
    except SlotDirectoryNotOurs:
        os.close(fd)
        raise
    except OSError as error:
        os.close(fd)
        raise RuntimeDirectoryUnusable(
            f"cannot prepare the metrics slot directory {str(directory)!r}: {error.strerror}"
        ) from None
    try:
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # only for the message a second master gets
    except OSError:
        pass  # a full disk: the lock holds all the same, and the slot files report their own faults
    return fd


def release_instance(directory: Path, fd: int) -> None:
    """On a clean shutdown: remove the slot directory, so nothing of this run outlives it."""
    try:
        remove_own_entries(directory)
        os.rmdir(directory)
    except (OSError, SlotDirectoryNotOurs):
        pass  # a worker still exiting, or an entry not ours: the next start deals with it
    finally:
        os.close(fd)


def try_claim(directory: Path, number: int) -> Slot | None:
    fd = os.open(directory / f"slot-{number}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return Slot(number, directory, fd)


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
        for number in range(1, slots + 1):
            slot = try_claim(directory, number)
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
    for path in slot.directory.glob(f"gauge_*_{slot.number}.db"):
        path.unlink(missing_ok=True)


def report_problem(directory: Path, exporter: str, text: str, suffix: str = PROBLEM_SUFFIX) -> None:
    """Record why ``exporter`` cannot serve, for /readyz to report from any worker."""
    path = directory / f"{exporter}{suffix}"
    partial = directory / f"{exporter}.partial"
    partial.write_text(text)
    partial.replace(path)


def report_degraded(directory: Path, name: str, text: str) -> None:
    """Record a metrics fault that loses values but not requests: /readyz shows it and stays 200."""
    report_problem(directory, name, text, suffix=DEGRADED_SUFFIX)


def degraded_notes(directory: Path) -> list[str]:
    return reported_problems(directory, suffix=DEGRADED_SUFFIX)


def clear_problem(directory: Path, exporter: str) -> None:
    (directory / f"{exporter}{PROBLEM_SUFFIX}").unlink(missing_ok=True)


def reported_problems(directory: Path, suffix: str = PROBLEM_SUFFIX) -> list[str]:
    problems = []
    for path in sorted(directory.glob(f"*{suffix}")):
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
