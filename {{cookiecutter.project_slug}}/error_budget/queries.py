"""The SLIs in PromQL, for the report's own queries: the chart's `_slo.tpl` says the same
(``__chart__.sliErrors`` and ``__chart__.sliRequests``; a template test compares them)."""

from __future__ import annotations

from prometheus_client.utils import floatToGoString

RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method"
NOT_METRICS = 'view!="prometheus-django-metrics"'


def _series(name: str, *matchers: str) -> str:
    return name + "{" + ", ".join(matchers) + "}"


def _summed(by: str, function: str, series: str, window: str) -> str:
    return f"sum by ({by}) ({function}({series}[{window}]))"


def failed(slo: str, selector: str, window: str, by: str, threshold: float, function: str = "rate") -> str:
    """Failed requests of ``slo`` (a rate or an increase over ``window``), summed by ``by``."""
    if slo == "availability":
        errors = _summed(by, function, _series(RESPONSES, selector, NOT_METRICS, 'status=~"5.."'), window)
        every = _summed(by, function, _series(RESPONSES, selector, NOT_METRICS), window)
        return f"(\n  {errors}\n  or\n  0 * {every}\n)"
    counted = _summed(by, function, _series(f"{LATENCY}_count", selector, NOT_METRICS), window)
    bound: str = floatToGoString(threshold)  # type: ignore[no-untyped-call]  # the client's own spelling of le
    fast = _series(f"{LATENCY}_bucket", selector, NOT_METRICS, f'le="{bound}"')
    return f"(\n  {counted}\n  -\n  {_summed(by, function, fast, window)}\n)"


def requests(slo: str, selector: str, window: str, by: str, function: str = "rate") -> str:
    """Requests ``slo`` counts, summed by ``by``."""
    name = RESPONSES if slo == "availability" else f"{LATENCY}_count"
    return _summed(by, function, _series(name, selector, NOT_METRICS), window)


TARGET = "namespace, job, instance, pod"


def spent_by_version(slo: str, selector: str, window: str, threshold: float, objective: float, build_info: str) -> str:
    """The share of the period's budget each version spent: the chart's ``slo:error_budget:spent_by_version``."""
    versions = f"max by ({TARGET}, version) (last_over_time({_series(build_info, selector)}[{window}]))"
    errors = failed(slo, selector, window, TARGET, threshold, "increase")
    total = requests(slo, selector, window, "namespace, job", "increase")
    return (
        f"sum by (namespace, job, version) (\n{errors}\n* on ({TARGET}) group_left (version)\n{versions}\n)\n"
        f"/ on (namespace, job) group_left ()\n(\n{total}\n* (1 - {objective * 100:g} / 100)\n)"
    )
