"""The write side of a slot: metric values that live in its files and outlive the worker.

Each value is two doubles in the slot's ``MmapedDict`` files (prometheus_client's
multiprocess format), read and written in place, so a recycle, ``kill -9`` or
reload is no counter reset. A file fault is recorded (``FAULTS``), logged once and
leaves the series counting in memory: it never reaches a request. Exemplars stay in
this process' memory (``EXEMPLARS``). The README's "How the metrics ports work"
tells the whole story.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from prometheus_client import values as client_values
from prometheus_client.mmap_dict import mmap_key
from prometheus_client.samples import Exemplar

from service_runtime.worker_slots.mmap_file import SlotFile
from service_runtime.worker_slots.slots import Slot, report_degraded

logger = logging.getLogger(__name__)


def open_slot_file(path: Path) -> SlotFile:
    """The slot file at ``path``; one that cannot be read back is logged and replaced by an empty one."""
    try:
        return SlotFile(str(path))
    except OSError:
        raise  # cannot be created or mapped at all: the caller keeps the values in memory
    except Exception as error:  # struct.error, RuntimeError, UnicodeDecodeError, ValueError: corrupt
        logger.error(
            "Metrics file %s cannot be read back (%s: %s); it is replaced by an empty one, so this slot's"
            " series in it start again from zero",
            path,
            type(error).__name__,
            error,
        )
        path.unlink(missing_ok=True)
        return SlotFile(str(path))


class _MemoryOnly:
    """Where a series' value goes when its slot file failed: counted, but only in this process."""

    def __init__(self) -> None:
        self.buffer = bytearray(16)
        self.doubles = memoryview(self.buffer).cast("d")


# A value's place: its file (whose ``doubles`` it indexes) and its index there. An unlocked slot
# value hands it out (``SlotValue.cell``) so that a hot path may add to several values in one
# function, as ``SlotValue.inc`` adds: ``doubles = file.doubles; doubles[index] += amount``. The
# lean request middleware does, saving a method call per value and request.
Cell = tuple["SlotFile | _MemoryOnly", int]


# The latest exemplar of each series this process updated, by the series' key in its slot file.
EXEMPLARS: dict[str, Exemplar] = {}


# File name -> the cause, for the files of this process' slot that failed (see SlotValue).
FAULTS: dict[str, str] = {}


def record_fault(slot: Slot, path: Path, error: BaseException) -> None:
    """Log a slot file's fault once, and leave a note for /readyz in any worker (if the disk lets us)."""
    if path.name in FAULTS:
        return
    cause = f"{type(error).__name__}: {error}"
    FAULTS[path.name] = cause
    text = (
        f"metrics file {path} failed ({cause}): new series of slot {slot.number} are counted in memory only,"
        " lost when the worker exits, until the worker is replaced"
    )
    logger.error("%s", text)
    try:
        report_degraded(slot.directory, path.stem, text)
    except OSError:
        pass  # the same disk: the log line and the metrics port still say it


def slot_value_class(slot: Slot, threaded: bool = False) -> type:
    """A prometheus_client value class whose values live in ``slot``'s files.

    A sync worker updates values from one thread only, so updates take no lock
    (``worker_abort`` interrupts that thread, but the worker exits without
    resuming it). ``threaded`` (gthread and other threaded workers) adds one.
    """
    files: dict[str, SlotFile] = {}
    # Reentrant: gunicorn's worker_abort hook runs as a signal handler on the thread
    # it interrupts, and may create a new series while that thread was creating one.
    lock = threading.RLock()

    def path_for(typ: str, multiprocess_mode: str) -> Path:
        prefix = f"gauge_{multiprocess_mode}" if typ == "gauge" else typ
        return slot.directory / f"{prefix}_{slot.number}.db"

    def file_for(path: Path) -> SlotFile:
        if path.name not in files:
            files[path.name] = open_slot_file(path)
        return files[path.name]

    class SlotValue:
        """A value as two doubles in the slot file (value, then timestamp), read and written in place."""

        _multiprocess = True
        in_place = True  # cell() hands out where the value lives (writes_in_place)
        write_lock = lock  # what a threaded worker's writes hold (LockedSlotValue)
        __slots__ = ("_file", "_key", "_index")

        def __init__(
            self,
            typ: str,
            metric_name: str,
            name: str,
            labelnames: list[str],
            labelvalues: list[str],
            help_text: str,
            multiprocess_mode: str = "",
            **kwargs: Any,
        ) -> None:
            with lock:
                key = self._key = mmap_key(metric_name, name, labelnames, labelvalues, help_text)
                path = path_for(typ, multiprocess_mode)
                try:
                    self._file: SlotFile | _MemoryOnly = file_for(path)
                    offset = self._file.offset_of(key)
                except Exception as error:  # no metrics fault may fail the request creating a series
                    record_fault(slot, path, error)
                    self._file, offset = _MemoryOnly(), 0
                self._index = offset // 8  # the value's place among the file's doubles (offsets are 8-aligned)

        def inc(self, amount: float) -> None:
            # The file's doubles are looked up on every write: they are mapped anew when the file
            # grows. The timestamp beside the value stays the 0.0 written with the key:
            # prometheus_client refuses inc on the only gauges that set one ("mostrecent" modes).
            doubles, index = self._file.doubles, self._index
            doubles[index] = doubles[index] + amount

        def set(self, value: float, timestamp: float | None = None) -> None:
            doubles, index = self._file.doubles, self._index
            doubles[index] = value
            doubles[index + 1] = timestamp or 0.0

        def set_exemplar(self, exemplar: Exemplar) -> None:
            EXEMPLARS[self._key] = exemplar  # memory only: the file format has no room for it

        def get(self) -> float:
            value: float = self._file.doubles[self._index]
            return value

        def get_exemplar(self) -> Exemplar | None:
            return EXEMPLARS.get(self._key)

        def cell(self) -> Cell | None:
            """Where the value lives, for a caller that updates it in place (see ``Cell``)."""
            return self._file, self._index

        def guarded_cell(self) -> Cell:
            """Where the value lives, for a caller that updates it in place holding ``write_lock``:
            another thread may create a series meanwhile, which grows and maps the file anew."""
            return self._file, self._index

    class LockedSlotValue(SlotValue):
        in_place = False
        __slots__ = ()

        def inc(self, amount: float) -> None:
            with lock:
                SlotValue.inc(self, amount)

        def set(self, value: float, timestamp: float | None = None) -> None:
            with lock:
                SlotValue.set(self, value, timestamp)

        def cell(self) -> Cell | None:
            return None  # its updates take the lock: only its own methods may write it

    return LockedSlotValue if threaded else SlotValue


def writes_in_place() -> bool:
    """Whether values created from now on are unlocked slot values, whose ``cell`` a hot path may write."""
    return getattr(client_values.ValueClass, "in_place", False) is True


def write_lock() -> Any:
    """The lock a hot path holds to write the ``guarded_cell`` of values created from now on in
    place, where they are locked slot values (an ASGI or threaded worker's); else None."""
    value_class = client_values.ValueClass
    if getattr(value_class, "in_place", True) is not False:
        return None
    return getattr(value_class, "write_lock", None)


def keep_values_in_slot(slot: Slot, threaded: bool = False) -> None:
    """From now on, every metric value this process creates lives in ``slot``'s files.

    Must run before the first metric is created, i.e. before Django loads:
    gunicorn's post_fork hook calls it.
    """
    client_values.ValueClass = slot_value_class(slot, threaded)
