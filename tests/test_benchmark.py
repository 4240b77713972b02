"""The benchmark command still runs and reports every figure; what the figures are is its business, not a test's."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.processes import REPO

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (Debian package 'wrk'; .ci/run installs it)")
def test_quick_benchmark_prints_the_table_and_writes_every_figure(tmp_path):
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [REPO / "benchmarks" / "run", "--quick", "--output", output], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout
    for row in ("bare", "lean", "full"):
        assert any(line.startswith(row) for line in table.splitlines()), table
    assert "Boot to all metrics ports" in table and "Targets:" in table

    report = json.loads(output.read_text())
    assert set(report) >= {"machine", "inprocess", "throughput", "scrapes", "boot", "targets"}
    for profile in ("bare", "lean", "full"):
        assert report["inprocess"][profile]["cpu_us_per_request"] > 0
        assert report["throughput"][profile]["requests_per_second"] > 0
        assert report["scrapes"][profile]["idle"]["p99_ms"] >= report["scrapes"][profile]["idle"]["p50_ms"] > 0
    assert report["inprocess"]["bare"]["overhead_us"] == 0
    assert report["boot"]["4"]["seconds_to_all_ports"] > 0
