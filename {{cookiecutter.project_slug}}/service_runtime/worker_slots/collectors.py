"""The read side of slots: what a metrics port serves from the slot files.

A worker's port serves its own slot (``slot_registry``), the aggregated mode's one
port every slot summed (``aggregated_registry``). A file that cannot be read is
left out of the scrape, logged and shown in ``metrics_slot_faults``; this
process' exemplars are attached to the samples they belong to.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.samples import Exemplar

from service_runtime.worker_slots.build_info import BuildInfoCollector
from service_runtime.worker_slots.rollup import fold
from service_runtime.worker_slots.slots import Slot
from service_runtime.worker_slots.values import EXEMPLARS, FAULTS

logger = logging.getLogger(__name__)


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
