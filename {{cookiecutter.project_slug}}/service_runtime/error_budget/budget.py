"""What the error budget of each SLO is now, read from the chart's recording rules."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings

from service_runtime.error_budget.policy import Decision, decide
from service_runtime.error_budget.prometheus import Prometheus, PrometheusUnusable
from service_runtime.error_budget.queries import Raw, Recorded, range_of


@dataclass(frozen=True)
class Service:
    """Which series are the service's: the job (the release's full name) and, if given, the namespace."""

    job: str
    namespace: str = ""

    def matchers(self, **more: str) -> str:
        """The service's label matchers (and ``more``), comma-separated, without braces."""
        labels = {"job": self.job, **({"namespace": self.namespace} if self.namespace else {}), **more}
        return ", ".join(f'{name}="{value}"' for name, value in labels.items())

    def selector(self, **more: str) -> str:
        return "{" + self.matchers(**more) + "}"

    def describe(self) -> str:
        return self.selector()


@dataclass(frozen=True)
class BudgetNow:
    slo: str
    objective: float  # a ratio, 0.999
    remaining: float
    burn_rate_1h: float
    burn_rate_6h: float

    @property
    def decision(self) -> Decision:
        return decide(self.remaining, self.burn_rate_1h, self.burn_rate_6h)


def by_slo(prometheus: Prometheus, metric: str, service: Service) -> dict[str, float]:
    """One value per SLO of ``metric`` for the service; no data, or several services matched, is unusable.
    A value may be NaN or infinite here: the caller says which figures must be finite."""
    results = prometheus.query(f"{metric}{service.selector()}")
    if not results:
        raise PrometheusUnusable(
            f"Prometheus at {prometheus.url} has no data for {metric}{service.selector()}: are the chart's"
            " SLO rules loaded there, and the service scraped?"
        )
    values: dict[str, float] = {}
    for result in results:
        slo = result["metric"].get("slo", "")
        if slo in values:
            raise PrometheusUnusable(
                f"{metric}{service.selector()} matches several services at {prometheus.url}: pass --namespace"
            )
        values[slo] = float(result["value"][1])
    return values


def budgets_now(
    prometheus: Prometheus, service: Service, period_days: int, raw: bool = False
) -> tuple[list[BudgetNow], str]:
    """Each SLO's budget now, and a line saying what it was read from and over how much of the period."""
    objectives = objectives_of(prometheus, service)
    if raw:
        budgets = _raw_budgets(prometheus, service, objectives, period_days)
        return budgets, "Read from every target's raw request series (--raw)."
    remaining = _for_every_slo(
        objectives, "slo:error_budget:remaining", by_slo(prometheus, "slo:error_budget:remaining", service)
    )
    burn_1h = _burn_rates(
        objectives, "slo:error_budget:burn_rate1h", by_slo(prometheus, "slo:error_budget:burn_rate1h", service)
    )
    burn_6h = _burn_rates(
        objectives, "slo:error_budget:burn_rate6h", by_slo(prometheus, "slo:error_budget:burn_rate6h", service)
    )
    budgets = [
        BudgetNow(slo, objectives[slo], remaining[slo], burn_1h[slo], burn_6h[slo]) for slo in sorted(objectives)
    ]
    return budgets, _coverage_note(prometheus, service, period_days)


def objectives_of(prometheus: Prometheus, service: Service) -> dict[str, float]:
    """Each SLO's objective, a ratio strictly between 0 and 1: anything else cannot make a budget."""
    objectives = by_slo(prometheus, "slo:objective:ratio", service)
    for slo, objective in objectives.items():
        if not 0 < objective < 1:
            raise PrometheusUnusable(
                f"slo:objective:ratio for {slo} is {objective:g} at {prometheus.url}: an objective is a ratio"
                " between 0 and 1, exclusive (the chart's slo values)"
            )
    return objectives


def _for_every_slo(objectives: dict[str, float], metric: str, values: dict[str, float]) -> dict[str, float]:
    """``values`` when it holds a finite figure for every SLO; the gate decides on nothing less."""
    for slo in sorted(objectives):
        if slo not in values:
            raise PrometheusUnusable(f"{metric} has no value for the {slo} SLO: the gate cannot decide on part of them")
        if not math.isfinite(values[slo]):
            raise PrometheusUnusable(
                f"{metric} for the {slo} SLO is {values[slo]}: no requests in the period, or no records yet;"
                " the gate cannot decide"
            )
    return values


def _burn_rates(objectives: dict[str, float], metric: str, values: dict[str, float]) -> dict[str, float]:
    """Burn rates for every SLO; NaN (no request at all in the window: 0 of 0 failed) burns nothing."""
    quiet = {slo: 0.0 for slo, value in values.items() if math.isnan(value)}
    return _for_every_slo(objectives, metric, {**values, **quiet})


@dataclass(frozen=True)
class Coverage:
    """The records' evaluations in the period: their interval, and how much of the period they span."""

    evaluations: int
    first: float
    last: float

    @property
    def interval(self) -> float:
        return (self.last - self.first) / (self.evaluations - 1) if self.evaluations > 1 else 0.0

    @property
    def seconds(self) -> float:
        return self.evaluations * self.interval


def evaluations(prometheus: Prometheus, queries: Recorded, window: str, end: float | None) -> Coverage | None:
    """The records' evaluations in ``window`` (count, first and last time), or None without records."""
    found = {}
    for name, expression in queries.evaluations(window).items():
        results = prometheus.query(expression, end)
        if results:
            found[name] = float(results[0]["value"][1])
    if not found.get("count"):
        return None
    return Coverage(int(found["count"]), found.get("first", 0.0), found.get("last", 0.0))


def _coverage_note(prometheus: Prometheus, service: Service, period_days: int) -> str:
    """Says when the records span less than the period: the budget left is then over those days only."""
    coverage = evaluations(prometheus, Recorded(service.matchers()), range_of(period_days * 86400), None)
    covered_days = coverage.seconds / 86400 if coverage is not None else 0.0
    if covered_days < period_days * 0.99:
        return (
            f"The SLO records cover only the last {covered_days:.1f} of the {period_days} days: the budget left is"
            " over those days. --raw reads the raw request series, where they are older than the records."
        )
    return f"Read from the chart's 5-minute SLO records, over the whole {period_days}-day period."


def _raw_budgets(
    prometheus: Prometheus, service: Service, objectives: dict[str, float], period_days: int
) -> list[BudgetNow]:
    queries = Raw(service.matchers(), settings.SLO_LATENCY_THRESHOLD_SECONDS)

    def share(slo: str, window: str) -> float:
        ratio = prometheus.query(f"{queries.failed(slo, window)}\n/\n{queries.requests(slo, window)}")
        return float(ratio[0]["value"][1]) if ratio else math.nan

    budgets = []
    for slo, objective in sorted(objectives.items()):
        allowed = 1 - objective
        remaining = _for_every_slo(
            {slo: objective}, "the raw budget left", {slo: 1 - share(slo, f"{period_days}d") / allowed}
        )
        burn_1h, burn_6h = (share(slo, window) / allowed for window in ("1h", "6h"))
        burns = {
            name: _burn_rates({slo: objective}, name, {slo: value})
            for name, value in (("1h", burn_1h), ("6h", burn_6h))
        }
        budgets.append(BudgetNow(slo, objective, remaining[slo], burns["1h"][slo], burns["6h"][slo]))
    return budgets
