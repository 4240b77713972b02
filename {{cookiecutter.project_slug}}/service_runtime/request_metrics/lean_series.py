"""What one label set of the lean profile's request families writes per request.

Three kinds, one per way a worker keeps its values: ``FoldedSeries`` writes a
worker's folded histogram in place in its slot file (two writes a request, the
middleware's hot path inlines them; an ASGI worker's hold the slot's write lock:
``GuardedFoldedSeries``); ``Series`` updates the three families through
prometheus_client's value objects (a worker without slot files);
``ExemplarSeries`` goes through the public API so that every value carries the
request's trace (a traced worker's).
"""

from typing import Any

# Where a label set's folded series lives, read by position by FoldedSeries.record and by the
# middleware's hot path: a plain tuple, since CPython unpacks only an exact tuple cheaply (a
# NamedTuple or a __slots__ class costs more per request: the template repository's
# `./benchmarks/run --cells` and docs/benchmark.md). Only cells() builds one, naming each position.
Cells = tuple[Any, int, tuple[float, ...], tuple[int, ...]]


def cells(*, file: Any, total: int, bounds: tuple[float, ...], buckets: tuple[int, ...]) -> Cells:
    """A folded series' place: its slot file, the sum's index among the file's doubles, the bucket
    bounds, and each bucket's index."""
    return (file, total, bounds, buckets)


class Series:
    """The three families' values one label set updates, found once and then updated through
    prometheus_client's value objects (a counter's ``_value``, a histogram's ``_sum`` and
    ``_buckets``), as ``Counter.inc`` and ``Histogram.observe`` update them once their checks
    pass; those checks (a labelled child, a non-negative amount, no exemplar) hold for every
    request here, so they are skipped. tests/test_lean_series.py proves the result equal to the
    public API's; the template's tests/test_profiles.py, lean's series equal to full's.
    """

    __slots__ = ("requests", "responses", "latency_sum", "bounds", "buckets")

    def __init__(self, requests: Any, responses: Any, latency: Any) -> None:
        self.requests = requests._value if requests is not None else None
        self.responses = responses._value
        self.latency_sum, self.bounds, self.buckets = latency._sum, latency._upper_bounds, latency._buckets

    def record(self, elapsed: float) -> None:
        if self.requests is not None:
            self.requests.inc(1.0)
        self.responses.inc(1.0)
        self.latency_sum.inc(elapsed)
        self.buckets[bucket_index(self.bounds, elapsed)].inc(1.0)


class FoldedSeries:
    """A label set's series of the folded histogram (``LeanMetrics.requests_folded``), written in
    place in the slot file that holds its sum and every bucket, as ``SlotValue.inc`` writes one
    value (service_runtime.worker_slots.values.Cell): two writes per request."""

    __slots__ = ("cells",)

    def __init__(self, cells: Cells) -> None:
        self.cells = cells

    @staticmethod
    def of(child: Any, lock: Any = None) -> "FoldedSeries | None":
        """The child's values in place, or None where they cannot all be written there: a threaded
        worker's without ``lock`` (their writes take it), or a series whose file failed (each value
        then lives in memory apart). With ``lock`` (values.write_lock), every write holds it."""
        if lock is None:
            total = child._sum.cell()
            buckets = [bucket.cell() for bucket in child._buckets]
        else:
            total = child._sum.guarded_cell()
            buckets = [bucket.guarded_cell() for bucket in child._buckets]
        if total is None or any(cell is None or cell[0] is not total[0] for cell in buckets):
            return None
        bounds, indexes = tuple(child._upper_bounds), tuple(index for _, index in buckets)
        folded = cells(file=total[0], total=total[1], bounds=bounds, buckets=indexes)
        return FoldedSeries(folded) if lock is None else GuardedFoldedSeries(folded, lock)

    def record(self, elapsed: float) -> None:
        file, total, bounds, buckets = self.cells
        doubles = file.doubles  # looked up on every write: a file that grows is mapped anew
        doubles[total] += elapsed
        doubles[buckets[bucket_index(bounds, elapsed)]] += 1.0


class GuardedFoldedSeries(FoldedSeries):
    """A folded series of an ASGI worker: the event loop writes it, holding the slot's write lock,
    because Django's sync threads may create a series meanwhile and map the file anew."""

    __slots__ = ("lock",)

    def __init__(self, cells: Cells, lock: Any) -> None:
        super().__init__(cells)
        self.lock = lock

    def record(self, elapsed: float) -> None:
        with self.lock:
            FoldedSeries.record(self, elapsed)


def bucket_index(bounds: tuple[float, ...], elapsed: float) -> int:
    """The first bucket whose bound is at least the latency, found as prometheus_client's
    Histogram.observe finds it: walking up from the smallest bound, which the last (+Inf) ends.
    Against a binary search it is cheaper for fast requests and dearer only for slow ones, whose
    own time dwarfs it (the template repository's ``./benchmarks/run --bucket-search`` and
    docs/benchmark.md). The Go client walks too, below 35 bounds."""
    index = 0
    while elapsed > bounds[index]:
        index += 1
    return index


class ExemplarSeries:
    """A traced worker's series: each count and bucket carries the request's trace, through the public API."""

    __slots__ = ("requests", "responses", "latency", "current_exemplar")

    def __init__(self, requests: Any, responses: Any, latency: Any) -> None:
        from service_runtime.tracing.exemplars import current_exemplar

        self.requests, self.responses, self.latency = requests, responses, latency
        self.current_exemplar = current_exemplar

    def record(self, elapsed: float) -> None:
        exemplar = self.current_exemplar()
        if self.requests is not None:
            self.requests.inc()
        self.responses.inc(1, exemplar)
        self.latency.observe(elapsed, exemplar)
