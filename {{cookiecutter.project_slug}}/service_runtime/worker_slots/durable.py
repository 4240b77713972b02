"""Metric values that outlive the worker: one memory-mapped file set per slot.

Every counter, histogram and gauge value a worker updates is written straight
into its slot's files, in prometheus_client's ``MmapedDict`` format, so that
prometheus_client's ``MultiProcessCollector`` reads them. The page cache keeps
a write even if the process is killed the next instant; a replacement worker
that claims the slot reads the values back and continues from them, so a
recycle, a ``kill -9`` or a reload is no counter reset. Files are named
``<type>_<slot>.db``: at most one set per slot, however many workers come and go.

Why not prometheus_client's own ``MultiProcessValue``: given the slot as its
process identifier it would name the files alike, but every update takes a
global lock, asks for the identifier again and looks the key up in the
file's index; the template's docs/benchmark.md measures what that costs per
request. A slot never changes within a process, so ``SlotValue`` keeps the
value's place in the file and reads and writes it there, through
``mmap_file.py``, the one module that touches ``MmapedDict``'s private parts;
the file is the only copy of the value.

A fault in these files never reaches a request: a slot file that cannot be
read back (corrupt, truncated) is logged and started afresh; one that cannot be
created or grown (disk full, file-size limit, no permission) leaves the series
counting in memory only, logged once with the file and the cause, shown by
``/readyz`` and by ``metrics_slot_faults`` on the metrics port. File space is
allocated before it is mapped, so a full disk is an error here, not a SIGBUS
in the middle of a request.

Exemplars (the trace of a request that updated a counter or a histogram bucket,
when tracing is on) are kept in this process' memory only, the latest one per
series: the file format has no room for them, and an exemplar is worth having
only while it is recent. A worker's own port serves them (``SlotCollector``);
they die with the worker, and the aggregated mode, whose exporter is another
process, serves none.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, values
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.mmap_dict import mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.samples import Exemplar

from service_runtime.worker_slots.build_info import BuildInfoCollector
from service_runtime.worker_slots.mmap_file import SlotFile
from service_runtime.worker_slots.rollup import fold
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
    return getattr(values.ValueClass, "in_place", False) is True


def keep_values_in_slot(slot: Slot, threaded: bool = False) -> None:
    """From now on, every metric value this process creates lives in ``slot``'s files.

    Must run before the first metric is created, i.e. before Django loads:
    gunicorn's post_fork hook calls it.
    """
    values.ValueClass = slot_value_class(slot, threaded)


def slot_files(directory: Path, number: int | None = None) -> list[str]:
    """The metric files of slot ``number``, or of every slot."""
    paths = directory.glob("*.db")
    return sorted(str(path) for path in paths if number is None or path.stem.rsplit("_", 1)[-1] == str(number))


def readable(files: list[str]) -> tuple[list[str], dict[str, str]]:
    """The files prometheus_client can merge, and why each of the others cannot be."""
    good, bad = [], {}
    for name in files:
        try:
            MultiProcessCollector.merge([name], accumulate=True)
        except Exception as error:  # corrupt, truncated or vanished: skip it, say so
            bad[os.path.basename(name)] = f"{type(error).__name__}: {error}"
        else:
            good.append(name)
    return good, bad


def fault_metric(faults: dict[str, str]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "metrics_slot_faults",
        "Slot files whose values are not all exported (corrupt, unreadable or not writable); see the log.",
        labels=["file"],
    )
    for name in sorted(faults):
        family.add_metric([name], 1)
    return family


class SlotCollector:
    """The metrics of one slot (or of all), as their files hold them: predecessors' series included.

    A file that cannot be read is left out of the scrape, logged and counted in
    ``metrics_slot_faults``; the rest are still served.
    """

    def __init__(self, directory: Path, number: int | None = None) -> None:
        self.directory, self.number = directory, number

    def collect(self) -> Iterator[Metric]:
        files = slot_files(self.directory, self.number)
        faults = dict(FAULTS)
        try:
            metrics: Iterable[Metric] = fold(MultiProcessCollector.merge(files, accumulate=True))
        except Exception:  # the slow path: find the bad file, serve the others
            files, unreadable = readable(files)
            for name, cause in unreadable.items():
                logger.error("Metrics file %s cannot be read for a scrape (%s); it is left out", name, cause)
            faults.update(unreadable)
            metrics = fold(MultiProcessCollector.merge(files, accumulate=True))
        if EXEMPLARS:
            metrics = with_exemplars(metrics, exemplar_index())
        yield from metrics
        yield fault_metric(faults)


_SERIES_OF_KEY: dict[str, tuple[str, frozenset[tuple[str, str]]]] = {}


def exemplar_index() -> dict[tuple[str, frozenset[tuple[str, str]]], Exemplar]:
    """This process' exemplars by sample name and label set, as a scrape's samples carry them."""
    index = {}
    for key, exemplar in list(EXEMPLARS.items()):  # a copy: a request may add one meanwhile
        series = _SERIES_OF_KEY.get(key)
        if series is None:
            _, name, labels, _ = json.loads(key)
            series = _SERIES_OF_KEY[key] = (name, frozenset(labels.items()))
        index[series] = exemplar
    return index


def with_exemplars(
    metrics: Iterable[Metric], index: dict[tuple[str, frozenset[tuple[str, str]]], Exemplar]
) -> Iterator[Metric]:
    """``metrics``, their counter and bucket samples carrying the exemplar this process holds for them."""
    for metric in metrics:
        if metric.type in ("counter", "histogram"):
            samples = []
            for sample in metric.samples:
                exemplar = index.get((sample.name, frozenset(sample.labels.items())))
                samples.append(sample if exemplar is None else sample._replace(exemplar=exemplar))
            metric.samples = samples
        yield metric


def slot_registry(slot: Slot) -> CollectorRegistry:
    """What a worker's own metrics port serves: its slot's metrics, the build, and the live process' own."""
    registry = CollectorRegistry()
    registry.register(SlotCollector(slot.directory, slot.number))
    registry.register(BuildInfoCollector())
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def aggregated_registry(directory: Path) -> CollectorRegistry:
    """Every slot's metrics summed, for the one metrics port of the aggregated mode (and the build, python_info)."""
    registry = CollectorRegistry()
    registry.register(SlotCollector(directory))
    registry.register(BuildInfoCollector())
    PlatformCollector(registry=registry)
    return registry
