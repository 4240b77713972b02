"""The benchmark command still runs and reports every figure; what the figures are is its business, not a test's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.support.paths import REPO
from tests.support.prometheus import PROMETHEUS

pytestmark = pytest.mark.e2e


# The setups the quick run must report: measured in process, and served under wrk.
IN_PROCESS = ("bare", "floor", "lean-memory", "lean", "lean-traced", "lean-unsampled", "full", "multiprocess")
SERVED = ("bare", "lean", "lean-aggregated", "lean-traced", "lean-unsampled", "full", "multiprocess")
SERVED += ("asgi-bare", "asgi-lean", "asgi-full")


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (Debian package 'wrk'; .ci/run installs it)")
@pytest.mark.background("benchmarks/run", "--quick", "--output")
def test_quick_benchmark_prints_the_table_and_writes_every_figure(background, request, report):
    result, output = background.result(request.node.name), background.outputs[request.node.name]
    report(background.waited(request.node.name))
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout
    for row in dict.fromkeys((*IN_PROCESS, *SERVED)):
        assert any(line.split()[0] == row for line in table.splitlines() if line.strip()), table
    assert "Boot to all metrics ports" in table and "Targets:" in table
    assert "What the database metrics add to a query" in table
    assert "worker recycles, lean-aggregated: scrape p50/p99" in table
    assert "worker recycles, multiprocess: scrape p50/p99" in table

    report = json.loads(output.read_text())
    assert set(report) >= {"machine", "inprocess", "throughput", "scrapes", "recycled", "boot", "targets"}
    for setup in IN_PROCESS:
        assert report["inprocess"][setup]["cpu_us_per_request"] > 0
    for setup in SERVED:
        assert report["throughput"][setup]["requests_per_second"] > 0
        assert report["scrapes"][setup]["idle"]["p99_ms"] >= report["scrapes"][setup]["idle"]["p50_ms"] > 0
    assert report["inprocess"]["bare"]["overhead_us"] == 0
    assert set(report["queries"]) == {"off", "lean", "full"}
    assert all(cost["cpu_us_per_query"] > 0 for cost in report["queries"].values())
    recycled = report["recycled"]
    assert recycled["lean-aggregated"]["all_answered"] and recycled["multiprocess"]["all_answered"]
    # Bounded files: one set per slot (2 workers, counter and histogram) against one set per pid.
    assert recycled["lean-aggregated"]["files"] == 4
    assert recycled["multiprocess"]["files"] > recycled["lean-aggregated"]["files"]
    assert report["boot"]["4"]["seconds_to_all_ports"] > 0


@pytest.mark.skipif(
    shutil.which("valgrind") is None, reason="valgrind not installed (Debian package 'valgrind'; .ci/run installs it)"
)
def test_bucket_search_benchmark_counts_both_searches():
    template_bytecode = REPO / "{{cookiecutter.project_slug}}" / "service_runtime" / "request_metrics" / "__pycache__"
    shutil.rmtree(template_bytecode, ignore_errors=True)  # left by an earlier run: the check below needs it gone
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bucket_search", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ") and "ms" in line]
    assert [row[0].strip() for row in rows] == ["0.01", "inf"], result.stdout
    assert all(int(cell.replace(",", "")) > 0 for row in rows for cell in (row[2], row[3])), result.stdout
    # Reading the template's bounds must leave nothing in the template: a bake would copy it.
    assert not template_bytecode.exists()


def test_the_files_the_benchmark_adds_to_a_bake_type_check_strictly(bake, baked_venv, tmp_path):
    """benchmarks/overlay/ is real source under the baked project's own strict mypy, not strings."""
    project = tmp_path / bake().name
    shutil.copytree(bake(), project, ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache"))
    shutil.copytree(
        REPO / "benchmarks" / "overlay", project, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    overlay = REPO / "benchmarks" / "overlay"
    files = [str(path.relative_to(overlay)) for path in overlay.rglob("*.py")]
    command = [baked_venv / "bin/mypy", "--cache-dir", tmp_path / "mypy-cache", *files]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(files) == [
        "bench_async_urls.py",
        "bench_peer.conf.py",
        "config/settings/bench_async_floor.py",
        "config/settings/bench_bare.py",
        "config/settings/bench_connections.py",
        "config/settings/bench_floor.py",
    ]


@pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus not installed (Debian package 'prometheus'; .ci/run installs it)"
)
@pytest.mark.background("benchmarks/run", "--fleet", "--quick", "--output")
def test_fleet_benchmark_scrapes_every_target_and_times_every_rule_group(background, request, report):
    """A tiny fleet through the fleet benchmark's whole path (docs/scale.md has the real figures)."""
    command, output = background.result(request.node.name), background.outputs[request.node.name]
    report(background.waited(request.node.name))
    assert command.returncode == 0, command.stderr[-3000:]
    report = json.loads(output.read_text())
    modes = {result["mode"]: result for result in report["fleets"]}
    assert set(modes) == {"per_worker", "aggregated"}
    for result in modes.values():
        assert result["targets_up"] == result["targets"]
        assert result["active_series"] >= result["targets"] * result["series_per_target"]
        assert result["samples_per_second"] > 0 and result["rss_mib"] > 0
        assert {group.rsplit("-", 1)[-1] for group in result["rule_group_ms"]} >= {"rates", "slo", "budget", "django"}
    assert modes["per_worker"]["targets"] == 2 * modes["aggregated"]["targets"]
    candidates = report["period"]["candidates"]
    raw = next(value for name, value in candidates.items() if name.startswith("raw"))
    assert raw["error_vs_exact"] == pytest.approx(0, abs=1e-3), "the chart's own period SLI is exact"
    assert all(value["samples_read"] > 0 for value in candidates.values())
    assert "| lean per_worker 2x2 |" in command.stdout  # the period comparison's table


def test_the_benchmark_modules_import_one_another_without_a_cycle():
    """Every ``benchmarks`` module's imports of the others, at any depth in the module, form no cycle."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in (REPO / "benchmarks").glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "benchmarks":
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("benchmarks."):
                imported.add(node.module.split(".")[1])
        graph[path.stem] = imported

    def cycle_from(module: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
        for other in sorted(graph.get(module, ())):
            if other in path:
                return (*path, other)
            found = cycle_from(other, (*path, other))
            if found:
                return found
        return None

    cycles = [found for module in sorted(graph) if (found := cycle_from(module, (module,)))]
    assert cycles == [], cycles
