"""Known history for a real Prometheus: request counters written as OpenMetrics and turned into
TSDB blocks by ``promtool tsdb create-blocks-from openmetrics``, so a month of traffic exists
the moment Prometheus starts."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.prometheus import PROMTOOL

STEP = 300  # seconds between recent samples, as a 5-minute scrape would take them
# Older history is sampled every half hour: promtool reads the whole input once per two-hour
# block it writes, so a week at 5-minute steps would take a minute to backfill.
COARSE_STEP = 1800
RECENT = 6 * 3600
RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method"


@dataclass
class Pod:
    """One metrics target of a release: it serves from ``start`` to ``end`` (Unix times, multiples of
    STEP), ``per_step`` requests every STEP seconds, of which ``failing`` (a share) fail with a 500
    on the view ``orders``; the rest answer 200 on ``index``."""

    name: str
    version: str
    start: float
    end: float
    per_step: float
    failing: float

    def sample_times(self) -> list[float]:
        """Every COARSE_STEP until the last RECENT seconds of the history, then every STEP."""
        recent_from = max(self.start, self.end - RECENT)
        times = [self.start + i * COARSE_STEP for i in range(int((recent_from - self.start) // COARSE_STEP))]
        times += [recent_from + i * STEP for i in range(int((self.end - recent_from) // STEP) + 1)]
        return times

    def labels(self, namespace: str, job: str) -> str:
        return f'namespace="{namespace}", job="{job}", instance="{self.name}:9100", pod="{self.name}"'


@dataclass
class History:
    namespace: str
    job: str
    pods: list[Pod]
    alerts: list[tuple[str, str, float, float]] = field(default_factory=list)  # (alertname, slo, start, end)

    def series(self, package: str) -> dict[str, list[tuple[str, list[tuple[float, float]]]]]:
        """metric name -> [(labels, [(time, value)])]."""
        found: dict[str, list] = {}
        for pod in self.pods:
            target = pod.labels(self.namespace, self.job)
            times = pod.sample_times()
            steps = [(t - pod.start) / STEP for t in times]  # counters grow by per_step every STEP seconds
            good = [(t, n * pod.per_step * (1 - pod.failing)) for t, n in zip(times, steps)]
            bad = [(t, n * pod.per_step * pod.failing) for t, n in zip(times, steps)]
            every = [(t, n * pod.per_step) for t, n in zip(times, steps)]
            found.setdefault(RESPONSES, []).append((f'{target}, view="index", method="GET", status="200"', good))
            found[RESPONSES].append((f'{target}, view="orders", method="POST", status="500"', bad))
            # Every request is fast: the latency budget stays whole.
            found.setdefault(f"{LATENCY}_count", []).append((f'{target}, view="index", method="GET"', every))
            for bound in ("0.3", "+Inf"):
                found.setdefault(f"{LATENCY}_bucket", []).append(
                    (f'{target}, view="index", method="GET", le="{bound}"', every)
                )
            build = f'{target}, version="{pod.version}", commit="c{pod.version}"'
            found.setdefault(f"{package}_build_info", []).append((build, [(t, 1) for t in times]))
        for alertname, slo, start, end in self.alerts:
            labels = f'alertname="{alertname}", alertstate="firing", namespace="{self.namespace}", job="{self.job}"'
            labels += f', severity="critical", slo="{slo}"'
            times = [start + i * STEP for i in range(int((end - start) // STEP) + 1)]
            found.setdefault("ALERTS", []).append((labels, [(t, 1) for t in times]))
        return found

    def records(self) -> dict[str, list[tuple[str, list[tuple[float, float]]]]]:
        """The chart's 5-minute SLO records of this history, as its raw group would write them if it ran every
        COARSE_STEP seconds (each pod's rate is constant): per service, per view and per version, and the
        evaluations' timestamps."""
        service = f'namespace="{self.namespace}", job="{self.job}"'
        start = min(pod.start for pod in self.pods) + COARSE_STEP
        end = max(pod.end for pod in self.pods)
        times = [start + i * COARSE_STEP for i in range(int((end - start) // COARSE_STEP) + 1)]
        found: dict[str, list] = {}

        def add(name: str, labels: str, rate) -> None:
            found.setdefault(name, []).append((labels, [(t, rate(t)) for t in times]))

        def serving(t: float, version: str | None = None) -> list[Pod]:
            return [p for p in self.pods if p.start < t <= p.end and version in (None, p.version)]

        def requests(t: float) -> float:
            return sum(p.per_step for p in serving(t)) / STEP

        def failed(t: float, version: str | None = None) -> float:
            return sum(p.per_step * p.failing for p in serving(t, version)) / STEP

        add("slo:sli_requests:rate5m", f'{service}, slo="availability"', requests)
        add("slo:sli_requests:rate5m", f'{service}, slo="latency"', requests)
        add("slo:sli_errors:rate5m", f'{service}, slo="availability"', failed)
        add("slo:sli_errors:rate5m", f'{service}, slo="latency"', lambda t: 0.0)
        for view, rate in (("index", lambda t: 0.0), ("orders", failed)):
            add("slo:sli_errors_by_view:rate5m", f'{service}, slo="availability", view="{view}"', rate)
        for version in sorted({pod.version for pod in self.pods}):
            for slo in ("availability", "latency"):
                rate = (lambda t, v=version: failed(t, v)) if slo == "availability" else (lambda t: 0.0)
                add("slo:sli_errors_by_version:rate5m", f'{service}, slo="{slo}", version="{version}"', rate)
        found["slo:evaluation:timestamp_seconds"] = [(service, [(t, t) for t in times])]
        return found

    def increase(self, name: str, matches: str, start: float, end: float) -> float:
        """What the counters ``name`` whose labels contain ``matches`` rose by between ``start`` and ``end``,
        summed: the hand-computed figure (every sample inside the window, no extrapolation)."""
        total = 0.0
        for labels, samples in self.series("x")[name]:
            if matches in labels:
                inside = [value for t, value in samples if start <= t <= end]
                total += inside[-1] - inside[0] if len(inside) > 1 else 0.0
        return total


def write_blocks(histories: list[History], package: str, tsdb: Path, records: bool = False) -> None:
    """The histories' raw series (and with ``records`` their 5-minute SLO records) as TSDB blocks."""
    merged: dict[str, list] = {}
    for history in histories:
        found = {**history.series(package), **(history.records() if records else {})}
        for name, series in found.items():
            merged.setdefault(name, []).extend(series)
    lines = []
    for name, series in merged.items():
        lines.append(f"# TYPE {name} unknown")
        for labels, samples in series:
            compact = labels.replace(", ", ",")  # OpenMetrics allows no space between labels
            lines += [f"{name}{{{compact}}} {value:.6f} {t:.0f}" for t, value in samples]
    lines.append("# EOF")
    source = tsdb.parent / "history.om"
    source.write_text("\n".join(lines) + "\n")
    tsdb.mkdir(parents=True, exist_ok=True)
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(tsdb)], check=True)
