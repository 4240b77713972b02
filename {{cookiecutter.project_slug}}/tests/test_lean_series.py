"""The lean middleware's shortcut past prometheus_client's public API records exactly what the API would."""

import pytest
from prometheus_client import Counter, Histogram, values

from request_metrics.lean import Series, SlotSeries
from worker_slots.durable import slot_registry, slot_value_class
from worker_slots.slots import Slot

LATENCIES = (0.05, 0.1, 0.2, 0.3, 0.31, 5.0)  # on, between and beyond the bucket bounds


@pytest.mark.parametrize(
    ("threaded", "kind"),
    [(False, SlotSeries), (True, Series)],
    ids=["sync worker: written in place", "threaded worker: through the values' locked methods"],
)
def test_a_series_records_what_the_public_api_records(tmp_path, monkeypatch, threaded, kind):
    slot = Slot(1, tmp_path, lock_fd=-1)
    monkeypatch.setattr(values, "ValueClass", slot_value_class(slot, threaded))
    requests = Counter("requests", "Requests.", ["path"], registry=None)
    responses = Counter("responses", "Responses.", ["path"], registry=None)
    latency = Histogram("latency_seconds", "Latency.", ["path"], registry=None, buckets=(0.1, 0.3, 1.0))

    series = Series.for_values(requests.labels("shortcut"), responses.labels("shortcut"), latency.labels("shortcut"))
    assert type(series) is kind
    for elapsed in LATENCIES:
        series.record(elapsed)
        requests.labels("api").inc()
        responses.labels("api").inc()
        latency.labels("api").observe(elapsed)

    samples = {"shortcut": {}, "api": {}}
    for metric in slot_registry(slot).collect():
        for sample in metric.samples:
            if "path" in sample.labels:
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "path"))
                samples[sample.labels["path"]][sample.name, labels] = sample.value
    assert samples["shortcut"] == samples["api"]
    assert samples["api"][("latency_seconds_bucket", (("le", "0.1"),))] == 2


def test_a_series_without_a_view_counts_no_request(tmp_path, monkeypatch):
    slot = Slot(1, tmp_path, lock_fd=-1)
    monkeypatch.setattr(values, "ValueClass", slot_value_class(slot))
    responses = Counter("responses", "Responses.", registry=None)
    latency = Histogram("latency_seconds", "Latency.", registry=None)
    Series.for_values(None, responses, latency).record(0.2)
    assert responses._value.get() == 1
    assert latency._sum.get() == 0.2
