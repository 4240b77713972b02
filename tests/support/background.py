"""Long commands the suite only checks the outcome of, run in the background while the rest of it runs.

Each supported bake's own test suite, and the benchmarks' smoke runs (the tests marked
``background``), are separate processes; the template suite's own tests mostly use one
core and the background runs the other. Runs go one at a time, at low CPU priority so the
timing-sensitive end-to-end tests keep theirs; the tests that check them are moved to the
end of the session and only collect each result.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

# The answers the generated promtool unit tests depend on for what they prove: the objectives,
# the threshold, the period, and how many targets a pod has. Worker count and names only relabel.
PROMTOOL_SHAPE = ("slo_availability_target", "slo_latency_target", "slo_latency_threshold_seconds", "slo_period_days")


# Baked tests whose code no answer changes and that wait on a clock (the exporter's 10 s idle
# timeout): the first suite of the session runs them, the others skip them.
ONCE_A_SESSION = ("test_idle_connections_cannot_pile_up_threads",)


def promtool_shape(context: dict) -> tuple:
    return tuple(context.get(key) for key in PROMTOOL_SHAPE), context.get("metrics_mode") == "aggregated"


class BackgroundRuns:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="background-run")
        self.runs: dict[str, Future] = {}
        self.shapes_run: set = set()
        self.databases: dict[str, str | None] = {}
        self.began = time.monotonic()
        self.finished: dict[str, float] = {}  # name -> seconds from the first start to its end
        self.outputs: dict[str, Path] = {}  # a marked test's name -> the file its command writes

    def command(self, name: str, argv: list[str], cwd: Path) -> None:
        """Run ``argv``, a marked test's command, with a file of its own for output appended."""
        output = self.outputs[name] = self.workdir / f"{name}.json"
        self.runs[name] = self.pool.submit(self._run, name, [*argv, str(output)], cwd, None)

    def suite(self, name: str, project: Path, venv: Path, context: dict, database_url: str | None = None) -> None:
        """Run ``project``'s suite in ``venv``; with ``database_url``, on that database (as the baked CI runs it)."""
        # promtool's multi-day scenarios are the slowest part of a baked suite (10-30 s): each SLO
        # shape runs them once here; the service's own CI runs them every time.
        shape = promtool_shape(context)
        skipped = [*ONCE_A_SESSION] if self.runs else []
        if shape in self.shapes_run:
            skipped.append("test_promtool_unit_tests")
        self.shapes_run.add(shape)
        command = [str(venv / "bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        env = {**os.environ, "DATABASE_URL": database_url} if database_url else None
        self.databases[name] = database_url
        argv = [*command, *(["-k", " and ".join(f"not {test}" for test in skipped)] if skipped else [])]
        self.runs[name] = self.pool.submit(self._run, name, argv, project, env)

    def _run(self, name: str, argv: list[str], project: Path, env: dict | None) -> subprocess.CompletedProcess:
        try:
            niced = ["nice", "-n", "10", *argv]  # below the foreground's timing-sensitive tests
            return subprocess.run(niced, cwd=project, env=env, capture_output=True, text=True, timeout=900)
        finally:
            self.finished[name] = time.monotonic() - self.began

    def result(self, name: str) -> subprocess.CompletedProcess:
        return self.runs[name].result()

    def waited(self, name: str) -> str:
        """When ``name``'s run ended, and whether the session had to wait for it: the background's slack."""
        now = time.monotonic() - self.began
        ended = self.finished[name]
        spare = max(0.0, now - ended)
        return f"ended {ended:.0f}s into the background runs, collected at {now:.0f}s ({spare:.0f}s spare)"

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
