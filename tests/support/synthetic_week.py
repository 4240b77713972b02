"""A week of one service's request counters with known shares of failures, for promtool.

Traffic rises and falls every day (a peak in the afternoon, a trough at night),
an incident fails 5 % of requests for 40 minutes at a peak, slow requests grow
with load, release 1.0 is replaced by 2.0 on day four, and pods are added and
removed within each release. Every figure the SLO rules record can then be
computed here, exactly, from the counters themselves: what failed over a window
is each counter's value at its end minus its value at its start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SCRAPE = 15  # seconds between samples
DAY = 86400
WEEK = 7 * DAY
MINUTE = 60
STEP = 15 * MINUTE  # the load changes every quarter of an hour
INCIDENT = (4 * DAY + 14 * 3600, 4 * DAY + 14 * 3600 + 40 * MINUTE)  # a peak, in release 2.0
ROLL = 3 * DAY + 10 * 3600  # 2.0's pods start; 1.0's end 20 minutes later
BOUND = "0.3"


def load(t: float) -> float:
    """Requests per second of one pod: the day's rise and fall, 1 at night to 9 at the peak, by quarter hours."""
    quarter = t - t % STEP
    return 5.0 * (1 + 0.8 * math.sin(2 * math.pi * (quarter - 8 * 3600) / DAY))


def failing(t: float, version: str) -> float:
    """The share of a pod's requests answering 5xx: 2.0 fails a little more, and badly in the incident."""
    if INCIDENT[0] <= t < INCIDENT[1]:
        return 0.05
    return 0.0004 if version == "1.0" else 0.0009


def slow(t: float) -> float:
    """The share of requests slower than the threshold: it grows with load."""
    return 0.002 * load(t)


@dataclass(frozen=True)
class Pod:
    name: str
    version: str
    start: int  # seconds into the week, multiples of SCRAPE
    end: int  # its last sample: a multiple of 5 minutes, as a rule evaluation sees it last

    def counters(self) -> dict[str, list[tuple[int, float]]]:
        """kind -> [(time, value)] for the kinds 'ok', 'failed', 'all', 'fast'."""
        totals = {"ok": 0.0, "failed": 0.0, "all": 0.0, "fast": 0.0}
        found: dict[str, list[tuple[int, float]]] = {kind: [(self.start, 0.0)] for kind in totals}
        for t in range(self.start + SCRAPE, self.end + 1, SCRAPE):
            requests = load(t - SCRAPE) * SCRAPE
            bad = requests * failing(t - SCRAPE, self.version)
            totals["ok"] += requests - bad
            totals["failed"] += bad
            totals["all"] += requests
            totals["fast"] += requests * (1 - slow(t - SCRAPE))
            for kind, value in totals.items():
                found[kind].append((t, value))
        return found


PODS = (
    Pod("a-1", "1.0", 0, ROLL + 20 * MINUTE),
    Pod("a-2", "1.0", 0, ROLL + 20 * MINUTE),
    Pod("a-3", "1.0", 0, 2 * DAY),  # removed by an autoscaler
    Pod("a-4", "1.0", DAY + 6 * 3600, ROLL + 20 * MINUTE),  # added
    Pod("b-1", "2.0", ROLL, WEEK),
    Pod("b-2", "2.0", ROLL, WEEK),
    Pod("b-3", "2.0", ROLL + 5 * MINUTE, 5 * DAY + 3 * 3600),
    Pod("b-4", "2.0", 5 * DAY, WEEK),
)


def between(samples: list[tuple[int, float]], start: int, end: int) -> float:
    """What a counter rose by in (start, end]: its value at the end (or last) minus at the start (or 0)."""
    before = [value for t, value in samples if t <= start]
    upto = [value for t, value in samples if t <= end]
    if not upto:
        return 0.0
    return upto[-1] - (before[-1] if before else 0.0)


class Week:
    def __init__(self) -> None:
        self.counters = {pod: pod.counters() for pod in PODS}

    def total(self, kind: str, start: int, end: int, version: str | None = None) -> float:
        return sum(
            between(series[kind], start, end)
            for pod, series in self.counters.items()
            if version is None or pod.version == version
        )

    def failed(self, slo: str, start: int, end: int, version: str | None = None) -> float:
        if slo == "availability":
            return self.total("failed", start, end, version)
        return self.total("all", start, end, version) - self.total("fast", start, end, version)

    def share(self, slo: str, start: int, end: int) -> float:
        """The exact share of requests that failed ``slo`` in (start, end]."""
        return self.failed(slo, start, end) / self.total("all", start, end)

    def input_series(self, namespace: str, job: str, package: str) -> list[dict[str, str]]:
        """promtool's input_series: every counter sampled every SCRAPE seconds from 0, absent outside its pod."""
        found = []
        for pod, series in self.counters.items():
            target = f'namespace="{namespace}", job="{job}", instance="{pod.name}:9100", pod="{pod.name}"'
            responses = "django_http_responses_total_by_status_view_method_total"
            latency = "django_http_requests_latency_seconds_by_view_method_bucket"
            names = {
                "ok": f'{responses}{{{target}, view="index", method="GET", status="200"}}',
                "failed": f'{responses}{{{target}, view="orders", method="POST", status="500"}}',
                "all": f'{latency}{{{target}, view="index", method="GET", le="+Inf"}}',
                "fast": f'{latency}{{{target}, view="index", method="GET", le="{BOUND}"}}',
            }
            for kind, name in names.items():
                found.append({"series": name, "values": _notation(series[kind], pod.start)})
            ones = [(t, 1.0) for t, _ in series["ok"]]
            info = f'{package}_build_info{{{target}, version="{pod.version}", commit="c{pod.version}"}}'
            found.append({"series": info, "values": _notation(ones, pod.start)})
        return found


def _notation(samples: list[tuple[int, float]], start: int) -> str:
    """promtool's expanding notation: '_xN' before the first sample, then runs of equal steps as 'a+bxN'."""
    tokens = [f"_x{start // SCRAPE}"] if start else []
    values = [value for _, value in samples]
    i = 0
    while i < len(values):
        j = i + 1
        step = round(values[j] - values[i], 6) if j < len(values) else 0.0
        while j + 1 < len(values) and round(values[j + 1] - values[j], 6) == step:
            j += 1
        if j < len(values):
            tokens.append(f"{values[i]:.6f}+{step:.6f}x{j - i}")
        else:
            tokens.append(f"{values[i]:.6f}")
        i = j + 1
    return " ".join(tokens)
