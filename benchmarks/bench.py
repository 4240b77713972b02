"""What the metrics cost: bare (no metrics middleware) against the lean and full profiles.

1. CPU per request in-process (Django's WSGI handler, no server), and the overhead over bare;
2. throughput under gunicorn with wrk on loopback, as a ratio to bare (interleaved runs, median);
3. latency of scraping one worker's metrics port, idle and under saturating load (p50/p99);
4. boot time from starting gunicorn to every metrics port answering, for 4 and 16 workers.

Run through ./benchmarks/run, which installs wrk and the template's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.support.ports import free_block, is_open
from tests.support.processes import REPO, Gunicorn, baked_virtualenv, port_config, production_env, wait_until

HERE = Path(__file__).resolve().parent
VARIANTS = ("bare", "lean", "full")
TARGET_OVERHEAD_US = 10.0
TARGET_THROUGHPUT_RATIO = 0.95
BARE_SETTINGS = '''"""Benchmark only: production settings without the metrics middlewares."""

from config.settings.production import *  # noqa: F403

MIDDLEWARE = [m for m in MIDDLEWARE if m not in (*METRICS_FIRST_MIDDLEWARE, *METRICS_LAST_MIDDLEWARE)]  # noqa: F405
'''


@dataclass(frozen=True)
class Settings:
    requests: int  # per in-process run
    rounds: int  # interleaved repetitions of each measurement
    load_seconds: int
    scrapes: int
    boot_workers: tuple[int, ...]
    boot_repeats: int


FULL_RUN = Settings(requests=20_000, rounds=6, load_seconds=5, scrapes=200, boot_workers=(4, 16), boot_repeats=3)
QUICK_RUN = Settings(requests=1_000, rounds=1, load_seconds=1, scrapes=10, boot_workers=(4,), boot_repeats=1)


@dataclass
class Variant:
    """One way of running the service: a bake and a settings module."""

    name: str
    project: Path
    settings_module: str


def bake_variants(workdir: Path) -> dict[str, Variant]:
    projects = {}
    for profile in ("lean", "full"):
        output = workdir / profile
        projects[profile] = Path(
            cookiecutter(str(REPO), no_input=True, output_dir=str(output), extra_context={"metrics_profile": profile})
        )
    (projects["lean"] / "config" / "settings" / "bench_bare.py").write_text(BARE_SETTINGS)
    return {
        "bare": Variant("bare", projects["lean"], "config.settings.bench_bare"),
        "lean": Variant("lean", projects["lean"], "config.settings.production"),
        "full": Variant("full", projects["full"], "config.settings.production"),
    }


def environment(venv: Path, variant: Variant, workdir: Path, workers: int) -> tuple[dict, int, range]:
    workdir.mkdir(parents=True, exist_ok=True)
    ports = free_block(workers + 1)
    env = production_env(venv, workdir, port_config(ports[0], ports[1:]))
    env.update(DJANGO_SETTINGS_MODULE=variant.settings_module, DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1")
    return env, ports[0], ports[1:]


def prepare(venv: Path, variants: dict[str, Variant], workdir: Path) -> None:
    for project in {variant.project for variant in variants.values()}:
        env, _, _ = environment(venv, variants["lean"], workdir, 1)
        for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([venv / "bin/python", "manage.py", *command], cwd=project, env=env, check=True)


def rotations(rounds: int) -> list[tuple[str, ...]]:
    """Each round runs every variant, starting with a different one, so drift hits them alike."""
    return [VARIANTS[i % 3 :] + VARIANTS[: i % 3] for i in range(rounds)]


def measure_inprocess(venv: Path, variants: dict[str, Variant], workdir: Path, run: Settings) -> dict:
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for order in rotations(run.rounds):
        for name in order:
            env, _, _ = environment(venv, variants[name], workdir, 2)
            result = subprocess.run(
                [venv / "bin/python", HERE / "inprocess.py", str(run.requests), "1"],
                cwd=variants[name].project,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            samples[name] += json.loads(result.stdout.splitlines()[-1])["cpu_us_per_request"]
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        name: {"cpu_us_per_request": round(medians[name], 1), "overhead_us": round(medians[name] - medians["bare"], 1)}
        for name in VARIANTS
    }


def start_gunicorn(venv: Path, variant: Variant, workdir: Path, workers: int) -> Gunicorn:
    env, http_port, metrics_ports = environment(venv, variant, workdir, workers)
    service = Gunicorn(variant.project, venv, env, http_port, metrics_ports, workdir)
    service.wait_ready(timeout=120)
    return service


def wrk(port: int, seconds: int, connections: int = 8) -> float:
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-H", "Host: localhost", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def measure_throughput(venv: Path, variants: dict[str, Variant], workdir: Path, run: Settings) -> dict:
    workers = os.cpu_count() or 2
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for order in rotations(run.rounds):
        for name in order:
            service = start_gunicorn(venv, variants[name], workdir / f"wrk-{name}-{len(samples[name])}", workers)
            try:
                wrk(service.http_port, 1)  # warm up
                samples[name].append(wrk(service.http_port, run.load_seconds))
            finally:
                service.stop()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        name: {
            "requests_per_second": round(medians[name]),
            "ratio_to_bare": round(medians[name] / medians["bare"], 3),
            "runs": [round(value) for value in samples[name]],
        }
        for name in VARIANTS
    } | {"workers": workers}


def scrape_milliseconds(port: int, count: int, pause: float = 0.0) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            response.read()
        timings.append((time.perf_counter() - started) * 1000)
        time.sleep(pause)
    return timings


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


def measure_scrapes(venv: Path, variants: dict[str, Variant], workdir: Path, run: Settings) -> dict:
    results = {}
    for name in VARIANTS:
        service = start_gunicorn(venv, variants[name], workdir / f"scrape-{name}", os.cpu_count() or 2)
        try:
            port = service.metrics_ports[0]
            scrape_milliseconds(port, 5)
            idle = scrape_milliseconds(port, run.scrapes)
            load = threading.Thread(target=wrk, args=(service.http_port, run.load_seconds + 3, 32))
            load.start()
            time.sleep(1)
            busy = scrape_milliseconds(port, run.scrapes, pause=run.load_seconds / run.scrapes)
            load.join()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                size = len(response.read())
        finally:
            service.stop()
        results[name] = {"idle": percentiles(idle), "under_load": percentiles(busy), "scrape_bytes": size}
    return results


def measure_boot(venv: Path, variants: dict[str, Variant], workdir: Path, run: Settings) -> dict:
    results = {}
    for workers in run.boot_workers:
        seconds = []
        for attempt in range(run.boot_repeats):
            boot_dir = workdir / f"boot-{workers}-{attempt}"
            env, http_port, metrics_ports = environment(venv, variants["lean"], boot_dir, workers)
            started = time.monotonic()
            service = Gunicorn(variants["lean"].project, venv, env, http_port, metrics_ports, boot_dir)
            try:
                wait_until(lambda ports=metrics_ports: all(is_open(p, 0.2) for p in ports), timeout=180, interval=0.02)
                seconds.append(time.monotonic() - started)
            finally:
                service.stop()
        results[str(workers)] = {"seconds_to_all_ports": round(statistics.median(seconds), 2)}
    return results


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}


def table(report: dict) -> str:
    inproc, through, scrapes = report["inprocess"], report["throughput"], report["scrapes"]
    host = report["machine"]
    lines = [
        f"Machine: {host['cpu']}, {host['cores']} cores, Python {host['python']}",
        "",
        f"{'profile':<8}{'CPU us/req':>12}{'overhead us':>13}{'req/s':>9}{'vs bare':>9}"
        f"{'scrape p50/p99 idle':>22}{'under load':>16}{'bytes':>8}",
    ]
    for name in VARIANTS:
        idle, busy = scrapes[name]["idle"], scrapes[name]["under_load"]
        lines.append(
            f"{name:<8}{inproc[name]['cpu_us_per_request']:>12.1f}{inproc[name]['overhead_us']:>13.1f}"
            f"{through[name]['requests_per_second']:>9}{through[name]['ratio_to_bare']:>9.3f}"
            f"{idle['p50_ms']:>12.2f} / {idle['p99_ms']:<7.2f}{busy['p50_ms']:>7.2f} / {busy['p99_ms']:<6.2f}"
            f"{scrapes[name]['scrape_bytes']:>8}"
        )
    lines.append("")
    lines.append(
        "Boot to all metrics ports (lean): "
        + ", ".join(f"{n} workers {v['seconds_to_all_ports']} s" for n, v in report["boot"].items())
    )
    targets = report["targets"]
    lines.append(
        f"Targets: lean overhead <= {TARGET_OVERHEAD_US} us: {targets['lean_overhead_met']};"
        f" lean throughput >= {TARGET_THROUGHPUT_RATIO} of bare: {targets['lean_throughput_met']}"
        f" (gunicorn with {through['workers']} workers, wrk on the same {report['machine']['cores']} cores)"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny runs: checks the benchmark works, not the figures")
    parser.add_argument("--output", type=Path, help="JSON file to write (default benchmarks/results/<time>.json)")
    args = parser.parse_args()
    run = QUICK_RUN if args.quick else FULL_RUN
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    output = args.output or HERE / "results" / f"{stamp}.json"

    with tempfile.TemporaryDirectory(prefix="bench-") as temp:
        workdir = Path(temp)
        variants = bake_variants(workdir / "bakes")
        venv = baked_virtualenv(variants["lean"].project)
        prepare(venv, variants, workdir)
        print("measuring in-process CPU per request ...", file=sys.stderr)
        inprocess = measure_inprocess(venv, variants, workdir, run)
        print("measuring throughput under gunicorn with wrk ...", file=sys.stderr)
        throughput = measure_throughput(venv, variants, workdir, run)
        print("measuring scrape latency ...", file=sys.stderr)
        scrapes = measure_scrapes(venv, variants, workdir, run)
        print("measuring boot time ...", file=sys.stderr)
        boot = measure_boot(venv, variants, workdir, run)

    report = {
        "when": stamp,
        "quick": args.quick,
        "machine": machine(),
        "inprocess": inprocess,
        "throughput": throughput,
        "scrapes": scrapes,
        "boot": boot,
        "targets": {
            "lean_overhead_met": inprocess["lean"]["overhead_us"] <= TARGET_OVERHEAD_US,
            "lean_throughput_met": throughput["lean"]["ratio_to_bare"] >= TARGET_THROUGHPUT_RATIO,
        },
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nJSON: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
