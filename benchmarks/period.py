"""The error budget's whole-period SLI: ``rate(...[period])`` over raw series, or sums of recorded 5-minute rates?

The chart's budget group computes each SLI over the whole period (30 days by
default) from the raw counters of every target. Its cost grows with every sample
of every target in the period. The alternatives read series the 5-minute rules
record anyway (one per service): the mean of the recorded 5-minute ratios (what
Sloth does), or the recorded error and request rates summed separately and then
divided. This measures the three on one backfilled history, in a real Prometheus:
their values against the exact share of failed requests, and their cost per
evaluation with the number of samples each reads, from which the cost at a fleet's
scale and a 30-day period follows (samples read grow linearly with both).

The history: ``TARGETS`` targets scraped every 15 s for ``HOURS`` hours, traffic
rising and falling (a daily shape squeezed into the span) and an incident failing
5 % of requests for half an hour at the peak. Run by ``./benchmarks/run --fleet``.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from tests.support import helm
from tests.support.manifests import one
from tests.support.prometheus import PROMTOOL, Prometheus

SCRAPE_SECONDS = 15
RULE_SECONDS = 30  # the chart's prometheusRule.interval, at which the 5-minute rules are recorded
RESPONSES = "django_http_responses_total_by_status_view_method_total"
# (view, method, status, share of the target's requests outside the incident)
KINDS = (
    ("index", "GET", "200", 0.699),
    ("orders", "POST", "201", 0.25),
    ("orders", "GET", "404", 0.05),
    ("orders", "POST", "500", 0.001),
)


def traffic(t: float, span: float) -> float:
    """Requests per second of one target at ``t`` seconds into the history: a day's rise and fall."""
    return 5.0 * (1 + 0.8 * math.sin(2 * math.pi * t / span))


def failing_share(t: float, span: float) -> float:
    incident = span / 4 - 900 <= t < span / 4 + 900  # half an hour around the peak
    return 0.05 if incident else KINDS[-1][3]


def history(namespace: str, job: str, targets: int, hours: float) -> tuple[str, float, float, dict]:
    """OpenMetrics text of the history, its start and end (Unix seconds), and the exact totals."""
    span = hours * 3600
    end = math.floor(time.time() / 3600) * 3600 - 3600  # an hour back: promtool writes no block ending in the future
    start = end - span
    steps = int(span // SCRAPE_SECONDS)
    series: dict[str, list[str]] = {}
    totals = {"requests": 0.0, "errors": 0.0}
    for target in range(targets):
        labels = f'namespace="{namespace}",job="{job}",instance="10.0.0.{target}:9100",pod="pod-{target // 16}"'
        counts = [0.0] * len(KINDS)
        for step in range(steps + 1):
            t = step * SCRAPE_SECONDS
            if step:
                requests = traffic(t, span) * SCRAPE_SECONDS
                failing = failing_share(t, span)
                for index, (_, _, status, share) in enumerate(KINDS):
                    if status == "500":
                        counts[index] += requests * failing
                    elif status == "200":
                        counts[index] += requests * (share - (failing - KINDS[-1][3]))
                    else:
                        counts[index] += requests * share
            for index, (view, method, status, _) in enumerate(KINDS):
                key = f'{labels},view="{view}",method="{method}",status="{status}"'
                series.setdefault(key, []).append(f"{RESPONSES}{{{key}}} {counts[index]:.3f} {start + t:.0f}")
        totals["requests"] += sum(counts)
        totals["errors"] += counts[-1]
    lines = [f"# TYPE {RESPONSES} counter"]
    for samples in series.values():
        lines += samples
    lines.append("# EOF")
    return "\n".join(lines) + "\n", start, end, totals


def rendered_rules(project: Path, release: str, namespace: str) -> tuple[str, str, str, str]:
    """The job label the chart's rules select, the raw form of its availability SLI over the period
    (the window left as {window}), and the raw 5-minute errors and requests, written from the chart's
    own record of the service's responses (its selector and its 5-minute rate)."""
    docs = helm.render(project / "chart", {}, release=release, namespace=namespace)
    rules = [rule for group in one(docs, "PrometheusRule")["spec"]["groups"] for rule in group["rules"]]
    responses = next(r for r in rules if r.get("record") == "namespace_job_view_status:django_http_responses:rate5m")
    requests = responses["expr"].replace("sum by (namespace, job, view, status)", "sum by (namespace, job)")
    errors = requests.replace("}[5m]", ', status=~"5.."}[5m]')
    job = one(docs, "Service")["metadata"]["name"]
    return job, f"{errors}\n/\n{requests}".replace("[5m]", "[{window}]"), errors, requests


def query_stats(prometheus: Prometheus, expr: str, at: float) -> tuple[float, float, int]:
    """The value of ``expr`` at ``at``, the median of seven evaluations' times (s) and the samples read."""
    timings, value, samples = [], float("nan"), 0
    for _ in range(7):
        params = urllib.parse.urlencode({"query": expr, "time": f"{at:.0f}", "stats": "all"})
        with urllib.request.urlopen(
            f"http://127.0.0.1:{prometheus.port}/api/v1/query?{params}", timeout=300
        ) as response:
            data = json.load(response)["data"]
        timings.append(data["stats"]["timings"]["evalTotalTime"])
        samples = data["stats"]["samples"]["totalQueryableSamples"]
        value = float(data["result"][0]["value"][1]) if data["result"] else float("nan")
    return value, statistics.median(timings), samples


def measure(project: Path, workdir: Path, release: str, namespace: str, targets: int, hours: float, progress) -> dict:
    workdir.mkdir(parents=True)
    job, period_expr, errors, requests = rendered_rules(project, release, namespace)
    text, start, end, totals = history(namespace, job, targets, hours)
    source = workdir / "history.om"
    source.write_text(text)
    tsdb = workdir / "tsdb"
    progress(f"  backfilling {hours:g} h of {targets} targets ({text.count(chr(10)):,} samples)")
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(tsdb)], check=True)
    recorded = {
        "groups": [
            {
                "name": "recorded-5m",
                "interval": f"{RULE_SECONDS}s",
                "rules": [
                    {
                        "record": "slo:sli_error:ratio_rate5m",
                        "expr": f"{errors}\n/\n{requests}",
                        "labels": {"slo": "availability"},
                    },
                    {"record": "slo:sli_errors:rate5m", "expr": errors, "labels": {"slo": "availability"}},
                    {"record": "slo:sli_requests:rate5m", "expr": requests, "labels": {"slo": "availability"}},
                ],
            }
        ]
    }
    rules_file = workdir / "recorded.yaml"
    rules_file.write_text(yaml.safe_dump(recorded, sort_keys=False))
    prometheus = Prometheus(workdir, [], retention="400d")
    try:
        progress(f"  recording the 5-minute rules over the history, every {RULE_SECONDS} s (promtool)")
        subprocess.run(
            [
                PROMTOOL,
                "tsdb",
                "create-blocks-from",
                "rules",
                "-q",
                f"--url=http://127.0.0.1:{prometheus.port}",
                f"--start={start:.0f}",
                f"--end={end:.0f}",
                f"--output-dir={tsdb}",
                str(rules_file),
            ],
            check=True,
            cwd=workdir,
        )
    finally:
        prometheus.stop()
    prometheus = Prometheus(workdir, [], retention="400d")  # reads the recorded blocks beside the raw ones
    try:
        window = f"{int(end - start - 600)}s"  # the history but its first ten minutes, which the recordings lack
        at = end
        exact = exact_share(text, end - int(window[:-1]), end)
        # The chart's form since 2026-12-07: a range a second short (Prometheus 2 includes its start).
        short = f"{int(window[:-1]) - 1}s"
        candidates = {
            "raw: rate over the period (the chart before 2026-12-07)": period_expr.replace("{window}", window),
            "mean of recorded 5m ratios": f'avg_over_time(slo:sli_error:ratio_rate5m{{slo="availability"}}[{window}])',
            "recorded 5m error rate / recorded 5m request rate (the chart)": (
                f'sum_over_time(slo:sli_errors:rate5m{{slo="availability"}}[{short}])'
                f' / sum_over_time(slo:sli_requests:rate5m{{slo="availability"}}[{short}])'
            ),
        }
        results = {}
        for name, expr in candidates.items():
            value, seconds, samples = query_stats(prometheus, expr, at)
            results[name] = {
                "value": value,
                "error_vs_exact": value / exact - 1,
                "eval_ms": 1000 * seconds,
                "samples_read": samples,
                "ns_per_sample": 1e9 * seconds / samples if samples else None,
            }
            progress(f"  {name}: {value:.6f} (exact {exact:.6f}), {1000 * seconds:.1f} ms, {samples:,} samples")
    finally:
        prometheus.stop()
    return {
        "targets": targets,
        "hours": hours,
        "window": window,
        "exact": exact,
        "candidates": results,
        "totals": totals,
    }


def exact_share(text: str, start: float, end: float) -> float:
    """Failed requests over all requests between ``start`` and ``end``, from the history's own samples."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith(RESPONSES):
            continue
        labels, value, stamp = line.rsplit(" ", 2)
        if start <= float(stamp) <= end:
            first.setdefault(labels, float(value))
            last[labels] = float(value)
    errors = sum(last[k] - first[k] for k in last if 'status="500"' in k)
    return errors / sum(last[k] - first[k] for k in last)
