"""What a fleet's metrics cost one Prometheus: per metrics mode and profile, as pods and workers grow.

    ./benchmarks/run --fleet [--quick]

1. Captures what one target exports after realistic traffic: a baked service of each
   profile under gunicorn (the per_worker mode: one worker's port; the aggregated mode:
   the pod's one port), driven through several views, statuses (2xx, 3xx, 4xx, 5xx),
   methods and a CSRF rejection.
2. For each fleet shape, serves that exposition on every target port from one process
   (fleet_targets.py; a worker port per worker, or a port per pod), and starts a real
   Prometheus (Debian's, 2.42) scraping them every 15 s as the chart's ServiceMonitor
   says (one scrape job per endpoint, the pods its targets) with the chart's rendered
   PrometheusRule loaded.
3. Every fleet's Prometheus starts with 90 days of the service's recorded SLO series
   (recorded_history.py), and runs the rules as the chart wrote them before 2026-12-07
   (raw_rules.py) beside the chart's.
4. After a warm-up, measures over a window: targets up, active (head) series, samples
   appended per second, Prometheus' resident memory and CPU, the p99 scrape duration,
   and each rule group's evaluation time and samples read per evaluation.

Then the budget group's cost for periods of 7, 30 and 90 days on the same records, and
the error-budget period's SLI three ways on a backfilled history (``period.py``).

Prints progress as it goes; ``--quick`` is a smoke run of a tiny fleet (./run-tests runs it).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter

from benchmarks import period, raw_rules, recorded_history
from tests.support import helm
from tests.support.deployment import FAULTS_SETTINGS
from tests.support.environment import port_config, production_env
from tests.support.manifests import one
from tests.support.paths import REPO
from tests.support.ports import free_block
from tests.support.processes import Gunicorn
from tests.support.prometheus import Prometheus, scrape_jobs_from_chart
from tests.support.venvs import baked_virtualenv
from tests.support.waiting import wait_until

HERE = Path(__file__).resolve().parent
NAMESPACE, RELEASE = "fleet", "orders"
MODES = ("per_worker", "aggregated")
PROFILES = ("lean", "full")
# The realistic traffic: (method, path, expected status); the fault views answer the status asked.
TRAFFIC = (
    ("GET", "/", 200),
    ("HEAD", "/", 200),
    ("GET", "/admin/login/", 200),
    ("GET", "/admin/", 302),
    ("POST", "/admin/login/", 403),  # no CSRF token: rejected before the view
    ("GET", "/__fault__/status/404", 404),
    ("GET", "/__fault__/status/503", 503),
    ("GET", "/no-such-page/", 404),
)


@dataclass(frozen=True)
class Shape:
    profile: str
    mode: str
    pods: int
    workers: int

    @property
    def targets(self) -> int:
        return self.pods * (self.workers if self.mode == "per_worker" else 1)

    @property
    def label(self) -> str:
        return f"{self.profile} {self.mode} {self.pods}x{self.workers}"


@dataclass(frozen=True)
class Timing:
    scrape_interval: str
    rule_interval: str
    warm_up_seconds: int
    window_seconds: int


FULL_TIMING = Timing("15s", "30s", 45, 90)
QUICK_TIMING = Timing("1s", "1s", 2, 3)
# The recorded history every fleet's Prometheus starts with, and the periods the budget is measured over.
FULL_HISTORY_DAYS, QUICK_HISTORY_DAYS = 90, 2
BUDGET_PERIODS = (7, 30, 90)

FULL_SHAPES = (
    *(Shape("lean", "per_worker", pods, 16) for pods in (10, 50, 100)),
    Shape("lean", "aggregated", 100, 16),
)
QUICK_SHAPES = (Shape("lean", "per_worker", 2, 2), Shape("lean", "aggregated", 2, 2))


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bake(workdir: Path, profile: str) -> Path:
    context = {"metrics_profile": profile, "metrics_mode": "per_worker"}
    return Path(cookiecutter(str(REPO), no_input=True, output_dir=str(workdir / profile), extra_context=context))


def send(port: int, method: str, path: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers={"Host": "localhost"})
    try:
        with NO_REDIRECTS.open(request, timeout=10) as response:  # loopback only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # count the 302 itself, as a client that stops there would


# Its own opener: installing one globally would change urlopen for the rest of the process (tests too).
NO_REDIRECTS = urllib.request.build_opener(NoRedirect)


def capture(project: Path, venv: Path, workdir: Path, mode: str, rounds: int = 40) -> str:
    """One target's exposition after ``rounds`` passes of TRAFFIC through a two-worker service."""
    workdir.mkdir(parents=True)
    ports = free_block(3)
    env = production_env(venv, workdir, port_config(ports[0], ports[1:]), METRICS_MODE=mode)
    env.update(DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS, DATABASE_URL=f"sqlite:///{project / 'db.sqlite3'}")
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([venv / "bin/python", "manage.py", *command], cwd=project, env=env, check=True)
    metrics_ports = ports[1:] if mode == "per_worker" else ports[1:2]
    service = Gunicorn(project, venv, env, ports[0], list(metrics_ports), workdir)
    try:
        service.wait_ready()
        for _ in range(rounds):
            for method, path, expected in TRAFFIC:
                status = send(ports[0], method, path)
                assert status == expected, f"{method} {path} answered {status}, not {expected}"
        time.sleep(0.5)
        texts = []
        for port in metrics_ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                texts.append(response.read().decode())
    finally:
        service.stop()
    return max(texts, key=len)  # the worker that served the most kinds of request


def chart_period_interval(timing: Timing) -> str:
    return "1m" if timing.rule_interval == "30s" else "1s"


def chart_scrape_jobs(project: Path, shape: Shape, first_port: int, timing: Timing) -> tuple[list[dict], dict]:
    """The scrape jobs prometheus-operator makes of the chart's ServiceMonitor for ``shape``'s pods,
    pod ``p``'s targets on ports ``first_port + p * ports_per_pod ...``, and the PrometheusRule spec."""
    values = {
        "env": {"config": {"WEB_CONCURRENCY": shape.workers, "METRICS_MODE": shape.mode}},
        "serviceMonitor": {
            "interval": timing.scrape_interval,
            "scrapeTimeout": "10s" if timing.scrape_interval == "15s" else "1s",
        },
        # The period group every minute instead of every 5: its cost per evaluation is what is measured.
        "prometheusRule": {"interval": timing.rule_interval, "periodInterval": chart_period_interval(timing)},
    }
    docs = helm.render(project / "chart", values, release=RELEASE, namespace=NAMESPACE)
    # The operator's jobs and target labels for each pod, as the end-to-end tests scrape one pod; here
    # every endpoint is one job whose targets are the pods, each on its own port of this machine.
    pods = [scrape_jobs_from_chart(docs, NAMESPACE, pod=f"{RELEASE}-{pod:04d}") for pod in range(shape.pods)]
    per_pod = len(pods[0])
    jobs = []
    for index, job in enumerate(pods[0]):
        groups = [
            {
                "targets": [f"127.0.0.1:{first_port + pod * per_pod + index}"],
                "labels": jobs_of_pod[index]["static_configs"][0]["labels"],
            }
            for pod, jobs_of_pod in enumerate(pods)
        ]
        jobs.append({**job, "job_name": job["job_name"].rsplit("/", 1)[0], "static_configs": groups})
    assert per_pod * shape.pods == shape.targets, (per_pod, shape)
    return jobs, one(docs, "PrometheusRule")["spec"]


def own_metrics(prometheus: Prometheus) -> dict[str, float]:
    """Prometheus' own /metrics, flattened: 'name{labels}' -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{prometheus.port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def rule_group_seconds(metrics: dict[str, float]) -> dict[str, float]:
    groups = {}
    for name, value in metrics.items():
        if name.startswith("prometheus_rule_group_last_duration_seconds{"):
            group = name.split('rule_group="', 1)[1].split('"', 1)[0].rsplit(";", 1)[-1]
            groups[group] = value
    return groups


def samples_read(prometheus: Prometheus, spec: dict) -> dict[str, int]:
    """Each group's samples read by one evaluation: its rules' expressions queried at one moment, with
    Prometheus' own query statistics (samples are the figure that does not move with the machine)."""
    at = time.time()
    found = {}
    for group in spec["groups"]:
        total = 0
        for rule in group["rules"]:
            params = urllib.parse.urlencode({"query": rule["expr"], "time": f"{at:.3f}", "stats": "all"})
            address = f"http://127.0.0.1:{prometheus.port}/api/v1/query?{params}"
            with urllib.request.urlopen(address, timeout=600) as response:  # loopback only
                total += json.load(response)["data"]["stats"]["samples"]["totalQueryableSamples"]
        found[group["name"]] = total
    return found


def measure(shape: Shape, exposition: Path, project: Path, workdir: Path, timing: Timing, records: Path) -> dict:
    workdir.mkdir(parents=True)
    ports = free_block(shape.targets)
    jobs, rules = chart_scrape_jobs(project, shape, ports[0], timing)
    # The raw rules beside the chart's, on the same targets and the same Prometheus.
    objectives = {"availability": 0.999, "latency": 0.99}
    rules["groups"] += raw_rules.groups(rules, timing.rule_interval, chart_period_interval(timing), "30d", objectives)
    (workdir / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    shutil.copytree(records, workdir / "tsdb")
    targets = subprocess.Popen(
        [sys.executable, str(HERE / "fleet_targets.py"), str(exposition), str(ports[0]), str(shape.targets)],
        stdout=subprocess.PIPE,
        text=True,
    )
    prometheus = None
    try:
        assert targets.stdout is not None and targets.stdout.readline().strip() == "ready"
        prometheus = Prometheus(workdir, jobs, [workdir / "rules.yaml"], evaluation=timing.rule_interval)
        up = f'count(up{{namespace="{NAMESPACE}"}} == 1)'
        wait_until(lambda: prometheus.scalar(up) == shape.targets, timeout=120, interval=1)
        progress(f"  {shape.label}: {shape.targets} targets up; warming up {timing.warm_up_seconds} s")
        time.sleep(timing.warm_up_seconds)
        before, cpu_before, started = own_metrics(prometheus), cpu_seconds(prometheus.pid), time.monotonic()
        groups: dict[str, list[float]] = {}
        while (elapsed := time.monotonic() - started) < timing.window_seconds:
            time.sleep(min(5.0, max(0.0, timing.window_seconds - elapsed)))
            for group, seconds in rule_group_seconds(own_metrics(prometheus)).items():
                groups.setdefault(group, []).append(seconds)
        after, cpu_after, window = own_metrics(prometheus), cpu_seconds(prometheus.pid), time.monotonic() - started
        appended = "prometheus_tsdb_head_samples_appended_total"
        appended_key = next(key for key in after if key.startswith(appended))
        scrape_seconds = [
            float(value)
            for series in prometheus.query(f'scrape_duration_seconds{{namespace="{NAMESPACE}"}}[{int(window)}s]')
            for _, value in series["values"]
        ]
        result = {
            **asdict(shape),
            "targets": shape.targets,
            "targets_up": prometheus.scalar(up),
            "series_per_target": prometheus.scalar(f'avg(scrape_samples_scraped{{namespace="{NAMESPACE}"}})'),
            "active_series": after["prometheus_tsdb_head_series"],
            "samples_per_second": (after[appended_key] - before[appended_key]) / window,
            "rss_mib": rss_mib(prometheus.pid),
            "cpu_cores": (cpu_after - cpu_before) / window,
            "scrape_p99_ms": 1000 * statistics.quantiles(scrape_seconds, n=100)[98]
            if len(scrape_seconds) > 1
            else None,
            "rule_group_ms": {group: 1000 * max(values) for group, values in sorted(groups.items())},
            "rule_group_samples": samples_read(prometheus, rules),
        }
    finally:
        if prometheus is not None:
            prometheus.stop()
        targets.kill()
        targets.wait()
    progress(
        f"  {shape.label}: {result['active_series']:.0f} series, {result['samples_per_second']:.0f} samples/s, "
        f"{result['rss_mib']:.0f} MiB, {result['cpu_cores']:.2f} cores"
    )
    return result


def run(workdir: Path, quick: bool) -> dict:
    """Every fleet shape, then the period comparison."""
    timing = QUICK_TIMING if quick else FULL_TIMING
    shapes = QUICK_SHAPES if quick else FULL_SHAPES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * max(shape.targets for shape in shapes) + 1024  # Prometheus holds a connection per target
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    expositions: dict[tuple[str, str], Path] = {}
    projects: dict[str, Path] = {}
    for profile in sorted({shape.profile for shape in shapes}):
        progress(f"baking the {profile} profile")
        projects[profile] = bake(workdir / "bakes", profile)
        venv = baked_virtualenv(projects[profile])
        for mode in sorted({shape.mode for shape in shapes if shape.profile == profile}):
            progress(f"capturing a {profile} target's exposition in the {mode} mode after traffic")
            text = capture(
                projects[profile], venv, workdir / f"capture-{profile}-{mode}", mode, rounds=5 if quick else 40
            )
            path = expositions[profile, mode] = workdir / f"exposition-{profile}-{mode}.txt"
            path.write_text(text)
    sli_series = {key: sli_series_per_target(path.read_text()) for key, path in expositions.items()}
    days = QUICK_HISTORY_DAYS if quick else FULL_HISTORY_DAYS
    progress(f"writing {days} days of the chart's per-service SLO records")
    records = prepare_records(workdir / "records", projects["lean"], days, timing)
    results = []
    for number, shape in enumerate(shapes, 1):
        progress(f"fleet {number}/{len(shapes)}: {shape.label} ({shape.targets} targets)")
        results.append(
            measure(
                shape,
                expositions[shape.profile, shape.mode],
                projects[shape.profile],
                workdir / f"fleet-{number}",
                timing,
                records,
            )
        )
    progress("the budget's cost by period, on the same records")
    budget = budget_by_period(projects["lean"], records, workdir / "budget", (7, 30) if quick else BUDGET_PERIODS)
    progress("the period's SLI: raw rate over the period against recorded 5-minute rates")
    period_result = period.measure(
        projects["lean"], workdir / "period", RELEASE, NAMESPACE, 2 if quick else 32, 1 if quick else 6, progress
    )
    for fleet in results:
        fleet["sli_series_per_target"] = sli_series[fleet["profile"], fleet["mode"]]
    return {
        "timing": asdict(timing),
        "fleets": results,
        "period": period_result,
        "budget": budget,
        "history_days": days,
    }


def prepare_records(workdir: Path, project: Path, days: int, timing: Timing) -> Path:
    """``days`` of the service's records every rule interval, ending an hour ago, compacted by a
    Prometheus started on them once (as a month-old Prometheus holds them), in ``workdir / "tsdb"``."""
    docs = helm.render(project / "chart", {}, release=RELEASE, namespace=NAMESPACE)
    job = one(docs, "Service")["metadata"]["name"]
    interval = 30 if timing.rule_interval == "30s" else 60
    end = (time.time() // 3600) * 3600 - 3600
    written = recorded_history.write(workdir / "tsdb", NAMESPACE, job, days, interval, end, progress)
    progress(f"  {written:,} samples; letting Prometheus compact them")
    prometheus = Prometheus(workdir, [], retention="400d")
    try:

        def blocks() -> int:
            return len([d for d in (workdir / "tsdb").iterdir() if d.is_dir() and len(d.name) == 26])

        before, counts = blocks(), []

        def settled() -> bool:
            # Compacted as far as it goes: begun (its first run comes a minute after start), and the
            # count has not moved for 15 seconds since.
            counts.append(blocks())
            return counts[-1] < before // 2 and len(counts) > 15 and counts[-1] == counts[-16]

        wait_until(settled, timeout=900, interval=1)
        progress(f"  {before} blocks compacted to {blocks()}")
    finally:
        prometheus.stop()
    shutil.rmtree(workdir / "tsdb" / "wal", ignore_errors=True)
    return workdir / "tsdb"


def budget_by_period(project: Path, records: Path, workdir: Path, periods: tuple[int, ...]) -> list[dict]:
    """The chart's budget group for each period, evaluated on the recorded history: samples read and
    the median of seven evaluations' time, at the history's end."""
    workdir.mkdir(parents=True)
    shutil.copytree(records, workdir / "tsdb")
    prometheus = Prometheus(workdir, [], retention="400d")
    found = []
    try:
        at = max(
            float(r["value"][1])
            for r in prometheus.query(f'max_over_time(slo:evaluation:timestamp_seconds{{namespace="{NAMESPACE}"}}[1d])')
        )
        for days in periods:
            docs = helm.render(project / "chart", {"slo": {"periodDays": days}}, release=RELEASE, namespace=NAMESPACE)
            (group,) = [g for g in one(docs, "PrometheusRule")["spec"]["groups"] if g["name"].endswith("-slo-budget")]
            samples, seconds = 0, 0.0
            for rule in group["rules"]:
                if "record" not in rule:
                    continue
                _, median, read = period.query_stats(prometheus, rule["expr"], at)
                samples, seconds = samples + read, seconds + median
            found.append({"period_days": days, "samples_read": samples, "eval_ms": 1000 * seconds})
            progress(f"  {days} days: {samples:,} samples, {1000 * seconds:.1f} ms")
    finally:
        prometheus.stop()
    return found


def sli_series_per_target(exposition: str) -> int:
    """The series of one target that the availability SLI reads: its responses by status, view and method."""
    return sum(
        1
        for line in exposition.splitlines()
        if line.startswith(f"{period.RESPONSES}{{") and 'view="prometheus-django-metrics"' not in line
    )


PERIOD_DAYS = 30


def period_projection(report: dict) -> list[dict]:
    """Each fleet's cost of one evaluation of the availability SLI over a 30-day period, from the
    measured cost per sample read: raw (every target's responses series, a sample every 15 s)
    against the recorded rates (two series for the service, a sample every 30 s)."""
    candidates = report["period"]["candidates"]
    raw = next(value for name, value in candidates.items() if name.startswith("raw"))
    recorded = next(value for name, value in candidates.items() if name.startswith("recorded"))
    rows = []
    for fleet in report["fleets"]:
        raw_samples = fleet["targets"] * fleet["sli_series_per_target"] * PERIOD_DAYS * 86400 / period.SCRAPE_SECONDS
        recorded_samples = 2 * PERIOD_DAYS * 86400 / period.RULE_SECONDS
        rows.append(
            {
                "fleet": f"{fleet['profile']} {fleet['mode']} {fleet['pods']}x{fleet['workers']}",
                "raw_samples": raw_samples,
                "raw_seconds": raw_samples * raw["ns_per_sample"] / 1e9,
                "recorded_samples": recorded_samples,
                "recorded_seconds": recorded_samples * recorded["ns_per_sample"] / 1e9,
            }
        )
    return rows


def period_table(report: dict) -> str:
    result = report["period"]
    lines = [
        f"History: {result['targets']} targets, {result['hours']} h at 15 s; window {result['window']}; "
        f"exact share failed {result['exact']:.6f}",
        "",
        "| SLI over the period | value | off by | evaluation ms | samples read | ns per sample |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in result["candidates"].items():
        lines.append(
            f"| {name} | {c['value']:.6f} | {100 * c['error_vs_exact']:+.3f} % | {c['eval_ms']:.1f} | "
            f"{c['samples_read']:,} | {c['ns_per_sample']:.1f} |"
        )
    lines += [
        "",
        f"| fleet | raw: samples in {PERIOD_DAYS} d | raw: s per evaluation | recorded: samples | recorded: s |",
        "|---|---|---|---|---|",
    ]
    for row in period_projection(report):
        lines.append(
            f"| {row['fleet']} | {row['raw_samples']:,.0f} | {row['raw_seconds']:,.1f} | "
            f"{row['recorded_samples']:,.0f} | {row['recorded_seconds']:.3f} |"
        )
    return "\n".join(lines)


def table(report: dict) -> str:
    """Per fleet: what Prometheus holds and spends, and each rule group's longest evaluation and samples read."""
    groups = sorted({group for fleet in report["fleets"] for group in fleet["rule_group_ms"]})
    chart = [group for group in groups if not group.startswith("raw-")]
    prefix = os.path.commonprefix(chart).rsplit("-", 1)[0] + "-" if len(chart) > 1 else ""
    header = [
        "profile",
        "mode",
        "pods",
        "workers",
        "targets",
        "series/target",
        "active series",
        "samples/s",
        "RSS MiB",
        "CPU cores",
        "scrape p99 ms",
        *(f"{group.removeprefix(prefix)} ms / samples" for group in groups),
    ]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for fleet in report["fleets"]:
        samples = fleet.get("rule_group_samples", {})
        cells = [
            fleet["profile"],
            fleet["mode"],
            fleet["pods"],
            fleet["workers"],
            fleet["targets"],
            f"{fleet['series_per_target']:.0f}",
            f"{fleet['active_series']:,.0f}",
            f"{fleet['samples_per_second']:,.0f}",
            f"{fleet['rss_mib']:,.0f}",
            f"{fleet['cpu_cores']:.2f}",
            "-" if fleet["scrape_p99_ms"] is None else f"{fleet['scrape_p99_ms']:.1f}",
            *(f"{fleet['rule_group_ms'].get(group, 0):.1f} / {samples.get(group, 0):,}" for group in groups),
        ]
        rows.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(rows)


def budget_table(report: dict) -> str:
    """The chart's budget group by period, on the same recorded history."""
    lines = [
        f"Budget group on {report['history_days']} days of records: one evaluation per period",
        "",
        "| period | samples read | ms (median of 7) |",
        "|---|---|---|",
    ]
    lines += [f"| {b['period_days']} d | {b['samples_read']:,} | {b['eval_ms']:.1f} |" for b in report["budget"]]
    return "\n".join(lines)


def plot(report: dict) -> str:
    """Mermaid charts (GitHub renders them) of active series and Prometheus memory against pods, per mode."""
    charts = []
    lean16 = [f for f in report["fleets"] if f["profile"] == "lean" and f["workers"] == 16]
    pods = sorted({f["pods"] for f in lean16})
    if len(pods) < 2:
        return ""
    for key, title, unit in (("active_series", "Active series", "series"), ("rss_mib", "Prometheus RSS", "MiB")):
        lines = [
            "```mermaid",
            "xychart-beta",
            f'    title "{title}, lean profile, 16 workers a pod"',
            f'    x-axis "pods" [{", ".join(str(p) for p in pods)}]',
            f'    y-axis "{unit}"',
        ]
        for mode in MODES:
            points = {f["pods"]: f[key] for f in lean16 if f["mode"] == mode}
            if len(points) == len(pods):
                lines.append(f"    line [{', '.join(f'{points[p]:.0f}' for p in pods)}]")
        lines.append("```")
        charts.append("\n".join(lines))
    return "\n\n".join(charts)


def write(report: dict, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
