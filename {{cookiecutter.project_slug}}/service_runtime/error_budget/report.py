"""The period's SLO report: attainment, budget spent, who spent it, incidents, and a burn-down.

Every figure comes from one Prometheus at one moment (``end``, any time in its
history): by default the chart's 5-minute records summed over the period
(``queries.Recorded``), with ``raw`` every target's request counters
(``queries.Raw``); the chart's ``slo:objective:ratio`` for the objectives, and
``ALERTS`` for incidents. The report says which it read, and how much of the
period the records cover.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from service_runtime.error_budget.budget import Service, evaluations, objectives_of
from service_runtime.error_budget.prometheus import Prometheus, PrometheusUnusable
from service_runtime.error_budget.queries import Raw, Recorded, range_of
from service_runtime.error_budget.report_files import markdown_text
from service_runtime.worker_slots.build_info import NAME as BUILD_INFO

BURNDOWN_POINTS = 60
INCIDENT_GAP_SECONDS = 600
TOP = 5


@dataclass
class Incident:
    alert: str
    start: float
    end: float

    @property
    def minutes(self) -> float:
        return (self.end - self.start) / 60


@dataclass
class SloReport:
    slo: str
    objective: float
    requests: float
    failed: float
    releases: list[tuple[str, float]] = field(default_factory=list)  # (version, share of the budget spent)
    views: list[tuple[str, float]] = field(default_factory=list)  # (view, share of the budget spent)
    incidents: list[Incident] = field(default_factory=list)
    burndown: list[tuple[float, float]] = field(default_factory=list)  # (time, budget remaining)

    @property
    def attainment(self) -> float:
        return 1 - self.failed / self.requests if self.requests else 1.0

    @property
    def budget_spent(self) -> float:
        """The share of the period's budget spent: 1 is all of it."""
        allowed = (1 - self.objective) * self.requests
        return self.failed / allowed if allowed else 0.0


def _value(results: list[dict[str, Any]]) -> float:
    return float(results[0]["value"][1]) if results else 0.0


def _incidents(prometheus: Prometheus, service: Service, slo: str, window: str, end: float) -> list[Incident]:
    """Runs of a burn-rate alert's firing samples (one per rule evaluation): a gap longer than
    INCIDENT_GAP_SECONDS starts a new incident. Raw samples, so start and end are exact."""
    burning = 'alertname=~".+ErrorBudgetBurn(Fast|Slow)"'
    expression = "ALERTS{" + service.matchers(alertstate="firing", slo=slo) + ", " + burning + "}" + f"[{window}]"
    found: list[Incident] = []
    for series in prometheus.query(expression, end):
        times = [float(t) for t, _ in series["values"]]
        run_start = previous = times[0]
        for t in times[1:] + [None]:
            if t is None or t - previous > INCIDENT_GAP_SECONDS:
                found.append(Incident(series["metric"]["alertname"], run_start, previous))
                if t is not None:
                    run_start = t
            if t is not None:
                previous = t
    return sorted(found, key=lambda incident: incident.start)


class RecordedFigures:
    """Counts from the chart's 5-minute records: each summed rate times the evaluation interval."""

    source = "recorded"

    def __init__(self, prometheus: Prometheus, service: Service, window: str, end: float) -> None:
        self.prometheus, self.queries, self.window, self.end = prometheus, Recorded(service.matchers()), window, end
        coverage = evaluations(prometheus, self.queries, window, end)
        if coverage is None:
            raise PrometheusUnusable(
                f"Prometheus at {prometheus.url} holds no SLO records for {service.selector()} in the period:"
                " are the chart's rules loaded there? (--raw reads the raw request series instead)"
            )
        self.coverage = coverage

    def _count(self, expression: str) -> float:
        return _value(self.prometheus.query(expression, self.end)) * self.coverage.interval

    def counts(self, slo: str) -> tuple[float, float]:
        return self._count(self.queries.requests(slo, self.window)), self._count(self.queries.failed(slo, self.window))

    def failed_by(self, label: str, slo: str) -> list[tuple[str, float]]:
        results = self.prometheus.query(self.queries.failed_by(label, slo, self.window), self.end)
        return [(r["metric"].get(label, "?"), float(r["value"][1]) * self.coverage.interval) for r in results]

    def failed_per_step(self, slo: str, start: float, step: float) -> list[tuple[float, float]]:
        per_step = self.queries.failed(slo, range_of(int(step)))
        series = self.prometheus.query_range(per_step, start + step, self.end, step)[:1]
        return [(float(t), float(v) * self.coverage.interval) for s in series for t, v in s["values"]]


class RawFigures:
    """Counts from every target's raw request counters: increases over the period."""

    source = "raw"
    coverage = None

    def __init__(self, prometheus: Prometheus, service: Service, window: str, end: float, threshold: float) -> None:
        self.prometheus, self.queries, self.window, self.end = (
            prometheus,
            Raw(service.matchers(), threshold),
            window,
            end,
        )

    def counts(self, slo: str) -> tuple[float, float]:
        total = _value(self.prometheus.query(self.queries.requests(slo, self.window), self.end))
        return total, _value(self.prometheus.query(self.queries.failed(slo, self.window), self.end))

    def failed_by(self, label: str, slo: str) -> list[tuple[str, float]]:
        if label == "version":
            expression = self.queries.errors_by_version(slo, self.window, "increase", self.window, BUILD_INFO)
        else:
            expression = self.queries.failed(slo, self.window, f"namespace, job, {label}")
        results = self.prometheus.query(expression, self.end)
        return [(r["metric"].get(label, "?"), float(r["value"][1])) for r in results]

    def failed_per_step(self, slo: str, start: float, step: float) -> list[tuple[float, float]]:
        per_step = self.queries.failed(slo, f"{int(step)}s")
        series = self.prometheus.query_range(per_step, start + step, self.end, step)[:1]
        return [(float(t), float(v)) for s in series for t, v in s["values"]]


Figures = RecordedFigures | RawFigures


def _burndown(figures: Figures, report: SloReport, start: float, end: float) -> list[tuple[float, float]]:
    step = (end - start) / BURNDOWN_POINTS
    allowed = (1 - report.objective) * report.requests
    points = [(start, 1.0)]
    spent = 0.0
    for t, failed in figures.failed_per_step(report.slo, start, step):
        spent += failed
        points.append((t, 1 - spent / allowed if allowed else 1.0))
    return points


def _top(spent: list[tuple[str, float]], allowed: float, keep_zero: bool) -> list[tuple[str, float]]:
    shares = ((name, failed / allowed if allowed else 0.0) for name, failed in spent)
    return sorted((share for share in shares if keep_zero or share[1] > 0), key=lambda x: -x[1])[:TOP]


def build(
    prometheus: Prometheus, service: Service, period_days: int, threshold: float, end: float, raw: bool = False
) -> tuple[list[SloReport], Figures]:
    """One report per SLO for the ``period_days`` before ``end`` (a Unix time), and where the figures came from."""
    start = end - period_days * 86400
    objectives = objectives_of(prometheus, service)
    figures: Figures
    if raw:
        figures = RawFigures(prometheus, service, f"{period_days}d", end, threshold)
    else:
        figures = RecordedFigures(prometheus, service, range_of(period_days * 86400), end)
    reports = []
    for slo, objective in sorted(objectives.items()):
        total, bad = figures.counts(slo)
        if not total:
            raise PrometheusUnusable(
                f"Prometheus at {prometheus.url} holds no requests for {service.selector()} in the {period_days}d"
                f" before {datetime.fromtimestamp(end, UTC):%Y-%m-%d %H:%M} UTC"
            )
        report = SloReport(slo, objective, total, bad)
        allowed = (1 - objective) * total
        report.releases = _top(figures.failed_by("version", slo), allowed, keep_zero=True)
        report.views = _top(figures.failed_by("view", slo), allowed, keep_zero=False)
        report.incidents = _incidents(prometheus, service, slo, f"{period_days}d", end)
        report.burndown = _burndown(figures, report, start, end)
        reports.append(report)
    return reports, figures


def source_note(figures: Figures, period_days: int, end: float) -> str:
    """Which series the figures came from, and, for the records, whether they span the whole period."""
    if figures.coverage is None:
        return "Figures from every target's raw request counters (--raw)."
    note = "Figures from the chart's 5-minute SLO records (slo:sli_*:rate5m)."
    covered = figures.coverage.seconds / 86400
    if covered < period_days * 0.99:
        note += (
            f" The records cover only the last {covered:.1f} of the {period_days} days (since"
            f" {_when(figures.coverage.first)} UTC): every figure is over those days. --raw reads the raw request"
            " series, where they are older than the records."
        )
    return note


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinity as None: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def as_json(reports: list[SloReport], period_days: int, end: float, figures: Figures) -> dict[str, Any]:
    return {
        "period_days": period_days,
        "source": figures.source,
        "covered_days": figures.coverage.seconds / 86400 if figures.coverage else float(period_days),
        "note": source_note(figures, period_days, end),
        "end": datetime.fromtimestamp(end, UTC).isoformat(),
        "slos": [
            {
                **{k: v for k, v in asdict(report).items() if k not in ("incidents",)},
                "attainment": report.attainment,
                "budget_spent": report.budget_spent,
                "incidents": [{**asdict(i), "minutes": i.minutes} for i in report.incidents],
            }
            for report in reports
        ],
    }


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def as_markdown(
    reports: list[SloReport], service: Service, period_days: int, end: float, charts: dict[str, str], figures: Figures
) -> str:
    lines = [
        f"# SLO report: {service.describe()}",
        "",
        f"The {period_days} days to {_when(end)} UTC. {source_note(figures, period_days, end)}",
        "",
        "| SLO | objective | attained | requests | failed | budget spent |",
        "|---|---|---|---|---|---|",
    ]
    for r in reports:
        lines.append(
            f"| {markdown_text(r.slo)} | {r.objective:.3%} | {r.attainment:.3%} | {r.requests:,.0f} | {r.failed:,.0f} |"
            f" {r.budget_spent:.1%} |"
        )
    for r in reports:
        slo = markdown_text(r.slo)
        lines += ["", f"## {slo}", "", f"![Error budget burn-down, {slo}]({charts[r.slo]})", ""]
        lines += ["Releases that spent most:", ""]
        lines += [f"- {markdown_text(version)}: {share:.1%} of the budget" for version, share in r.releases] or [
            "- none recorded"
        ]
        lines += ["", "Views that spent most:", ""]
        lines += [f"- {markdown_text(view)}: {share:.1%} of the budget" for view, share in r.views] or ["- none"]
        lines += ["", "Incidents (burn-rate alerts firing):", ""]
        lines += [
            f"- {markdown_text(i.alert)} from {_when(i.start)} to {_when(i.end)} UTC ({i.minutes:.0f} min)"
            for i in r.incidents
        ] or ["- none"]
    return "\n".join(lines) + "\n"
