"""Metric values that outlive the worker: one memory-mapped file set per slot.

Every counter, histogram and gauge value a worker updates is written straight
into its slot's files, in prometheus_client's ``MmapedDict`` format, so that
prometheus_client's ``MultiProcessCollector`` reads them. The page cache keeps
a write even if the process is killed the next instant; a replacement worker
that claims the slot reads the values back and continues from them, so a
recycle, a ``kill -9`` or a reload is no counter reset. Files are named
``<type>_<slot>.db``: at most one set per slot, however many workers come and go.

Why not prometheus_client's own ``MultiProcessValue``: it names files by pid
(one set per process ever started, read on every scrape), and every update
takes a global lock, asks for the pid and looks the key up again; the
template's benchmark counts about 18,000-23,000 more instructions per request
for it than for these values. A
slot never changes within a process, so ``SlotValue`` keeps the key's offset
and writes the two doubles in place.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, values
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from {{ cookiecutter.project_slug }}.metrics.slots import Slot

_VALUE_AND_TIMESTAMP = struct.Struct("dd").pack


def slot_value_class(slot: Slot, threaded: bool = False) -> type:
    """A prometheus_client value class whose values live in ``slot``'s files.

    A sync worker updates values from one thread only, so updates take no lock
    (``worker_abort`` interrupts that thread, but the worker exits without
    resuming it). ``threaded`` (gthread and other threaded workers) adds one.
    """
    files: dict[str, MmapedDict] = {}
    # Reentrant: gunicorn's worker_abort hook runs as a signal handler on the thread
    # it interrupts, and may create a new series while that thread was creating one.
    lock = threading.RLock()

    def file_for(typ: str, multiprocess_mode: str) -> MmapedDict:
        prefix = f"gauge_{multiprocess_mode}" if typ == "gauge" else typ
        if prefix not in files:
            files[prefix] = MmapedDict(str(slot.directory / f"{prefix}_{slot.index}.db"))
        return files[prefix]

    class SlotValue:
        _multiprocess = True
        __slots__ = ("_file", "_offset", "_value")

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
                self._file = file_for(typ, multiprocess_mode)
                key = mmap_key(metric_name, name, labelnames, labelvalues, help_text)
                self._value: float = self._file.read_value(key)[0]  # what the slot's previous holder left
                self._offset = self._file._positions[key]

        def inc(self, amount: float) -> None:
            # Inlined, and the mapping looked up on every write: it is replaced when the file grows.
            self._value += amount
            offset = self._offset
            self._file._m[offset : offset + 16] = _VALUE_AND_TIMESTAMP(self._value, 0.0)

        def set(self, value: float, timestamp: float | None = None) -> None:
            self._value = value
            offset = self._offset
            self._file._m[offset : offset + 16] = _VALUE_AND_TIMESTAMP(value, timestamp or 0.0)

        def set_exemplar(self, exemplar: Any) -> None:
            return  # the file format has no room for exemplars

        def get(self) -> float:
            return self._value

        def get_exemplar(self) -> None:
            return None

    class LockedSlotValue(SlotValue):
        __slots__ = ()

        def inc(self, amount: float) -> None:
            with lock:
                SlotValue.inc(self, amount)

        def set(self, value: float, timestamp: float | None = None) -> None:
            with lock:
                SlotValue.set(self, value, timestamp)

    return LockedSlotValue if threaded else SlotValue


def keep_values_in_slot(slot: Slot, threaded: bool = False) -> None:
    """From now on, every metric value this process creates lives in ``slot``'s files.

    Must run before the first metric is created, i.e. before Django loads:
    gunicorn's post_fork hook calls it.
    """
    values.ValueClass = slot_value_class(slot, threaded)


def slot_files(directory: Path, index: int) -> list[str]:
    return sorted(str(path) for path in directory.glob("*.db") if path.stem.rsplit("_", 1)[-1] == str(index))


class SlotCollector:
    """The metrics of one slot, as its files hold them: predecessors' series included."""

    def __init__(self, directory: Path, index: int) -> None:
        self.directory, self.index = directory, index

    def collect(self) -> Iterable[Metric]:
        files = slot_files(self.directory, self.index)
        metrics: Iterable[Metric] = MultiProcessCollector.merge(files, accumulate=True)
        return metrics


def slot_registry(slot: Slot) -> CollectorRegistry:
    """What a worker's own metrics port serves: its slot's metrics and the live process' own."""
    registry = CollectorRegistry()
    registry.register(SlotCollector(slot.directory, slot.index))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def aggregated_registry(directory: Path) -> CollectorRegistry:
    """Every slot's metrics summed, for the one metrics port of the aggregated mode (and its python_info)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    PlatformCollector(registry=registry)
    return registry
