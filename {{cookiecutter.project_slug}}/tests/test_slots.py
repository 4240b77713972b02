"""Durable worker slots: one master per slot directory, one worker per slot, released however it dies."""

import os
import signal

import pytest

from service_runtime.worker_slots.slots import (
    SlotDirectoryInUse,
    SlotDirectoryNotOurs,
    claim_slot,
    clear_problem,
    hold_instance,
    metrics_problems,
    release_instance,
    report_problem,
    slot_directory,
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
    (tmp_path / "counter_1.db").write_bytes(b"old")
    (tmp_path / "slot-1.problem").write_text("old")
    os.close(hold_instance(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["instance.lock"]


def test_each_user_gets_a_slot_directory_of_their_own(tmp_path):
    directory = slot_directory({"GUNICORN_RUNTIME_DIR": str(tmp_path)})
    assert directory == tmp_path / f"{{ cookiecutter.project_slug }}-metrics-{os.geteuid()}"
    os.close(hold_instance(directory))
    assert directory.stat().st_mode & 0o777 == 0o700


def test_a_clean_shutdown_removes_the_slot_directory(tmp_path):
    directory = tmp_path / "slots"
    fd = hold_instance(directory)
    (directory / "counter_1.db").write_bytes(b"")
    (directory / "slot-1.lock").write_bytes(b"")
    release_instance(directory, fd)
    assert not directory.exists()


def victims_directory(tmp_path):
    """A directory of the user's own that an attacker would like the service to write or delete in."""
    victim = tmp_path / "home"
    victim.mkdir()
    (victim / "id_ed25519").write_text("secret")
    (victim / "subdirectory").mkdir()
    return victim


@pytest.mark.parametrize("mode", [0o777, 0o755, 0o750, 0o701], ids=oct)
def test_a_slot_directory_others_can_reach_is_refused(tmp_path, mode):
    directory = tmp_path / "slots"
    directory.mkdir()
    directory.chmod(mode)
    (directory / "counter_0.db").write_bytes(b"planted")
    with pytest.raises(SlotDirectoryNotOurs, match=f"has mode {mode:04o}, not 0700"):
        hold_instance(directory)
    assert (directory / "counter_0.db").read_bytes() == b"planted", "nothing is deleted in a directory not ours"


def test_a_slot_directory_of_another_owner_is_refused(tmp_path, monkeypatch):
    directory = tmp_path / "slots"
    directory.mkdir(mode=0o700)
    owner = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    with pytest.raises(SlotDirectoryNotOurs, match=f"belongs to uid {owner}, not to this user"):
        hold_instance(directory)


def test_a_symlinked_slot_directory_is_never_followed(tmp_path):
    victim = victims_directory(tmp_path)
    (tmp_path / "slots").symlink_to(victim)
    with pytest.raises(SlotDirectoryNotOurs, match="is a symlink or not a directory"):
        hold_instance(tmp_path / "slots")
    assert sorted(path.name for path in victim.iterdir()) == ["id_ed25519", "subdirectory"]


@pytest.mark.parametrize(
    "plant",
    [
        pytest.param(lambda directory, victim: (directory / "evil.txt").write_text("x"), id="stray-file"),
        pytest.param(lambda directory, victim: (directory / "slot-1.lock").mkdir(), id="directory-as-lock"),
        pytest.param(
            lambda directory, victim: (directory / "counter_0.db").symlink_to(victim / "id_ed25519"),
            id="symlinked-slot-file",
        ),
        pytest.param(
            lambda directory, victim: (directory / "instance.lock").symlink_to(victim / "id_ed25519"),
            id="symlinked-instance-lock",
        ),
    ],
)
def test_an_entry_the_service_never_writes_is_refused_and_nothing_is_deleted(tmp_path, plant):
    victim = victims_directory(tmp_path)
    directory = tmp_path / "slots"
    directory.mkdir(mode=0o700)
    (directory / "counter_1.db").write_bytes(b"kept")
    plant(directory, victim)
    with pytest.raises(SlotDirectoryNotOurs) as refused:
        hold_instance(directory)
    assert "\n" not in str(refused.value)
    assert (directory / "counter_1.db").read_bytes() == b"kept"
    assert (victim / "id_ed25519").read_text() == "secret"


def test_workers_claim_the_lowest_free_slot(tmp_path):
    first = claim_slot(tmp_path, 3)
    second = claim_slot(tmp_path, 3)
    assert (first.number, second.number) == (1, 2), "numbered from 1, as the chart's metrics-1..N ports"
    assert try_claim(tmp_path, 1) is None, "slot 1 is held"
    os.close(first.lock_fd)  # its worker died
    assert claim_slot(tmp_path, 3).number == 1


def test_a_waiting_worker_keeps_its_heartbeat_and_gets_the_first_slot_freed(tmp_path):
    held = claim_slot(tmp_path, 1)
    beats = []

    def heartbeat():
        beats.append(1)
        if len(beats) == 5:
            os.close(held.lock_fd)

    assert claim_slot(tmp_path, 1, heartbeat=heartbeat).number == 1
    assert len(beats) == 5


def test_the_kernel_releases_a_slot_when_its_holder_is_killed(tmp_path, python_process):
    holder = python_process(f"""
        import time
        from pathlib import Path
        from service_runtime.worker_slots.slots import claim_slot
        print(claim_slot(Path({str(tmp_path)!r}), 2).number, flush=True)
        time.sleep(60)
    """)
    assert holder.stdout.readline().strip() == "1"
    assert try_claim(tmp_path, 1) is None
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert claim_slot(tmp_path, 2).number == 1


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


def test_a_runtime_directory_is_named_for_what_is_wrong_with_it(tmp_path):
    from service_runtime.worker_slots.slots import RuntimeDirectoryUnusable, runtime_directory

    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = {
        "run/metrics": "is relative: give an absolute path",
        str(tmp_path / "missing"): "does not exist",
        str(a_file): "is not a directory",
    }
    for value, problem in cases.items():
        with pytest.raises(RuntimeDirectoryUnusable) as raised:
            runtime_directory({"GUNICORN_RUNTIME_DIR": value})
        message = str(raised.value)
        assert message.startswith(f"GUNICORN_RUNTIME_DIR {value!r} {problem}") and "\n" not in message, message
