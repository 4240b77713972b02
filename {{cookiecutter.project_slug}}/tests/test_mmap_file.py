"""What metrics/mmap_file.py relies on in prometheus_client, checked against the installed version."""

import inspect
import struct

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from service_runtime.worker_slots import mmap_file
from service_runtime.worker_slots.mmap_file import SlotFile

ADAPTER = "metrics/mmap_file.py"


def test_the_private_names_the_adapter_uses_still_exist(tmp_path):
    plain = MmapedDict(str(tmp_path / "plain.db"))
    plain.read_value("key")
    missing = [name for name in mmap_file.PRIVATE_NAMES if not hasattr(plain, name)]
    assert missing == [], f"prometheus_client's MmapedDict no longer has {missing}: update {ADAPTER}"
    assert "key" in plain._positions, f"MmapedDict._positions no longer maps keys to offsets: update {ADAPTER}"
    assert list(inspect.signature(MmapedDict._init_value).parameters) == ["self", "key"], f"update {ADAPTER}"


def test_values_written_at_the_offset_are_what_prometheus_client_reads(tmp_path):
    path = tmp_path / "counter_1.db"
    slot_file = SlotFile(str(path))
    key = mmap_key("jobs_total", "jobs_total", [], [], "Jobs.")
    offset = slot_file.offset_of(key)
    slot_file.buffer[offset : offset + 16] = struct.pack("dd", 42.0, 0.0)
    read_back = {entry[0]: entry[1] for entry in MmapedDict.read_all_values_from_file(str(path))}
    assert read_back == {key: 42.0}, f"the file layout changed under {ADAPTER}"


def test_the_buffer_follows_the_mapping_when_the_file_grows(tmp_path):
    slot_file = SlotFile(str(tmp_path / "counter_1.db"))
    keys = [mmap_key("jobs_total", "jobs_total", ["n"], [str(n)], "Jobs.") for n in range(3000)]
    offsets = [slot_file.offset_of(key) for key in keys]  # past the first 64 KiB
    assert slot_file.buffer is slot_file._m, f"SlotFile.buffer is stale after growth: see {ADAPTER}"
    assert offsets[-1] + 16 <= len(slot_file.buffer)


def test_the_doubles_follow_the_mapping_and_write_where_prometheus_client_reads(tmp_path):
    path = tmp_path / "counter_1.db"
    slot_file = SlotFile(str(path))
    keys = [mmap_key("jobs_total", "jobs_total", ["n"], [str(n)], "Jobs.") for n in range(3000)]
    offsets = [slot_file.offset_of(key) for key in keys]  # past the first 64 KiB: mapped anew
    assert slot_file.doubles.obj is slot_file._m, f"SlotFile.doubles is stale after growth: see {ADAPTER}"
    slot_file.doubles[offsets[-1] // 8] = 7.0
    read_back = {entry[0]: entry[1] for entry in MmapedDict.read_all_values_from_file(str(path))}
    assert read_back[keys[-1]] == 7.0
    slot_file.close()  # an mmap with a view still held would refuse to close


def test_a_file_of_a_size_no_double_divides_is_refused(tmp_path):
    path = tmp_path / "counter_1.db"
    SlotFile(str(path)).close()
    with open(path, "ab") as file:
        file.write(b"x")
    with pytest.raises(ValueError, match="not a whole number of 8-byte values"):
        SlotFile(str(path))
