"""Instructions to find a latency's histogram bucket: lean's walk up from the smallest bound
(service_runtime/request_metrics/lean_series.bucket_index, inlined in the middleware) against a binary search
(bisect_left, which lean used before).

./benchmarks/run --bucket-search prints one row per bucket of the baked service's default
bounds (service_runtime/request_metrics/buckets.py). Each figure is counted by callgrind: two runs of the loop
below that differ only in their count, the difference divided by the difference in counts,
less the same for a loop that finds nothing. About two minutes; needs valgrind. With --quick,
the first and the last bucket only.
"""

import shutil
import sys
import tempfile
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BUCKETS_MODULE = HERE.parent / "{{cookiecutter.project_slug}}" / "service_runtime" / "request_metrics" / "buckets.py"
COUNTS = (1_000, 21_000)
SEARCHES = ("none", "walk", "bisect")


def default_bounds() -> tuple[float, ...]:
    """The baked service's latency bounds at the default SLO threshold (plain Python: no Jinja in that file).

    Run from its source, not imported: an import would write bytecode into the template, which a bake copies.
    """
    namespace: dict[str, Any] = {}
    exec(compile(BUCKETS_MODULE.read_text(), str(BUCKETS_MODULE), "exec"), namespace)
    return tuple(namespace["latency_buckets"](namespace["DEFAULT_BOUNDS"][0]))


def find(search: str, elapsed: float, count: int, bounds: tuple[float, ...]) -> None:
    """The measured loop: each search as the middleware's hot path writes it."""
    if search == "walk":
        for _ in range(count):
            index = 0
            while elapsed > bounds[index]:
                index += 1
    elif search == "bisect":
        for _ in range(count):
            index = bisect_left(bounds, elapsed)
    else:
        for _ in range(count):
            index = 0
    assert index >= 0


def counted(child: Path, bounds: tuple[float, ...], search: str, elapsed: float, count: int) -> int:
    """Instructions of one child run. The child is a copy of this file alone in a directory of its own,
    run isolated (-I -S): its start-up then reads the same files in every run, whatever the checkout
    around it holds at that moment, and cancels out between the two counts."""
    from benchmarks import callgrind

    command = [sys.executable, "-I", "-S", str(child), "--child", search, repr(elapsed), str(count)]
    command += [",".join(map(repr, bounds))]
    return callgrind.instructions(command, child.parent, {"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"}, search)


def latencies(bounds: tuple[float, ...]) -> list[float]:
    """One latency inside each bucket: halfway between its bounds (twice the last finite bound for +Inf)."""
    lower = (0.0, *bounds[:-1])
    return [(low + high) / 2 if high != float("inf") else low * 2 for low, high in zip(lower, bounds)]


def measure(quick: bool = False) -> list[tuple[float, float, int, int]]:
    """(bucket's bound, a latency in it, walk's instructions, bisect's), per bucket; with ``quick``,
    for the first and the last bucket only (the suite's check that it runs)."""
    bounds = default_bounds()
    buckets = [(bound, elapsed) for bound, elapsed in zip(bounds, latencies(bounds))]
    if quick:
        buckets = [buckets[0], buckets[-1]]
    runs = [(search, elapsed, count) for _, elapsed in buckets for search in SEARCHES for count in COUNTS]
    with tempfile.TemporaryDirectory(prefix="bucket-search-") as directory:
        child = Path(directory) / "bucket_search.py"
        shutil.copyfile(__file__, child)
        with ThreadPoolExecutor(max_workers=2) as pool:
            totals = dict(zip(runs, pool.map(lambda run: counted(child, bounds, *run), runs)))

    def per_search(search: str, elapsed: float) -> float:
        return (totals[search, elapsed, COUNTS[1]] - totals[search, elapsed, COUNTS[0]]) / (COUNTS[1] - COUNTS[0])

    rows = []
    for bound, elapsed in buckets:
        empty = per_search("none", elapsed)
        rows.append(
            (bound, elapsed, round(per_search("walk", elapsed) - empty), round(per_search("bisect", elapsed) - empty))
        )
    return rows


def table(rows: list[tuple[float, float, int, int]]) -> str:
    lines = ["| bucket (le) | latency | walk (lean) | bisect | walk - bisect |", "|---|---|---|---|---|"]
    for bound, elapsed, walk, bisect in rows:
        lines.append(f"| {bound:g} | {elapsed * 1000:g} ms | {walk:,} | {bisect:,} | {walk - bisect:+,} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        find(argv[1], float(argv[2]), int(argv[3]), tuple(float(bound) for bound in argv[4].split(",")))
        return 0
    if shutil.which("valgrind") is None:
        print("bucket_search: needs valgrind (Debian package 'valgrind')", file=sys.stderr)
        return 1
    print(table(measure(quick="--quick" in argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
