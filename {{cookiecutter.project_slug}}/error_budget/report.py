"""The period's SLO report: attainment, budget spent, who spent it, incidents, and a burn-down.

Every figure comes from one Prometheus at one moment (``end``, any time in its
history): the raw request series for counts and the spend by release and view
(the SLIs as ``queries.py`` writes them, as the chart's rules do), the chart's
``slo:objective:ratio`` for the objectives, and ``ALERTS`` for incidents.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from error_budget.budget import Service, by_slo
from error_budget.prometheus import Prometheus, PrometheusUnusable
from error_budget.queries import failed, requests, spent_by_version
from worker_slots.build_info import NAME as BUILD_INFO

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


def _burndown(
    prometheus: Prometheus, report: SloReport, service: Service, threshold: float, start: float, end: float
) -> list[tuple[float, float]]:
    step = (end - start) / BURNDOWN_POINTS
    window = f"{int(step)}s"
    per_step = failed(report.slo, service.matchers(), window, "namespace, job", threshold, "increase")
    allowed = (1 - report.objective) * report.requests
    points = [(start, 1.0)]
    spent = 0.0
    for series in prometheus.query_range(per_step, start + step, end, step)[:1]:
        for t, value in series["values"]:
            spent += float(value)
            points.append((float(t), 1 - spent / allowed if allowed else 1.0))
    return points


def build(prometheus: Prometheus, service: Service, period_days: int, threshold: float, end: float) -> list[SloReport]:
    """One report per SLO for the ``period_days`` before ``end`` (a Unix time)."""
    window = f"{period_days}d"
    start = end - period_days * 86400
    selector = service.matchers()
    objectives = by_slo(prometheus, "slo:objective:ratio", service)
    reports = []
    for slo, objective in sorted(objectives.items()):
        total = _value(prometheus.query(requests(slo, selector, window, "namespace, job", "increase"), end))
        if not total:
            raise PrometheusUnusable(
                f"Prometheus at {prometheus.url} holds no requests for {service.selector()} in the {window} before"
                f" {datetime.fromtimestamp(end, UTC):%Y-%m-%d %H:%M} UTC"
            )
        bad = _value(prometheus.query(failed(slo, selector, window, "namespace, job", threshold, "increase"), end))
        report = SloReport(slo, objective, total, bad)
        allowed = (1 - objective) * total
        by_version = spent_by_version(slo, selector, window, threshold, objective, BUILD_INFO)
        spent = prometheus.query(by_version, end)
        report.releases = sorted(
            ((r["metric"].get("version", "?"), float(r["value"][1])) for r in spent), key=lambda x: -x[1]
        )[:TOP]
        by_view = prometheus.query(failed(slo, selector, window, "view", threshold, "increase"), end)
        spent_by_view = ((r["metric"].get("view", "?"), float(r["value"][1]) / allowed) for r in by_view)
        report.views = sorted((spent for spent in spent_by_view if spent[1] > 0), key=lambda x: -x[1])[:TOP]
        report.incidents = _incidents(prometheus, service, slo, window, end)
        report.burndown = _burndown(prometheus, report, service, threshold, start, end)
        reports.append(report)
    return reports


def as_json(reports: list[SloReport], period_days: int, end: float) -> dict[str, Any]:
    return {
        "period_days": period_days,
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
    reports: list[SloReport], service: Service, period_days: int, end: float, charts: dict[str, str]
) -> str:
    lines = [
        f"# SLO report: {service.describe()}",
        "",
        f"The {period_days} days to {_when(end)} UTC.",
        "",
        "| SLO | objective | attained | requests | failed | budget spent |",
        "|---|---|---|---|---|---|",
    ]
    for r in reports:
        lines.append(
            f"| {r.slo} | {r.objective:.3%} | {r.attainment:.3%} | {r.requests:,.0f} | {r.failed:,.0f} |"
            f" {r.budget_spent:.1%} |"
        )
    for r in reports:
        lines += ["", f"## {r.slo}", "", f"![Error budget burn-down, {r.slo}]({charts[r.slo]})", ""]
        lines += ["Releases that spent most:", ""]
        lines += [f"- `{version}`: {share:.1%} of the budget" for version, share in r.releases] or ["- none recorded"]
        lines += ["", "Views that spent most:", ""]
        lines += [f"- `{view}`: {share:.1%} of the budget" for view, share in r.views] or ["- none"]
        lines += ["", "Incidents (burn-rate alerts firing):", ""]
        lines += [
            f"- {i.alert} from {_when(i.start)} to {_when(i.end)} UTC ({i.minutes:.0f} min)" for i in r.incidents
        ] or ["- none"]
    return "\n".join(lines) + "\n"
