"""What the error budget of each SLO is now, read from the chart's recording rules."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from error_budget.policy import Decision, decide
from error_budget.prometheus import Prometheus, PrometheusUnusable
from error_budget.queries import Raw, Recorded, range_of


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
    """One value per SLO of ``metric`` for the service; no data, or several services matched, is unusable."""
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
    objectives = by_slo(prometheus, "slo:objective:ratio", service)
    if raw:
        budgets = _raw_budgets(prometheus, service, objectives, period_days)
        return budgets, "Read from every target's raw request series (--raw)."
    remaining = by_slo(prometheus, "slo:error_budget:remaining", service)
    burn_1h = by_slo(prometheus, "slo:error_budget:burn_rate1h", service)
    burn_6h = by_slo(prometheus, "slo:error_budget:burn_rate6h", service)
    budgets = [
        BudgetNow(slo, objectives[slo], remaining[slo], burn_1h.get(slo, 0.0), burn_6h.get(slo, 0.0))
        for slo in sorted(objectives)
        if slo in remaining
    ]
    return budgets, _coverage_note(prometheus, service, period_days)


def evaluations(prometheus: Prometheus, queries: Recorded, window: str, end: float | None) -> dict[str, float]:
    """The records' evaluation count, first and last time in ``window``; an empty dict without records."""
    found = {}
    for name, expression in queries.evaluations(window).items():
        results = prometheus.query(expression, end)
        if results:
            found[name] = float(results[0]["value"][1])
    return found


def _coverage_note(prometheus: Prometheus, service: Service, period_days: int) -> str:
    """Says when the records span less than the period: the budget left is then over those days only."""
    found = evaluations(prometheus, Recorded(service.matchers()), range_of(period_days * 86400), None)
    count, first, last = found.get("count", 0.0), found.get("first", 0.0), found.get("last", 0.0)
    covered_days = (count * (last - first) / (count - 1) if count > 1 else 0.0) / 86400
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
        return float(ratio[0]["value"][1]) if ratio else 0.0

    budgets = []
    for slo, objective in sorted(objectives.items()):
        allowed = 1 - objective
        remaining = 1 - share(slo, f"{period_days}d") / allowed
        budgets.append(BudgetNow(slo, objective, remaining, share(slo, "1h") / allowed, share(slo, "6h") / allowed))
    return budgets
