"""The one place that reaches into prometheus_client's ``MmapedDict`` beyond its public methods.

``values.py`` keeps each series' value at a fixed offset of its slot file and
writes its doubles there, instead of ``write_value``, which looks the key up on
every update. That needs three private parts: the key's offset (``_positions``),
the current mapping (``_m``) and the growth step (``_init_value``), wrapped here as
``SlotFile.offset_of``, ``buffer`` and ``doubles``. tests/test_mmap_file.py fails,
naming this module, if a new prometheus_client changes any of them.
"""

from __future__ import annotations

import os

from prometheus_client.mmap_dict import MmapedDict

INITIAL_SIZE = 1 << 16  # prometheus_client's own first size for these files
# What this module relies on, checked by tests/test_mmap_file.py against the installed prometheus_client.
PRIVATE_NAMES = ("_positions", "_m", "_used", "_capacity", "_f", "_init_value")


class SlotFile(MmapedDict):
    """prometheus_client's ``MmapedDict``, checked when opened and allocated before it is mapped.

    ``MmapedDict`` grows its file with ``truncate``, which leaves a sparse file:
    on a full disk the first write to a new page faults with SIGBUS and kills
    the worker mid-request. ``posix_fallocate`` reserves the space first, so the
    failure is an ``OSError`` at the moment a series is created, which the
    caller can survive.
    """

    def __init__(self, filename: str) -> None:
        fd = os.open(filename, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if os.fstat(fd).st_size == 0:
                os.posix_fallocate(fd, 0, INITIAL_SIZE)
        finally:
            os.close(fd)
        super().__init__(filename)
        if not 8 <= self._used <= self._capacity:
            self.close()
            raise ValueError(f"its header claims {self._used} bytes used of {self._capacity}")
        if self._capacity % 8:
            self.close()
            raise ValueError(f"its size, {self._capacity} bytes, is not a whole number of 8-byte values")
        self._map_anew()

    def _map_anew(self) -> None:
        self.buffer = self._m
        # The same bytes as doubles: writing one value is an item assignment, cheaper than
        # struct.pack_into (the template repository's docs/benchmark.md counts a request's).
        self.doubles = memoryview(self._m).cast("d")

    def close(self) -> None:
        doubles = self.__dict__.pop("doubles", None)
        if doubles is not None:
            doubles.release()  # an mmap cannot close while a view of it is held
        super().close()

    def offset_of(self, key: str) -> int:
        """Where ``key``'s value and timestamp (two doubles) start in ``buffer``; adds the key if new."""
        self.read_value(key)
        offset: int = self._positions[key]
        return offset

    def _init_value(self, key: str) -> None:
        encoded = len(key.encode("utf-8"))
        needed = self._used + 4 + encoded + (8 - (encoded + 4) % 8) + 16
        capacity = self._capacity
        while needed > capacity:
            capacity *= 2
        if capacity != self._capacity:
            os.posix_fallocate(self._f.fileno(), 0, capacity)
            self.doubles.release()  # the old mapping is dropped below, and must not stay pinned by a view
        try:
            super()._init_value(key)
        finally:
            self._map_anew()  # a grown file is mapped anew; a failed growth keeps the old mapping
