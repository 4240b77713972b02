"""Small breaks of the guarantees, each applied to a copy of the template, with the tests that must catch it.

    scripts/mutations [--only NAME ...] [--list]

For each mutation: copy the repository (its files as git sees them, uncommitted edits
included), make one textual change, run the tests named for it (the template's from
the copy; a bake's own after baking the copy), and report which failed. A mutation is
caught when at least one of its tests fails (pytest exit 1). Exit 0 only when every
mutation run is caught. Hand-written rather than mutmut or cosmic-ray: those mutate
operators at random across a package and run one test command; these are the breaks
the project promises to catch, some in Helm templates, hooks and settings that no
Python mutator reaches, each with the tests that must notice it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO

BAKED = "{{cookiecutter.project_slug}}"


@dataclass(frozen=True)
class Mutation:
    name: str
    guarantee: str
    file: str  # repository path
    old: str  # must occur exactly once
    new: str
    tests: tuple[str, ...]  # pytest node ids: "tests/..." the template's, BAKED + "/tests/..." a bake's


MUTATIONS = (
    Mutation(
        "timeout-counted-as-200",
        "Timed-out requests are counted.",
        f"{BAKED}/service_runtime/request_metrics/inflight.py",
        'TIMED_OUT_STATUS = "500"',
        'TIMED_OUT_STATUS = "200"',
        (f"{BAKED}/tests/test_timeouts.py",),
    ),
    Mutation(
        "slot-file-truncated-on-open",
        "Durable worker slots: exact through every worker death.",
        f"{BAKED}/service_runtime/worker_slots/mmap_file.py",
        "os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW",
        "os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW",
        (f"{BAKED}/tests/test_durable.py::test_a_replacement_continues_where_its_predecessor_stopped",),
    ),
    Mutation(
        "chart-port-list-one-short",
        "A Helm chart whose ports come from one helper.",
        f"{BAKED}/chart/templates/_ports.tpl",
        "{{- range $port := untilStep $start $end 1 }}",
        "{{- range $port := untilStep $start (sub $end 1 | int) 1 }}",
        ("tests/test_chart_ports.py::test_deployment_service_and_servicemonitor_agree_with_the_service_on_every_port",),
    ),
    Mutation(
        "freeze-below-zero",
        "SLOs and error budgets from the first deploy.",
        f"{BAKED}/service_runtime/error_budget/policy.py",
        "FROZEN_AT_OR_BELOW = 0.0",
        "FROZEN_AT_OR_BELOW = -0.1",
        (
            f"{BAKED}/tests/test_policy.py",
            "tests/test_one_source.py::test_the_error_budget_policy_agrees_in_the_gate_the_alerts_the_values_and_the_readme",
        ),
    ),
    Mutation(
        "fast-burn-factor",
        "SLOs and error budgets from the first deploy.",
        f"{BAKED}/service_runtime/error_budget/policy.py",
        "PAGE_BURN_RATE_1H = 14.4",
        "PAGE_BURN_RATE_1H = 10.0",
        (
            "tests/test_one_source.py::test_the_error_budget_policy_agrees_in_the_gate_the_alerts_the_values_and_the_readme",
        ),
    ),
    Mutation(
        "hook-metrics-range-past-65535",
        "One port per worker, from one function.",
        "hooks/pre_gen_project.py",
        "MAX_PORT = 65535",
        "MAX_PORT = 70000",
        ("tests/test_hooks.py::test_metrics_range_must_end_by_65535",),
    ),
    Mutation(
        "lean-head-as-get",
        "Metrics that cost almost nothing per request.",
        f"{BAKED}/service_runtime/request_metrics/lean.py",
        "        method if method in KNOWN_METHODS else INVALID_METHOD,",
        '        ("GET" if method == "HEAD" else method) if method in KNOWN_METHODS else INVALID_METHOD,',
        ("tests/test_profiles.py::test_lean_exports_what_full_exports_for_every_name_they_share",),
    ),
    Mutation(
        "exemplar-dropped",
        "Traces that cost nothing when off, and never a request when on.",
        f"{BAKED}/service_runtime/request_metrics/lean_series.py",
        "        self.responses.inc(1, exemplar)",
        "        self.responses.inc(1)",
        (f"{BAKED}/tests/test_tracing.py::test_a_traced_workers_lean_middleware_records_the_requests_trace",),
    ),
    Mutation(
        "drill-ceiling-two-days",
        "SLOs and error budgets from the first deploy.",
        f"{BAKED}/service_runtime/error_budget/drill.py",
        "MAX_DRILL_HOURS = 24",
        "MAX_DRILL_HOURS = 48",
        ("tests/test_one_source.py::test_the_drill_ceiling_agrees_in_the_service_and_the_schema",),
    ),
    Mutation(
        "database-url-shown",
        "Secrets stay out of messages.",
        f"{BAKED}/service_runtime/environment/readers.py",
        '; its text is not shown, as it may hold a password")',
        ': {url!r}")',
        (f"{BAKED}/tests/test_env.py",),
    ),
    Mutation(
        "network-policy-one-port-short",
        "A Helm chart whose ports come from one helper.",
        f"{BAKED}/chart/templates/networkpolicy.yaml",
        '{{- range include "__chart__.metricsPorts" . | fromJsonArray }}',
        '{{- range initial (include "__chart__.metricsPorts" . | fromJsonArray) }}',
        ("tests/test_chart_clusters.py::test_network_policy_admits_exactly_the_metrics_ports_from_prometheus",),
    ),
)


def copy_repository(destination: Path) -> None:
    """The repository's files as git sees them (tracked and new, not ignored), and its caches by link."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = REPO / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".cache").symlink_to(REPO / ".cache")  # virtualenvs and images, keyed by their recipes


def apply(mutation: Mutation, copy: Path) -> None:
    path = copy / mutation.file
    text = path.read_text()
    if text.count(mutation.old) != 1:
        raise LookupError(
            f"{mutation.name}: {mutation.old!r} occurs {text.count(mutation.old)} times in {mutation.file}"
        )
    path.write_text(text.replace(mutation.old, mutation.new))


def run_tests(mutation: Mutation, copy: Path, scratch: Path) -> tuple[int, list[str]]:
    """pytest's exit code (the worst of the runs) and the tests that failed."""
    template = [test for test in mutation.tests if not test.startswith(BAKED)]
    baked = [test.removeprefix(BAKED + "/") for test in mutation.tests if test.startswith(BAKED)]
    runs = []
    flags = ["-q", "-rf", "-p", "no:cacheprovider", "-x"]
    if template:
        runs.append(([sys.executable, "-m", "pytest", *flags, *template], copy, ""))
    if baked:
        from tests.support.venvs import baked_virtualenv

        bake = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(scratch / "bake"), str(copy)]
        subprocess.run(bake, capture_output=True, text=True, check=True, timeout=300)
        (project,) = (scratch / "bake").iterdir()
        venv = baked_virtualenv(project)
        runs.append(([str(venv / "bin/python"), "-m", "pytest", *flags, *baked], project, BAKED + "/"))
    codes, failed = [], []
    for argv, cwd, prefix in runs:
        result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900)
        codes.append(result.returncode)
        failed += [prefix + line.split()[1] for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    worst = 1 if 1 in codes else max(codes)
    return worst, failed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Break each guarantee in a copy; its tests must catch it.")
    parser.add_argument("--only", action="append", choices=[m.name for m in MUTATIONS], help="run only these")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list:
        for mutation in chosen:
            print(f"{mutation.name}: {mutation.file} ({mutation.guarantee})")
        return 0
    print("| mutation | guarantee | result | caught by | seconds |")
    print("|---|---|---|---|---|")
    missed = 0
    for mutation in chosen:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"mutation-{mutation.name}-") as temp:
            scratch = Path(temp)
            copy = scratch / "repository"
            copy_repository(copy)
            apply(mutation, copy)
            code, failed = run_tests(mutation, copy, scratch)
        caught = code == 1 and bool(failed)
        missed += not caught
        result = "caught" if caught else f"NOT CAUGHT (pytest exit {code})"
        by = ", ".join(f"`{test}`" for test in failed) or "-"
        print(
            f"| {mutation.name} | {mutation.guarantee} | {result} | {by} | {time.monotonic() - started:.0f} |",
            flush=True,
        )
    return 1 if missed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main(sys.argv[1:]))
