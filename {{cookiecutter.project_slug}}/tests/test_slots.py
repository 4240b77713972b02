"""Durable worker slots: one master per slot directory, one worker per slot, released however it dies."""

import os
import signal

import pytest

from {{ cookiecutter.project_slug }}.metrics.slots import (
    SlotDirectoryInUse,
    claim_slot,
    clear_problem,
    hold_instance,
    metrics_problems,
    report_problem,
    start_fresh_gauges,
    try_claim,
    write_aggregator_pid,
)


def test_a_second_master_is_refused_naming_the_first(tmp_path):
    first = hold_instance(tmp_path)
    try:
        with pytest.raises(SlotDirectoryInUse) as refused:
            hold_instance(tmp_path)
        assert f"another gunicorn (pid {os.getpid()}) already serves metrics from {tmp_path}" in str(refused.value)
    finally:
        os.close(first)
    os.close(hold_instance(tmp_path))  # free again once the first is gone


def test_a_new_master_starts_from_an_empty_directory(tmp_path):
    (tmp_path / "counter_0.db").write_bytes(b"old")
    (tmp_path / "slot-0.problem").write_text("old")
    os.close(hold_instance(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["instance.lock"]


def test_workers_claim_the_lowest_free_slot(tmp_path):
    zero = claim_slot(tmp_path, 3)
    one = claim_slot(tmp_path, 3)
    assert (zero.index, one.index) == (0, 1)
    assert try_claim(tmp_path, 0) is None, "slot 0 is held"
    os.close(zero.lock_fd)  # its worker died
    assert claim_slot(tmp_path, 3).index == 0


def test_a_waiting_worker_keeps_its_heartbeat_and_gets_the_first_slot_freed(tmp_path):
    held = claim_slot(tmp_path, 1)
    beats = []

    def heartbeat():
        beats.append(1)
        if len(beats) == 5:
            os.close(held.lock_fd)

    assert claim_slot(tmp_path, 1, heartbeat=heartbeat).index == 0
    assert len(beats) == 5


def test_the_kernel_releases_a_slot_when_its_holder_is_killed(tmp_path, python_process):
    holder = python_process(f"""
        import time
        from pathlib import Path
        from {{ cookiecutter.project_slug }}.metrics.slots import claim_slot
        print(claim_slot(Path({str(tmp_path)!r}), 2).index, flush=True)
        time.sleep(60)
    """)
    assert holder.stdout.readline().strip() == "0"
    assert try_claim(tmp_path, 0) is None
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert claim_slot(tmp_path, 2).index == 0


def test_gauges_start_fresh_but_counters_stay(tmp_path):
    for name in ("gauge_livesum_1.db", "gauge_all_1.db", "counter_1.db", "gauge_all_11.db"):
        (tmp_path / name).write_bytes(b"x")
    start_fresh_gauges(try_claim(tmp_path, 1))
    assert sorted(path.name for path in tmp_path.glob("*.db")) == ["counter_1.db", "gauge_all_11.db"]


def test_problems_are_reported_until_cleared(tmp_path):
    assert metrics_problems(tmp_path, aggregated=False) == []
    report_problem(tmp_path, "slot-2", "metrics port 9102 cannot be bound")
    assert metrics_problems(tmp_path, aggregated=False) == ["metrics port 9102 cannot be bound"]
    clear_problem(tmp_path, "slot-2")
    assert metrics_problems(tmp_path, aggregated=False) == []


def test_aggregated_mode_reports_a_missing_aggregator(tmp_path):
    assert "aggregator process" in metrics_problems(tmp_path, aggregated=True)[0]
    write_aggregator_pid(tmp_path, os.getpid())
    assert metrics_problems(tmp_path, aggregated=True) == []
