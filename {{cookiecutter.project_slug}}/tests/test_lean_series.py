"""The lean middleware's shortcuts past prometheus_client's public API record exactly what the API would."""

import pytest
from prometheus_client import Counter, Histogram, values

from service_runtime.request_metrics.lean_series import FoldedSeries, Series
from service_runtime.worker_slots.collectors import slot_registry
from service_runtime.worker_slots.rollup import LATENCY_BY_VIEW, REQUESTS, REQUESTS_BY_VIEW, RESPONSES_BY_STATUS
from service_runtime.worker_slots.slots import Slot
from service_runtime.worker_slots.values import slot_value_class, writes_in_place

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


def test_a_folded_series_serves_what_the_three_families_record(tmp_path, monkeypatch):
    families = Families(Slot(1, tmp_path, lock_fd=-1), threaded=False, monkeypatch=monkeypatch)
    assert writes_in_place()
    for elapsed in LATENCIES:
        for status, transport in (("200", "https"), ("200", "http"), ("503", "https"), ("404", None)):
            series = FoldedSeries.of(families.folded.labels("folded", "GET", status, transport or ""))
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


def test_a_threaded_worker_writes_no_folded_series_in_place(tmp_path, monkeypatch):
    """Its values' writes take a lock: it records the three families through them (``Series``)."""
    families = Families(Slot(1, tmp_path, lock_fd=-1), threaded=True, monkeypatch=monkeypatch)
    assert not writes_in_place()
    assert FoldedSeries.of(families.folded.labels("index", "GET", "200", "http")) is None


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
