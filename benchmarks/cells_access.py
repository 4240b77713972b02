"""Instructions to read a hot key's four cells (file, total, bounds, buckets) per request, by the
structure that holds them: a plain tuple unpacked by position (lean's form until 2026-12-07), a
NamedTuple unpacked or read by name, and a class with __slots__ read by name.

./benchmarks/run --cells prints one row per structure. Counted as bucket_search.py counts: callgrind
runs of the loop below at two counts, the difference per iteration, less a loop that reads nothing.
About a minute; needs valgrind.
"""

import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

COUNTS = (1_000, 21_000)
FORMS = ("none", "tuple-unpacked", "namedtuple-unpacked", "namedtuple-by-name", "slots-by-name")


class NamedCells(NamedTuple):
    file: Any
    total: int
    bounds: tuple[float, ...]
    buckets: tuple[int, ...]


class SlotCells:
    __slots__ = ("file", "total", "bounds", "buckets")

    def __init__(self, file: Any, total: int, bounds: tuple[float, ...], buckets: tuple[int, ...]) -> None:
        self.file, self.total, self.bounds, self.buckets = file, total, bounds, buckets


def read(form: str, count: int) -> None:
    """The measured loop: a dictionary lookup by the hot key, then the four cells, as the middleware reads them."""
    fields = (object(), 3, (0.1, 0.3, float("inf")), (5, 7, 9))
    holders = {
        "tuple-unpacked": fields,
        "namedtuple-unpacked": NamedCells(*fields),
        "namedtuple-by-name": NamedCells(*fields),
        "slots-by-name": SlotCells(*fields),
        "none": fields,
    }
    in_place = {("index", "GET", 200, "http", dict): holders[form]}
    key = ("index", "GET", 200, "http", dict)
    file: Any = None
    total, bounds, buckets = 0, (), ()
    if form in ("tuple-unpacked", "namedtuple-unpacked"):
        for _ in range(count):
            file, total, bounds, buckets = in_place[key]
    elif form in ("namedtuple-by-name", "slots-by-name"):
        for _ in range(count):
            cells = in_place[key]
            file = cells.file
            total = cells.total
            bounds = cells.bounds
            buckets = cells.buckets
    else:
        for _ in range(count):
            cells = in_place[key]
    assert form == "none" or (file is not None and total and bounds and buckets)


def counted(child: Path, form: str, count: int) -> int:
    from benchmarks import callgrind

    command = [sys.executable, "-I", "-S", str(child), "--child", form, str(count)]
    return callgrind.instructions(command, child.parent, {"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"}, form)


def measure() -> dict[str, int]:
    """Instructions per read, by form, over the loop that only looks the key up."""
    runs = [(form, count) for form in FORMS for count in COUNTS]
    with tempfile.TemporaryDirectory(prefix="cells-access-") as directory:
        child = Path(directory) / "cells_access.py"
        shutil.copyfile(__file__, child)
        with ThreadPoolExecutor(max_workers=2) as pool:
            totals = dict(zip(runs, pool.map(lambda run: counted(child, *run), runs)))
    per = {form: (totals[form, COUNTS[1]] - totals[form, COUNTS[0]]) / (COUNTS[1] - COUNTS[0]) for form in FORMS}
    return {form: round(per[form] - per["none"]) for form in FORMS if form != "none"}


def table(rows: dict[str, int]) -> str:
    lines = ["| structure | instructions per read | against the tuple |", "|---|---|---|"]
    for form, instructions in rows.items():
        lines.append(f"| {form} | {instructions:,} | {instructions - rows['tuple-unpacked']:+,} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        read(argv[1], int(argv[2]))
        return 0
    if shutil.which("valgrind") is None:
        print("cells_access: needs valgrind (Debian package 'valgrind')", file=sys.stderr)
        return 1
    print(table(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
