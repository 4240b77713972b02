"""Days of the chart's per-service SLO records, as TSDB blocks: what the long windows read.

The chart's `-sli-rates` group records, per service, a handful of series every
rule interval; every longer window, the period and the spend by release read
only those. A fleet's Prometheus that has run for a month holds a month of them,
whatever its number of targets. This writes that history (three releases, a few
views, a steady error share) so the fleet benchmark measures the rules on it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.prometheus import PROMTOOL

DAY = 86400
VIEWS = ("index", "orders", "admin:login")
VERSIONS = ("1.0", "1.1", "1.2")  # each serves a third of the history


def records(namespace: str, job: str, t: float, start: float, days: int) -> list[tuple[str, float]]:
    """The series the raw group records for one service at ``t``: (name{labels}, value)."""
    service = f'namespace="{namespace}",job="{job}"'
    version = VERSIONS[min(len(VERSIONS) - 1, int((t - start) / (days * DAY / len(VERSIONS))))]
    found = [(f"slo:evaluation:timestamp_seconds{{{service}}}", t)]
    for slo, failing in (("availability", 0.001), ("latency", 0.01)):
        labels = f'{service},slo="{slo}"'
        found += [
            (f"slo:sli_requests:rate5m{{{labels}}}", 120.0),
            (f"slo:sli_errors:rate5m{{{labels}}}", 120.0 * failing),
            (f'slo:sli_errors_by_version:rate5m{{{labels},version="{version}"}}', 120.0 * failing),
        ]
        found += [(f'slo:sli_errors_by_view:rate5m{{{labels},view="{view}"}}', 40.0 * failing) for view in VIEWS]
    return found


def write(tsdb: Path, namespace: str, job: str, days: int, interval: int, end: float, progress) -> int:
    """``days`` of records every ``interval`` seconds up to ``end``, into ``tsdb``; the samples written.

    promtool reads its whole input once per two-hour block it writes, so each day is its own input."""
    tsdb.mkdir(parents=True, exist_ok=True)
    start = end - days * DAY
    written = 0
    for day in range(days):
        lines = []
        first = start + day * DAY
        for step in range(DAY // interval):
            t = first + step * interval
            lines += [f"{series} {value:.6f} {t:.0f}" for series, value in records(namespace, job, t, start, days)]
        # OpenMetrics wants each series' samples together, in time order: a stable sort by series.
        by_series = sorted(lines, key=lambda line: line.rsplit(" ", 2)[0])
        text = "\n".join([*by_series, "# EOF"]) + "\n"
        source = tsdb.parent / f"records-{day}.om"
        source.write_text(text)
        subprocess.run(
            [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(tsdb)], check=True
        )
        source.unlink()
        written += len(lines)
        if day % 10 == 9:
            progress(f"  {day + 1} of {days} days of records written")
    return written
