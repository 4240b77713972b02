"""What the error budget of each SLO is now, read from the chart's recording rules."""

from __future__ import annotations

from dataclasses import dataclass

from error_budget.policy import Decision, decide
from error_budget.prometheus import Prometheus, PrometheusUnusable


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


def budgets_now(prometheus: Prometheus, service: Service) -> list[BudgetNow]:
    objectives = by_slo(prometheus, "slo:objective:ratio", service)
    remaining = by_slo(prometheus, "slo:error_budget:remaining", service)
    burn_1h = by_slo(prometheus, "slo:error_budget:burn_rate1h", service)
    burn_6h = by_slo(prometheus, "slo:error_budget:burn_rate6h", service)
    return [
        BudgetNow(slo, objectives[slo], remaining[slo], burn_1h.get(slo, 0.0), burn_6h.get(slo, 0.0))
        for slo in sorted(objectives)
        if slo in remaining
    ]
