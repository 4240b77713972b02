"""How a gunicorn worker should hold its PostgreSQL connection, measured under worker recycling.

For each way Django can keep a connection (persistent with health checks, the
template's choice; persistent without them; a new connection per request; Django
5.1's psycopg pool), a real PostgreSQL (a private cluster, tests/support/postgres.py)
and gunicorn with 4 workers recycled every 200 requests (max_requests, with jitter)
serve /__fault__/query (one query) under wrk for a while. Reported: requests a
second, latency p50 and p99, the most server connections seen at once (sampled
from pg_stat_activity every 100 ms), those left when the load stops, and the
statements and connections the service counted (its lean database metrics).

Run: ./benchmarks/run --connections. Prints its progress, then a table.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

from benchmarks.variants import bake_variants
from tests.support.environment import port_config, production_env
from tests.support.metrics import responses, sample_value, scrape
from tests.support.ports import free_block
from tests.support.postgres import Postgres, skip_reason
from tests.support.processes import Gunicorn
from tests.support.venvs import baked_virtualenv, cached_virtualenv

MODES = ("persistent", "persistent-unchecked", "per-request", "pool")
WORKERS = 4
MAX_REQUESTS = "200"
POOL_PIN = "psycopg-pool==3.3.3"  # Django's pool option needs it; the service itself does not ship it


def pool_virtualenv(project: Path, workdir: Path) -> Path:
    """The baked requirements plus psycopg-pool, which only the pool mode needs."""
    requirements = workdir / "requirements-bench-pool.txt"
    requirements.write_text(f"-r {project / 'requirements-dev.txt'}\n{POOL_PIN}\n")
    pins = [project / "requirements.txt", project / "requirements-dev.txt", requirements]
    return cached_virtualenv("bench-pool-venv", requirements, pinned_by=pins)


def wrk_latency(port: int, seconds: int) -> dict:
    result = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", "-H", "Host: localhost"]
        + [f"http://127.0.0.1:{port}/__fault__/query"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_second": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),
        "p50_ms": millis("50%"),
        "p99_ms": millis("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def measure(mode: str, project: Path, venv: Path, postgres: Postgres, workdir: Path, seconds: int) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    database = mode.replace("-", "_")
    url = postgres.create_database(database)
    ports = free_block(WORKERS + 1)
    env = production_env(venv, workdir, port_config(ports[0], ports[1:]), DATABASE_URL=url)
    subprocess.run([venv / "bin/python", "manage.py", "migrate", "-v0"], cwd=project, env=env, check=True)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.bench_connections",
        BENCH_CONNECTIONS=mode,
        GUNICORN_MAX_REQUESTS=MAX_REQUESTS,
        GUNICORN_MAX_REQUESTS_JITTER="50",
    )
    service = Gunicorn(project, venv, env, ports[0], ports[1:], workdir)
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], postgres.client_connections(database))
            time.sleep(0.1)

    try:
        service.wait_ready(timeout=120)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load = wrk_latency(service.http_port, seconds)
        stop.set()
        sampler.join()
        at_rest = postgres.client_connections(database)
        service.wait_ready()  # a worker recycled by the last requests serves its port again
        texts = [scrape(port) for port in service.metrics_ports]
    finally:
        stop.set()
        service.stop()
    served = sum(responses(text, "fault-query") for text in texts)
    statements = sum(sample_value(text, "django_db_execute_total") for text in texts)
    return {
        **load,
        "peak_server_connections": peak[0],
        "server_connections_after": at_rest,
        "statements_per_request": round(statements / max(served, 1), 2),
    }


def table(results: dict) -> str:
    lines = [
        f"PostgreSQL; gunicorn, {WORKERS} workers recycled every {MAX_REQUESTS} requests; wrk -c8, one query a request",
        "",
        f"{'mode':<22}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'peak conns':>12}{'after':>7}"
        f"{'stmts/req':>11}",
    ]
    for mode, r in results.items():
        lines.append(
            f"{mode:<22}{r['requests_per_second']:>8}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['non_2xx']:>9}"
            f"{r['peak_server_connections']:>12}{r['server_connections_after']:>7}{r['statements_per_request']:>11}"
        )
    return "\n".join(lines)


def main(workdir: Path, seconds: int) -> dict:
    if skip_reason():
        raise SystemExit(f"benchmarks/run --connections: {skip_reason()}")
    variants = bake_variants(workdir / "bakes", collector="")
    project = variants["lean"].project  # the default bake with the benchmark's settings overlay
    venv = baked_virtualenv(project)
    pool_venv = pool_virtualenv(project, workdir)
    postgres = Postgres()
    results = {}
    try:
        for mode in MODES:
            print(f"measuring {mode} connections ...", flush=True)
            chosen = pool_venv if mode == "pool" else venv
            results[mode] = measure(mode, project, chosen, postgres, workdir / mode, seconds)
    finally:
        postgres.remove()
    return results
