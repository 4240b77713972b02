"""Metric values live in the slot's files: they survive the process, and scrapes read them back."""

import signal

import pytest
from prometheus_client import Counter, Gauge, Histogram, generate_latest, values

from {{ cookiecutter.project_slug }}.metrics.durable import (
    aggregated_registry,
    slot_registry,
    slot_value_class,
)
from {{ cookiecutter.project_slug }}.metrics.slots import Slot, claim_slot


@pytest.fixture
def in_slot(tmp_path, monkeypatch):
    """in_slot(index): from now on, metrics created in this test live in that slot's files."""

    def use(index: int):
        slot = Slot(index, tmp_path, lock_fd=-1)  # the lock is not what these tests are about
        monkeypatch.setattr(values, "ValueClass", slot_value_class(slot))
        return slot

    return use


def sample(registry, name: str, **labels) -> float | None:
    return registry.get_sample_value(name, labels)


def test_a_replacement_continues_where_its_predecessor_stopped(tmp_path, in_slot):
    first = in_slot(0)
    Counter("jobs", "Jobs done.", ["kind"], registry=None).labels("email").inc(41)
    second = in_slot(0)  # as a new worker in the same slot would: new value objects, same files
    jobs = Counter("jobs", "Jobs done.", ["kind"], registry=None).labels("email")
    assert jobs._value.get() == 41
    jobs.inc()
    assert sample(slot_registry(second), "jobs_total", kind="email") == 42
    assert first.directory == second.directory


def test_series_of_a_predecessor_are_served_before_the_new_worker_creates_them(tmp_path, in_slot):
    in_slot(0)
    Counter("responses", "Responses.", ["status"], registry=None).labels("500").inc()
    slot = in_slot(0)
    assert sample(slot_registry(slot), "responses_total", status="500") == 1


def test_histograms_are_read_back_cumulative(tmp_path, in_slot):
    slot = in_slot(0)
    latency = Histogram("latency_seconds", "Latency.", buckets=(0.1, 0.3, 1.0), registry=None)
    for seconds in (0.05, 0.2, 0.2, 5):
        latency.observe(seconds)
    registry = slot_registry(slot)
    assert sample(registry, "latency_seconds_bucket", le="0.3") == 3
    assert sample(registry, "latency_seconds_bucket", le="+Inf") == 4
    assert sample(registry, "latency_seconds_sum") == pytest.approx(5.45)


def test_each_slot_serves_its_own_and_the_aggregate_sums_them(tmp_path, in_slot):
    slots = []
    for index, count in ((0, 3), (1, 4)):
        slots.append(in_slot(index))
        Counter("jobs", "Jobs done.", registry=None).inc(count)
    assert [sample(slot_registry(slot), "jobs_total") for slot in slots] == [3, 4]
    assert sample(aggregated_registry(tmp_path), "jobs_total") == 7


def test_files_stay_one_set_per_slot(tmp_path, in_slot):
    for _ in range(50):  # fifty recycles of one slot
        in_slot(0)
        Counter("jobs", "Jobs done.", registry=None).inc()
        Histogram("latency_seconds", "Latency.", registry=None).observe(0.1)
    assert sorted(path.name for path in tmp_path.glob("*.db")) == ["counter_0.db", "histogram_0.db"]
    assert sample(aggregated_registry(tmp_path), "jobs_total") == 50


def test_threaded_workers_lose_no_update(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(values, "ValueClass", slot_value_class(Slot(0, tmp_path, lock_fd=-1), threaded=True))
    jobs = Counter("jobs", "Jobs done.", registry=None)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: [jobs.inc() for _ in range(2000)], range(8)))
    assert sample(aggregated_registry(tmp_path), "jobs_total") == 16000


def test_gauges_are_per_process_and_exported(tmp_path, in_slot):
    slot = in_slot(0)
    Gauge("busy", "Busy.", registry=None, multiprocess_mode="livesum").set(3)
    assert sample(slot_registry(slot), "busy") == 3


def test_slot_port_also_serves_the_live_process_metrics(tmp_path):
    assert b"process_cpu_seconds_total" in generate_latest(slot_registry(claim_slot(tmp_path, 1)))


def test_counts_survive_kill_9(tmp_path, python_process):
    """The writes of a process killed with SIGKILL are in the files: nothing to flush, nothing lost."""
    worker = python_process(f"""
        import time
        from pathlib import Path
        from prometheus_client import Counter
        from {{ cookiecutter.project_slug }}.metrics.durable import keep_values_in_slot
        from {{ cookiecutter.project_slug }}.metrics.slots import claim_slot
        keep_values_in_slot(claim_slot(Path({str(tmp_path)!r}), 1))
        requests = Counter("requests", "Requests.")
        for _ in range(10_000):
            requests.inc()
        print("counted", flush=True)
        time.sleep(60)
    """)
    assert worker.stdout.readline().strip() == "counted"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert sample(aggregated_registry(tmp_path), "requests_total") == 10_000
