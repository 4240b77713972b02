"""What the metrics cost: bare (no metrics middleware) against every metrics setup, side by side.

1. CPU per request in-process (Django's WSGI handler, no server; the least-disturbed of the
   interleaved rounds), and the overhead over bare;
2. throughput under gunicorn with wrk on loopback, as a ratio to bare (interleaved runs, median);
3. latency of one scrape, idle and under saturating load (p50/p99);
4. scrape latency after many worker recycles (max_requests=1): the aggregated port against the peer;
5. boot time from starting gunicorn to every metrics port answering, for 4 and 16 workers.

The setups: the lean and full profiles with durable worker slots, in the per_worker
and aggregated modes; lean with tracing on (OTEL_* set: every request a span,
exported over OTLP/HTTP to a receiver in this process), sampled (lean-traced) and
not (lean-unsampled, OTEL_TRACES_SAMPLER=always_off), plain lean being tracing off,
the default; lean with prometheus_client's in-memory values (what a worker had
before durable slots), in-process only; and the peer most projects use instead,
prometheus_client's multiprocess mode (one file set per pid, MultiProcessCollector
behind one /metrics URL, mark_process_dead in child_exit).

Run through ./benchmarks/run, which installs wrk and the template's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import callgrind
from benchmarks.variants import Variant, bake_variants
from tests.support.environment import port_config, production_env
from tests.support.load import burst
from tests.support.otlp import OtlpReceiver
from tests.support.ports import free_block, is_open
from tests.support.processes import Gunicorn
from tests.support.venvs import baked_virtualenv
from tests.support.waiting import wait_until

HERE = Path(__file__).resolve().parent
# What a query costs with each database metrics level (METRICS_DATABASE), on SQLite.
QUERY_LEVELS = ("off", "lean", "full")
INPROCESS = ("bare", "floor", "lean-memory", "lean", "lean-traced", "lean-unsampled", "full", "multiprocess")
# The asgi interface's, each against asgi-bare. A request through Django's ASGI handler runs about
# twenty times the instructions of a WSGI one, so their in-process counts are their own mode (--asgi).
ASGI = ("asgi-bare", "asgi-lean", "asgi-full")
# Their instruction counts add the floor: an async middleware that does nothing where lean's sits.
ASGI_COUNTED = ("asgi-bare", "asgi-floor", "asgi-lean", "asgi-full")
SERVED = ("bare", "lean", "lean-aggregated", "lean-traced", "lean-unsampled", "full", "multiprocess", *ASGI)
RECYCLED = ("lean-aggregated", "multiprocess")
TARGET_OVERHEAD_US = 5.0
TARGET_THROUGHPUT_RATIO = 0.95
TARGET_RECYCLED_SCRAPE_P99_MS = 20.0


@dataclass(frozen=True)
class Settings:
    requests: int  # per in-process run
    rounds: int  # interleaved repetitions of each measurement
    load_seconds: int
    scrapes: int
    recycles: int
    boot_workers: tuple[int, ...]
    boot_repeats: int
    instruction_requests: tuple[int, int] | None  # callgrind runs' request counts; None: skipped
    warm_up: bool = True  # a second of wrk before each throughput run
    scrape_load_lead: int = 1  # seconds of load before scraping under it starts (and as long after)


FULL_RUN = Settings(
    requests=20_000,
    rounds=6,
    load_seconds=5,
    scrapes=200,
    recycles=1000,
    boot_workers=(4, 16),
    boot_repeats=3,
    instruction_requests=(200, 700),
)
QUICK_RUN = Settings(
    requests=300,
    rounds=1,
    load_seconds=1,
    scrapes=10,
    recycles=10,
    boot_workers=(4,),
    boot_repeats=1,
    instruction_requests=None,
    warm_up=False,
    scrape_load_lead=0,
)


def environment(venv: Path, variant: Variant, workdir: Path, workers: int) -> tuple[dict, int, range]:
    """The variant's environment on fresh ports, with its own slot or multiprocess directory in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    ports = free_block(workers + 1)
    env = production_env(venv, workdir, port_config(ports[0], ports[1:]), **variant.env)
    env.update(DJANGO_SETTINGS_MODULE=variant.settings_module, DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1")
    if variant.peer:
        (workdir / "multiproc").mkdir(exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(workdir / "multiproc")
    return env, ports[0], ports[1:]


def prepare(venv: Path, variants: dict[str, Variant], workdir: Path) -> None:
    for project in {variant.project for variant in variants.values()}:
        env, _, _ = environment(venv, variants["lean"], workdir, 1)
        for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([venv / "bin/python", "manage.py", *command], cwd=project, env=env, check=True)
        # Bytecode for every module now: otherwise the first measured run compiles what migrate did
        # not import (the middlewares) and the second does not, which skews a difference of two runs.
        subprocess.run([venv / "bin/python", "-m", "compileall", "-q", str(project)], check=True)


def rotations(names: tuple[str, ...], rounds: int) -> list[tuple[str, ...]]:
    """Each round runs every variant, starting with a different one, so drift hits them alike."""
    return [names[i % len(names) :] + names[: i % len(names)] for i in range(rounds)]


def inprocess_cpu(venv: Path, variant: Variant, workdir: Path, run: Settings) -> list[float]:
    """CPU microseconds per request (or per query) of one in-process run of ``variant``."""
    env, _, _ = environment(venv, variant, workdir, 2)
    if variant.durable:
        env["BENCH_SLOT_DIRECTORY"] = str(workdir / "slots")
    result = subprocess.run(
        [venv / "bin/python", HERE / "inprocess.py", str(run.requests), "1"],
        cwd=variant.project,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"in-process run of {variant.name} failed:\n{result.stderr}")
    return json.loads(result.stdout.splitlines()[-1])["cpu_us_per_request"]


def measure_inprocess(venv: Path, variants: dict[str, Variant], workdir: Path, run: Settings) -> dict:
    samples: dict[str, list[float]] = {name: [] for name in INPROCESS}
    for round_number, order in enumerate(rotations(INPROCESS, run.rounds)):
        for name in order:
            samples[name] += inprocess_cpu(venv, variants[name], workdir / f"inprocess-{name}-{round_number}", run)
    # The least-disturbed round of each: on a shared machine other tenants only ever add CPU time
    # (cache and frequency interference), so the minimum is the steadiest estimate of the cost.
    least = {name: min(values) for name, values in samples.items()}
    return {
        name: {
            "cpu_us_per_request": round(least[name], 1),
            "overhead_us": round(least[name] - least[variants[name].baseline], 1),
            "rounds": [round(value, 1) for value in samples[name]],
        }
        for name in INPROCESS
    }


def query_variant(variants: dict[str, Variant], level: str) -> Variant:
    """bare's settings (no request metrics), one query per round trip, with ``level`` database metrics."""
    bare = variants["bare"]
    return Variant(
        f"query-{level}",
        bare.project,
        bare.settings_module,
        {"BENCH_QUERIES": "1", "METRICS_DATABASE": level},
        durable=False,
    )


def measure_queries(venv: Path, variants: dict[str, Variant], workdir: Path, run: Settings) -> dict:
    """CPU per query for each database metrics level (least-disturbed of interleaved rounds), and
    instructions per query under callgrind where it runs."""
    samples: dict[str, list[float]] = {level: [] for level in QUERY_LEVELS}
    for round_number, order in enumerate(rotations(QUERY_LEVELS, run.rounds)):
        for level in order:
            variant = query_variant(variants, level)
            samples[level] += inprocess_cpu(venv, variant, workdir / f"queries-{level}-{round_number}", run)
    least = {level: min(values) for level, values in samples.items()}
    results = {
        level: {"cpu_us_per_query": round(least[level], 2), "overhead_us": round(least[level] - least["off"], 2)}
        for level in QUERY_LEVELS
    }
    if run.instruction_requests is not None and shutil.which("valgrind") is not None:
        few, many = run.instruction_requests
        made = {count: min(count, 2000) + count for count in (few, many)}
        per_query = {}
        for level in QUERY_LEVELS:
            variant = query_variant(variants, level)
            counts = {
                count: callgrind_instructions(venv, variant, workdir / f"callgrind-query-{level}-{count}", count)
                for count in (few, many)
            }
            per_query[level] = (counts[many] - counts[few]) / (made[many] - made[few])
        for level in QUERY_LEVELS:
            results[level]["instructions_per_query"] = round(per_query[level])
            results[level]["overhead_instructions"] = round(per_query[level] - per_query["off"])
    return results


def callgrind_instructions(venv: Path, variant: Variant, workdir: Path, requests: int, layout: int = 0) -> int:
    """Instructions valgrind's callgrind counts for a whole in-process run of ``requests`` requests,
    in process layout ``layout`` (inprocess.shift_layout)."""
    env, _, _ = environment(venv, variant, workdir, 2)
    if variant.durable:
        env["BENCH_SLOT_DIRECTORY"] = str(workdir / "slots")
    # A fixed hash seed: with Python's per-process random one, dict and set probing differs from
    # run to run, and the same code was counted 33,585 and 43,320 instructions over bare.
    env["PYTHONHASHSEED"] = "0"
    env["BENCH_LAYOUT"] = str(layout)
    command = [str(venv / "bin/python"), str(HERE / "inprocess.py"), str(requests), "1"]
    return callgrind.instructions(command, variant.project, env, variant.name)


# CPython's attribute cache makes any one process layout's count lucky or unlucky by several
# thousand instructions a request (inprocess.shift_layout): each figure is the median over these.
LAYOUTS = range(4)


def measure_instructions(
    venv: Path,
    variants: dict[str, Variant],
    workdir: Path,
    run: Settings,
    names: tuple[str, ...] = INPROCESS,
    layouts: range = LAYOUTS,
) -> dict | None:
    """Instructions per request, which other tenants of a shared machine cannot disturb: two
    runs under callgrind that differ only in how many requests they make, difference divided
    by the difference in requests (start-up cancels out); for each process layout, and the
    median over layouts (two runs at a time: callgrind uses one core). None without valgrind."""
    if run.instruction_requests is None or shutil.which("valgrind") is None:
        return None
    few, many = run.instruction_requests
    # inprocess.py warms up with min(requests, 2000) requests, then times ``requests``.
    requests_made = {count: min(count, 2000) + count for count in (few, many)}
    runs = [(name, layout, count) for name in names for layout in layouts for count in (few, many)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counted = dict(
            zip(
                runs,
                pool.map(
                    lambda key: callgrind_instructions(
                        venv, variants[key[0]], workdir / f"callgrind-{key[0]}-{key[1]}-{key[2]}", key[2], layout=key[1]
                    ),
                    runs,
                ),
            )
        )
    per_request = {
        (name, layout): (counted[name, layout, many] - counted[name, layout, few])
        / (requests_made[many] - requests_made[few])
        for name in names
        for layout in layouts
    }
    results = {}
    for name in names:
        over = [per_request[name, layout] - per_request[variants[name].baseline, layout] for layout in layouts]
        results[name] = {
            "instructions_per_request": round(statistics.median(per_request[name, layout] for layout in layouts)),
            "overhead_instructions": round(statistics.median(over)),
            "overhead_by_layout": [round(value) for value in over],
        }
    return results


def start_gunicorn(venv: Path, variant: Variant, workdir: Path, workers: int, **extra_env: str) -> Gunicorn:
    env, http_port, metrics_ports = environment(venv, variant, workdir, workers)
    env.update(extra_env)
    args: tuple[str, ...] = ()
    if variant.peer:  # no slots, no metrics ports: /metrics on the HTTP port
        args, metrics_ports = ("-c", "bench_peer.conf.py"), range(0)
    elif variant.aggregated:
        metrics_ports = metrics_ports[:1]
    service = Gunicorn(variant.project, venv, env, http_port, metrics_ports, workdir, args)
    service.wait_ready(timeout=120)
    return service


def metrics_url(variant: Variant, service: Gunicorn) -> str:
    port = service.http_port if variant.peer else service.metrics_ports[0]
    return f"http://127.0.0.1:{port}/metrics"


def wrk(port: int, seconds: int, connections: int = 8) -> float:
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-H", "Host: localhost", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def measure_served(
    venv: Path, variants: dict[str, Variant], workdir: Path, run: Settings, names: tuple[str, ...] = SERVED
) -> tuple[dict, dict]:
    """Throughput under wrk, interleaved rounds of a fresh service each; and, on each service of the
    last round once its wrk run is over, scrape latency idle and under load (no start of its own)."""
    workers = os.cpu_count() or 2
    samples: dict[str, list[float]] = {name: [] for name in names}
    scrapes = {}
    for round_number, order in enumerate(rotations(names, run.rounds)):
        for name in order:
            service = start_gunicorn(venv, variants[name], workdir / f"wrk-{name}-{len(samples[name])}", workers)
            try:
                if run.warm_up:
                    wrk(service.http_port, 1)
                samples[name].append(wrk(service.http_port, run.load_seconds))
                if round_number == run.rounds - 1:
                    scrapes[name] = scrape_figures(metrics_url(variants[name], service), service.http_port, run)
            finally:
                service.stop()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    throughput = {
        name: {
            "requests_per_second": round(medians[name]),
            "ratio_to_bare": round(medians[name] / medians[variants[name].baseline], 3),
            "runs": [round(value) for value in samples[name]],
        }
        for name in names
    } | {"workers": workers}
    return throughput, {name: scrapes[name] for name in names}


def scrape_milliseconds(url: str, count: int, pause: float = 0.0) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as response:
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


def scrape_figures(url: str, http_port: int, run: Settings) -> dict:
    """Scrape latency of ``url`` idle, then while wrk loads the service's ``http_port``; the scrape's size."""
    scrape_milliseconds(url, 5)
    idle = scrape_milliseconds(url, run.scrapes)
    load_seconds = run.load_seconds + 1 + 2 * run.scrape_load_lead
    load = threading.Thread(target=wrk, args=(http_port, load_seconds, 32))
    load.start()
    time.sleep(run.scrape_load_lead)
    busy = scrape_milliseconds(url, run.scrapes, pause=run.load_seconds / run.scrapes)
    load.join()
    with urllib.request.urlopen(url, timeout=10) as response:
        size = len(response.read())
    return {"idle": percentiles(idle), "under_load": percentiles(busy), "scrape_bytes": size}


def measure_recycled_scrapes(venv: Path, variants: dict[str, Variant], workdir: Path, run: Settings) -> dict:
    """Scrape latency once ``run.recycles`` workers have come and gone (max_requests=1: one request each)."""
    results = {}
    for name in RECYCLED:
        variant = variants[name]
        service = start_gunicorn(venv, variant, workdir / f"recycle-{name}", 2, GUNICORN_MAX_REQUESTS="1")
        try:
            started = time.monotonic()
            statuses = burst(service.http_port, run.recycles, concurrency=2)
            recycle_seconds = time.monotonic() - started
            # Each scrape of the peer's URL recycles a worker too; the pause lets the next one boot.
            timings = scrape_milliseconds(metrics_url(variant, service), run.scrapes // 4 or 5, pause=0.3)
            files = sorted(Path(service.env.get("PROMETHEUS_MULTIPROC_DIR") or slot_dir(service)).glob("*.db"))
        finally:
            service.stop()
        results[name] = {
            "recycles": len(statuses),
            "all_answered": statuses == [200] * len(statuses),
            "recycle_seconds": round(recycle_seconds, 1),
            "files": len(files),
            **percentiles(timings),
        }
    return results


def slot_dir(service: Gunicorn) -> Path:
    return service.slot_directory


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
                wait_until(
                    lambda ports=metrics_ports: all(is_open(p, timeout=0.2) for p in ports), timeout=180, interval=0.02
                )
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
    recycled, host = report["recycled"], report["machine"]
    lines = [
        f"Machine: {host['cpu']}, {host['cores']} cores, Python {host['python']}",
        "",
        f"{'setup':<16}{'CPU us/req':>11}{'overhead us':>13}{'req/s':>8}{'vs bare':>9}"
        f"{'scrape p50/p99 idle':>22}{'under load':>16}{'bytes':>8}",
    ]
    for name in dict.fromkeys((*INPROCESS, *SERVED)):
        # lean-aggregated runs the very same code per request as lean; only its scrape path differs.
        # The asgi setups have no in-process figure here (./benchmarks/run --asgi counts their instructions).
        cost = inproc.get(name) or (inproc["lean"] if name == "lean-aggregated" else None)
        row = f"{name:<16}"
        row += f"{cost['cpu_us_per_request']:>11.1f}{cost['overhead_us']:>13.1f}" if cost else f"{'-':>11}{'-':>13}"
        if name in SERVED:
            idle, busy = scrapes[name]["idle"], scrapes[name]["under_load"]
            row += (
                f"{through[name]['requests_per_second']:>8}{through[name]['ratio_to_bare']:>9.3f}"
                f"{idle['p50_ms']:>12.2f} / {idle['p99_ms']:<7.2f}{busy['p50_ms']:>7.2f} / {busy['p99_ms']:<6.2f}"
                f"{scrapes[name]['scrape_bytes']:>8}"
            )
        else:
            row += "   (in-process only)"
        lines.append(row)
    instructions = report.get("instructions")
    if instructions:
        bare = report["inprocess"]["bare"]
        us_per_instruction = bare["cpu_us_per_request"] / instructions["bare"]["instructions_per_request"]
        lines += ["", "Instructions per request (callgrind; immune to other tenants):"]
        for name, counted in instructions.items():
            extra = counted["overhead_instructions"]
            lines.append(
                f"  {name:<14}{counted['instructions_per_request']:>10,}  overhead {extra:>8,}"
                f"  (about {extra * us_per_instruction:.1f} us at bare's {us_per_instruction * 1000:.3f} ns each)"
            )
    lines += ["", "What the database metrics add to a query (SQLite, SELECT 1; METRICS_DATABASE):"]
    for level, cost in report["queries"].items():
        counted = cost.get("instructions_per_query")
        extra = f"; {counted:,} instructions, {cost['overhead_instructions']:,} over off" if counted else ""
        lines.append(
            f"  {level:<6}{cost['cpu_us_per_query']:>8.2f} us/query, {cost['overhead_us']:>6.2f} over off{extra}"
        )
    lines.append("")
    for name, result in recycled.items():
        lines.append(
            f"After {result['recycles']} worker recycles, {name}: scrape p50/p99 {result['p50_ms']:.2f} /"
            f" {result['p99_ms']:.2f} ms, {result['files']} metric files"
        )
    lines.append(
        "Boot to all metrics ports (lean): "
        + ", ".join(f"{n} workers {v['seconds_to_all_ports']} s" for n, v in report["boot"].items())
    )
    targets = report["targets"]
    lines.append(
        f"Targets: lean overhead <= {TARGET_OVERHEAD_US} us: {targets['lean_overhead_met']}"
        f" ({targets['lean_overhead_us']} us);"
        f" lean throughput >= {TARGET_THROUGHPUT_RATIO} of bare: {targets['lean_throughput_met']};"
        f" aggregated scrape p99 after recycles <= {TARGET_RECYCLED_SCRAPE_P99_MS} ms:"
        f" {targets['aggregated_scrape_met']}"
        f" (gunicorn with {through['workers']} workers, wrk on the same {report['machine']['cores']} cores)"
    )
    return "\n".join(lines)


def lean_overhead_us(inprocess: dict, instructions: dict | None) -> float:
    """lean's cost over bare: counted instructions at bare's measured rate where callgrind ran
    (the CPU-time difference of two noisy figures is not steady enough for a few us), else CPU time."""
    if not instructions:
        return inprocess["lean"]["overhead_us"]
    us_per_instruction = inprocess["bare"]["cpu_us_per_request"] / instructions["bare"]["instructions_per_request"]
    return round(instructions["lean"]["overhead_instructions"] * us_per_instruction, 1)


def report_instructions(instructions: dict | None, queries: dict | None, stamp: str, output: Path) -> int:
    if instructions is None:
        print("benchmarks/run: --instructions-only needs valgrind (Debian package 'valgrind')", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {"when": stamp, "machine": machine(), "instructions": instructions, "queries": queries}
    output.write_text(json.dumps(report, indent=2) + "\n")
    print("| setup | instructions per request | over bare (median) | over bare, layouts 0-3 |\n|---|---|---|---|")
    for name, figures in instructions.items():
        spread = " / ".join(f"{value:,}" for value in figures["overhead_by_layout"])
        print(f"| {name} | {figures['instructions_per_request']:,} | {figures['overhead_instructions']:,} | {spread} |")
    print("\n| METRICS_DATABASE | instructions per query | over off |\n|---|---|---|")
    for level, figures in (queries or {}).items():
        print(f"| {level} | {figures['instructions_per_query']:,} | {figures['overhead_instructions']:,} |")
    print(f"\nJSON: {output}")
    return 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny runs: checks the benchmark works, not the figures")
    parser.add_argument("--output", type=Path, help="JSON file to write (default benchmarks/results/<time>.json)")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--instructions-only",
        action="store_true",
        help="only instructions per request under callgrind (about 20 minutes; other load cannot disturb it)",
    )
    modes.add_argument(
        "--connections",
        action="store_true",
        help="only how a worker should hold its PostgreSQL connection, under recycling (about 3 minutes)",
    )
    modes.add_argument(
        "--fleet",
        action="store_true",
        help="only what a fleet's targets and rules cost a real Prometheus, per mode (about 13 minutes; docs/scale.md)",
    )
    modes.add_argument(
        "--bucket-search",
        action="store_true",
        help="only the instructions lean's bucket search takes per bucket, against a binary search (about 2 minutes)",
    )
    modes.add_argument(
        "--asgi",
        action="store_true",
        help="only the asgi interface: instructions per request (one layout) and throughput (about 10 minutes)",
    )
    modes.add_argument(
        "--cells",
        action="store_true",
        help="only the instructions to read a hot key's cells, by the structure holding them (about a minute)",
    )
    return parser.parse_args()


def run_fleet(workdir: Path, stamp: str, output: Path, quick: bool) -> int:
    from benchmarks import fleet

    report = {"when": stamp, "machine": machine(), **fleet.run(workdir, quick)}
    fleet.write(report, output)
    for text in (fleet.table(report), fleet.plot(report), fleet.period_table(report), fleet.budget_table(report)):
        print(text)
        print()
    print(f"JSON: {output}")
    return 0


def run_connections(workdir: Path, stamp: str, output: Path, quick: bool) -> int:
    from benchmarks import connections

    results = connections.main(workdir, seconds=3 if quick else 20)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"when": stamp, "machine": machine(), "connections": results}, indent=2) + "\n")
    print(connections.table(results))
    print(f"\nJSON: {output}")
    return 0


def run_instructions(workdir: Path, stamp: str, output: Path) -> int:
    variants = bake_variants(workdir / "bakes", OtlpReceiver(keep=False).endpoint)
    venv = baked_virtualenv(variants["lean"].project)
    prepare(venv, variants, workdir)
    instructions = measure_instructions(venv, variants, workdir, FULL_RUN)
    queries = measure_queries(venv, variants, workdir, FULL_RUN) if instructions else None
    return report_instructions(instructions, queries, stamp, output)


def run_asgi(workdir: Path, stamp: str, output: Path, quick: bool) -> int:
    """The asgi interface's setups side by side: instructions per request over asgi-bare, on the
    stack that runs on the event loop alone (inprocess.keep_only_the_async_stack; each process
    layout), and throughput under wrk on the whole baked stack."""
    run = QUICK_RUN if quick else replace(FULL_RUN, rounds=5)
    variants = bake_variants(workdir / "bakes", "")
    venv = baked_virtualenv(variants["lean"].project)
    prepare(venv, variants, workdir)
    async_stack = {"BENCH_ASYNC_STACK": "1"}
    on_the_loop = {name: replace(variants[name], env=variants[name].env | async_stack) for name in ASGI_COUNTED}
    instructions = measure_instructions(venv, on_the_loop, workdir, run, names=ASGI_COUNTED)
    throughput, _ = measure_served(venv, variants, workdir, run, names=ASGI)
    report = {"when": stamp, "machine": machine(), "instructions": instructions, "throughput": throughput}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "| setup | instructions per request (event loop only) | over asgi-bare | by layout |"
        " req/s under wrk | vs asgi-bare |",
        "|---|---|---|---|---|---|",
    ]
    for name in ASGI_COUNTED:
        counted = (instructions or {}).get(name, {})
        served = throughput.get(name, {"requests_per_second": "-", "ratio_to_bare": "-"})
        layouts = " / ".join(f"{value:,}" for value in counted.get("overhead_by_layout", []))
        lines.append(
            f"| {name} | {counted.get('instructions_per_request', '-')} | {counted.get('overhead_instructions', '-')} |"
            f" {layouts or '-'} | {served['requests_per_second']} | {served['ratio_to_bare']} |"
        )
    print("\n".join(lines))
    print(f"\nJSON: {output}")
    return 0


def run_profiles(workdir: Path, stamp: str, output: Path, quick: bool) -> int:
    """Every variant: CPU and instructions per request, queries, throughput, scrapes, recycles and boot."""
    run = QUICK_RUN if quick else FULL_RUN
    collector = OtlpReceiver(keep=False)  # answers like a collector; decoding would take CPU from the service
    variants = bake_variants(workdir / "bakes", collector.endpoint)
    venv = baked_virtualenv(variants["lean"].project)
    prepare(venv, variants, workdir)
    print("measuring in-process CPU per request ...", file=sys.stderr)
    inprocess = measure_inprocess(venv, variants, workdir, run)
    print("counting instructions per request under callgrind ...", file=sys.stderr)
    instructions = measure_instructions(venv, variants, workdir, run)
    print("measuring what the database metrics add to a query ...", file=sys.stderr)
    queries = measure_queries(venv, variants, workdir, run)
    print("measuring throughput under gunicorn with wrk, and scrape latency in its last round ...", file=sys.stderr)
    throughput, scrapes = measure_served(venv, variants, workdir, run)
    print(f"measuring scrape latency after {run.recycles} worker recycles ...", file=sys.stderr)
    recycled = measure_recycled_scrapes(venv, variants, workdir, run)
    print("measuring boot time ...", file=sys.stderr)
    boot = measure_boot(venv, variants, workdir, run)
    collector.stop()
    report = {
        "when": stamp,
        "quick": quick,
        "machine": machine(),
        "inprocess": inprocess,
        "instructions": instructions,
        "queries": queries,
        "throughput": throughput,
        "scrapes": scrapes,
        "recycled": recycled,
        "boot": boot,
        "targets": {
            "lean_overhead_us": (lean_overhead := lean_overhead_us(inprocess, instructions)),
            "lean_overhead_met": lean_overhead <= TARGET_OVERHEAD_US,
            "lean_throughput_met": throughput["lean"]["ratio_to_bare"] >= TARGET_THROUGHPUT_RATIO,
            "aggregated_scrape_met": recycled["lean-aggregated"]["p99_ms"] <= TARGET_RECYCLED_SCRAPE_P99_MS,
        },
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nJSON: {output}")
    return 0


def main() -> int:
    args = arguments()
    if args.bucket_search:
        from benchmarks import bucket_search

        return bucket_search.main(["--quick"] if args.quick else [])
    if args.cells:
        from benchmarks import cells_access

        return cells_access.main([])
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    output = args.output or HERE / "results" / f"{stamp}.json"
    with tempfile.TemporaryDirectory(prefix="bench-") as temp:
        workdir = Path(temp)
        if args.fleet:
            return run_fleet(workdir, stamp, output, args.quick)
        if args.connections:
            return run_connections(workdir, stamp, output, args.quick)
        if args.instructions_only:
            return run_instructions(workdir, stamp, output)
        if args.asgi:
            return run_asgi(workdir, stamp, output, args.quick)
        return run_profiles(workdir, stamp, output, args.quick)


if __name__ == "__main__":
    sys.exit(main())
