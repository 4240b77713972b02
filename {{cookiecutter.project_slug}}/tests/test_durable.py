"""Metric values live in the slot's files: they survive the process, and scrapes read them back."""

import errno
import os
import signal
import struct

import pytest
from prometheus_client import Counter, Gauge, Histogram, generate_latest, values

from service_runtime.worker_slots.collectors import aggregated_registry, slot_registry
from service_runtime.worker_slots.slots import Slot, claim_slot, degraded_notes
from service_runtime.worker_slots.values import FAULTS, slot_value_class


@pytest.fixture(autouse=True)
def no_faults_left_over():
    """The fault record is per process; each test starts and leaves it empty."""
    FAULTS.clear()
    yield
    FAULTS.clear()


@pytest.fixture
def in_slot(tmp_path, monkeypatch):
    """in_slot(number): from now on, metrics created in this test live in that slot's files."""

    def use(number: int):
        slot = Slot(number, tmp_path, lock_fd=-1)  # the lock is not what these tests are about
        monkeypatch.setattr(values, "ValueClass", slot_value_class(slot))
        return slot

    return use


def sample(registry, name: str, **labels) -> float | None:
    return registry.get_sample_value(name, labels)


def test_a_replacement_continues_where_its_predecessor_stopped(tmp_path, in_slot):
    first = in_slot(1)
    Counter("jobs", "Jobs done.", ["kind"], registry=None).labels("email").inc(41)
    second = in_slot(1)  # as a new worker in the same slot would: new value objects, same files
    jobs = Counter("jobs", "Jobs done.", ["kind"], registry=None).labels("email")
    assert jobs._value.get() == 41
    jobs.inc()
    assert sample(slot_registry(second), "jobs_total", kind="email") == 42
    assert first.directory == second.directory


def test_series_of_a_predecessor_are_served_before_the_new_worker_creates_them(tmp_path, in_slot):
    in_slot(1)
    Counter("responses", "Responses.", ["status"], registry=None).labels("500").inc()
    slot = in_slot(1)
    assert sample(slot_registry(slot), "responses_total", status="500") == 1


def test_histograms_are_read_back_cumulative(tmp_path, in_slot):
    slot = in_slot(1)
    latency = Histogram("latency_seconds", "Latency.", buckets=(0.1, 0.3, 1.0), registry=None)
    for seconds in (0.05, 0.2, 0.2, 5):
        latency.observe(seconds)
    registry = slot_registry(slot)
    assert sample(registry, "latency_seconds_bucket", le="0.3") == 3
    assert sample(registry, "latency_seconds_bucket", le="+Inf") == 4
    assert sample(registry, "latency_seconds_sum") == pytest.approx(5.45)


def test_each_slot_serves_its_own_and_the_aggregate_sums_them(tmp_path, in_slot):
    slots = []
    for number, count in ((1, 3), (2, 4)):
        slots.append(in_slot(number))
        Counter("jobs", "Jobs done.", registry=None).inc(count)
    assert [sample(slot_registry(slot), "jobs_total") for slot in slots] == [3, 4]
    assert sample(aggregated_registry(tmp_path), "jobs_total") == 7


def test_files_stay_one_set_per_slot(tmp_path, in_slot):
    for _ in range(50):  # fifty recycles of one slot
        in_slot(1)
        Counter("jobs", "Jobs done.", registry=None).inc()
        Histogram("latency_seconds", "Latency.", registry=None).observe(0.1)
    assert sorted(path.name for path in tmp_path.glob("*.db")) == ["counter_1.db", "histogram_1.db"]
    assert sample(aggregated_registry(tmp_path), "jobs_total") == 50


def test_threaded_workers_lose_no_update(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(values, "ValueClass", slot_value_class(Slot(1, tmp_path, lock_fd=-1), threaded=True))
    jobs = Counter("jobs", "Jobs done.", registry=None)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: [jobs.inc() for _ in range(2000)], range(8)))
    assert sample(aggregated_registry(tmp_path), "jobs_total") == 16000


def test_gauges_are_per_process_and_exported(tmp_path, in_slot):
    slot = in_slot(1)
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
        from service_runtime.worker_slots.values import keep_values_in_slot
        from service_runtime.worker_slots.slots import claim_slot
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


def corrupt_header(path, used: int = 0x7FFFFFFF) -> None:
    """What ``printf '\\xff\\xff\\xff\\x7f' | dd of=<file> conv=notrunc`` does: a header claiming 2 GiB used."""
    with open(path, "r+b") as file:
        file.write(struct.pack("i", used))


@pytest.mark.parametrize("used", [0x7FFFFFFF, -8, 3], ids=["beyond-the-file", "negative", "inside-the-header"])
def test_a_corrupt_slot_file_starts_clean_and_the_worker_serves_on(tmp_path, in_slot, caplog, used):
    in_slot(2)
    Histogram("latency_seconds", "Latency.", registry=None).observe(0.1)
    corrupt_header(tmp_path / "histogram_2.db", used)
    slot = in_slot(2)  # the replacement worker of slot 2
    latency = Histogram("latency_seconds", "Latency.", registry=None)
    latency.observe(0.2)
    assert sample(slot_registry(slot), "latency_seconds_count") == 1, "started again from zero"
    assert "histogram_2.db cannot be read back" in caplog.text
    assert FAULTS == {}, "a replaced file is not a standing fault"


def test_a_corrupt_file_of_another_slot_is_left_out_of_the_scrape_not_the_whole_scrape(tmp_path, in_slot):
    in_slot(1)
    Counter("jobs", "Jobs done.", registry=None).inc(3)
    in_slot(2)
    Counter("jobs", "Jobs done.", registry=None).inc(4)
    corrupt_header(tmp_path / "counter_2.db")
    registry = aggregated_registry(tmp_path)
    assert sample(registry, "jobs_total") == 3
    assert sample(registry, "metrics_slot_faults", file="counter_2.db") == 1


def test_a_slot_file_that_cannot_be_allocated_leaves_values_in_memory_and_says_so(tmp_path, in_slot, monkeypatch):
    def disk_full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", disk_full)
    slot = in_slot(1)
    jobs = Counter("jobs", "Jobs done.", registry=None)
    jobs.inc(2)  # no exception reaches the request
    assert jobs._value.get() == 2
    assert "No space left on device" in FAULTS["counter_1.db"]
    assert sample(slot_registry(slot), "metrics_slot_faults", file="counter_1.db") == 1
    assert "new series of slot 1 are counted in memory only" in degraded_notes(tmp_path)[0]


def test_a_full_disk_when_a_file_grows_is_an_error_not_sigbus(tmp_path, in_slot, monkeypatch):
    slot = in_slot(1)
    jobs = Counter("jobs", "Jobs done.", ["kind"], registry=None)
    jobs.labels("first").inc()
    refused = []

    def disk_full(fd, offset, length):
        refused.append(length)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", disk_full)
    for kind in range(2000):  # about 200 KiB of keys: past the first 64 KiB the file must grow
        jobs.labels(str(kind)).inc()
    assert refused, "growing the file asked for its space first"
    assert sample(slot_registry(slot), "jobs_total", kind="first") == 1
    assert sample(slot_registry(slot), "metrics_slot_faults", file="counter_1.db") == 1


def test_a_file_size_limit_never_fails_a_request(tmp_path, python_process):
    """``ulimit -f 32``: every slot file is too large to create; the process counts on, in memory."""
    worker = python_process(f"""
        import resource
        from pathlib import Path
        from prometheus_client import Counter
        from service_runtime.worker_slots.values import FAULTS, keep_values_in_slot
        from service_runtime.worker_slots.slots import claim_slot
        resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, 32 * 1024))
        keep_values_in_slot(claim_slot(Path({str(tmp_path)!r}), 1))
        requests = Counter("requests", "Requests.")
        requests.inc(5)
        print(requests._value.get(), sorted(FAULTS), flush=True)
    """)
    assert worker.stdout.readline().strip() == "5.0 ['counter_1.db']"
    assert worker.wait(timeout=30) == 0


def test_slot_files_are_allocated_not_sparse(tmp_path, in_slot):
    in_slot(1)
    Counter("jobs", "Jobs done.", registry=None).inc()
    stat = (tmp_path / "counter_1.db").stat()
    assert stat.st_blocks * 512 >= stat.st_size, "every page of the mapped file has its disk space"


def test_the_fault_metric_is_served_empty_when_all_is_well(tmp_path, in_slot):
    slot = in_slot(1)
    Counter("jobs", "Jobs done.", registry=None).inc()
    assert b"metrics_slot_faults" in generate_latest(slot_registry(slot))
    assert sample(slot_registry(slot), "metrics_slot_faults", file="counter_1.db") is None
    families = {family.name: family for family in slot_registry(slot).collect()}
    assert families["metrics_slot_faults"].samples == [], "no file of the slot is named as faulty"
