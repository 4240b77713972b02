"""The lean middleware's shortcuts past prometheus_client's public API record exactly what the API would."""

import pytest
from prometheus_client import Counter, Histogram, values

from service_runtime.request_metrics.lean_series import FoldedSeries, GuardedFoldedSeries, Series
from service_runtime.worker_slots.collectors import slot_registry
from service_runtime.worker_slots.rollup import LATENCY_BY_VIEW, REQUESTS, REQUESTS_BY_VIEW, RESPONSES_BY_STATUS
from service_runtime.worker_slots.slots import Slot
from service_runtime.worker_slots.values import slot_value_class, write_lock, writes_in_place

LATENCIES = (0.05, 0.1, 0.2, 0.3, 0.31, 5.0)  # on, between and beyond the bucket bounds
BUCKETS = (0.1, 0.3, 1.0)


class Families:
    """The lean request families and their folded histogram, in ``slot``'s files."""

    def __init__(self, slot: Slot, threaded: bool, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(values, "ValueClass", slot_value_class(slot, threaded))
        self.slot = slot
        self.folded = Histogram(REQUESTS.source, "Folded.", REQUESTS.labels, registry=None, buckets=BUCKETS)
        self.requests = Counter(REQUESTS_BY_VIEW.name, "Requests.", REQUESTS_BY_VIEW.labels, registry=None)
        self.responses = Counter(RESPONSES_BY_STATUS.name, "Responses.", RESPONSES_BY_STATUS.labels, registry=None)
        self.latency = Histogram(
            LATENCY_BY_VIEW.name, "Latency.", LATENCY_BY_VIEW.labels, registry=None, buckets=BUCKETS
        )

    def record_through_the_api(self, view: str, status: str, transport: str | None, elapsed: float) -> None:
        if transport is not None:
            self.requests.labels(view, transport, "GET").inc()
        self.responses.labels(status, view, "GET").inc()
        self.latency.labels(view, "GET").observe(elapsed)

    def served(self) -> dict[str, dict[tuple, float]]:
        """What the slot's port serves, by view: {view: {(sample name, other labels): value}}."""
        by_view: dict[str, dict[tuple, float]] = {}
        for metric in slot_registry(self.slot).collect():
            assert metric.name != REQUESTS.source, "the folded histogram itself is never served"
            for sample in metric.samples:
                if "view" in sample.labels:
                    labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "view"))
                    by_view.setdefault(sample.labels["view"], {})[sample.name, labels] = sample.value
        return by_view


@pytest.mark.parametrize("threaded", [False, True], ids=["sync worker", "asgi worker"])
def test_a_folded_series_serves_what_the_three_families_record(tmp_path, monkeypatch, threaded):
    families = Families(Slot(1, tmp_path, lock_fd=-1), threaded=threaded, monkeypatch=monkeypatch)
    assert writes_in_place() is not threaded and (write_lock() is not None) is threaded
    for elapsed in LATENCIES:
        for status, transport in (("200", "https"), ("200", "http"), ("503", "https"), ("404", None)):
            series = FoldedSeries.of(families.folded.labels("folded", "GET", status, transport or ""), write_lock())
            assert series is not None
            series.record(elapsed)
            families.record_through_the_api("api", status, transport, elapsed)

    served = families.served()
    assert served["folded"] == pytest.approx(served["api"])
    requests = {
        labels: value for (name, labels), value in served["api"].items() if name.startswith(REQUESTS_BY_VIEW.name)
    }
    assert sum(requests.values()) == 3 * len(LATENCIES), "a request that reached no view is no request of one"
    assert served["api"][(LATENCY_BY_VIEW.name + "_bucket", (("le", "0.1"), ("method", "GET")))] == 2 * 4


def test_folded_counts_add_to_what_the_api_wrote_to_the_same_series(tmp_path, monkeypatch):
    """A timed-out request (worker_abort) is written through the API into a family the hot path folds."""
    families = Families(Slot(1, tmp_path, lock_fd=-1), threaded=False, monkeypatch=monkeypatch)
    FoldedSeries.of(families.folded.labels("index", "GET", "500", "http")).record(0.2)  # type: ignore[union-attr]
    families.record_through_the_api("index", "500", "http", 31.0)

    served = families.served()["index"]
    assert served[(RESPONSES_BY_STATUS.name + "_total", (("method", "GET"), ("status", "500")))] == 2
    assert served[(REQUESTS_BY_VIEW.name + "_total", (("method", "GET"), ("transport", "http")))] == 2
    assert served[(LATENCY_BY_VIEW.name + "_count", (("method", "GET"),))] == 2
    assert served[(LATENCY_BY_VIEW.name + "_sum", (("method", "GET"),))] == pytest.approx(31.2)
    assert served[(LATENCY_BY_VIEW.name + "_bucket", (("le", "0.3"), ("method", "GET")))] == 1


def test_a_threaded_worker_writes_a_folded_series_only_holding_the_write_lock(tmp_path, monkeypatch):
    """Its values are locked: their cells are handed out only to a writer that holds the same lock."""
    families = Families(Slot(1, tmp_path, lock_fd=-1), threaded=True, monkeypatch=monkeypatch)
    child = families.folded.labels("index", "GET", "200", "http")
    assert not writes_in_place() and FoldedSeries.of(child) is None
    series = FoldedSeries.of(child, write_lock())
    assert isinstance(series, GuardedFoldedSeries) and series.lock is write_lock()


def test_folded_writes_on_one_thread_lose_nothing_while_other_threads_grow_the_file(tmp_path, monkeypatch):
    """An ASGI worker: the event loop writes the folded series while Django's sync threads create
    series (a database metric's), growing the slot file and mapping it anew under the loop's writes."""
    import threading

    families = Families(Slot(1, tmp_path, lock_fd=-1), threaded=True, monkeypatch=monkeypatch)
    series = FoldedSeries.of(families.folded.labels("index", "GET", "200", "http"), write_lock())
    assert series is not None
    growing = Histogram("queries_seconds", "Queries.", ["alias"], registry=None, buckets=BUCKETS)

    def create_series(thread: int) -> None:
        for number in range(1000):
            growing.labels(f"database-{thread}-{number}").observe(0.01)

    threads = [threading.Thread(target=create_series, args=(thread,)) for thread in range(4)]
    for thread in threads:
        thread.start()
    writes = 0
    while any(thread.is_alive() for thread in threads) or writes < 20000:
        series.record(0.05)
        writes += 1
    for thread in threads:
        thread.join()

    served = families.served()["index"]
    assert (tmp_path / "histogram_1.db").stat().st_size > 1 << 20, "the file grew while the loop wrote"
    assert served[(RESPONSES_BY_STATUS.name + "_total", (("method", "GET"), ("status", "200")))] == writes
    assert served[(LATENCY_BY_VIEW.name + "_bucket", (("le", "0.1"), ("method", "GET")))] == writes


@pytest.mark.parametrize("threaded", [False, True], ids=["sync worker", "threaded worker"])
def test_a_series_records_what_the_public_api_records(tmp_path, monkeypatch, threaded):
    families = Families(Slot(1, tmp_path, lock_fd=-1), threaded=threaded, monkeypatch=monkeypatch)
    series = Series(
        families.requests.labels("series", "http", "GET"),
        families.responses.labels("200", "series", "GET"),
        families.latency.labels("series", "GET"),
    )
    for elapsed in LATENCIES:
        series.record(elapsed)
        families.record_through_the_api("api", "200", "http", elapsed)
    served = families.served()
    assert served["series"] == served["api"]
    assert served["api"][(LATENCY_BY_VIEW.name + "_bucket", (("le", "0.1"), ("method", "GET")))] == 2


def test_a_series_without_a_view_counts_no_request(tmp_path, monkeypatch):
    slot = Slot(1, tmp_path, lock_fd=-1)
    monkeypatch.setattr(values, "ValueClass", slot_value_class(slot))
    responses = Counter("responses", "Responses.", registry=None)
    latency = Histogram("latency_seconds", "Latency.", registry=None)
    Series(None, responses, latency).record(0.2)
    assert responses._value.get() == 1
    assert latency._sum.get() == 0.2
