"""The SLIs in PromQL for the report and the gate, in two forms.

``Recorded`` sums the chart's 5-minute records (a few series per service, whatever
the fleet's size): the default. ``Raw`` reads every target's request counters over
the whole window, as the chart's raw group does over 5 minutes (``_slo.tpl``'s
``errorsByVersion``; a template test compares them): for a history recorded before
the rules existed, at a cost that grows with targets and with the window.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.utils import floatToGoString

RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY_BUCKET = "django_http_requests_latency_seconds_by_view_method_bucket"
NOT_METRICS = 'view!="prometheus-django-metrics"'
TARGET = "namespace, job, instance, pod"
EVALUATIONS = "slo:evaluation:timestamp_seconds"


def _series(name: str, *matchers: str) -> str:
    return name + "{" + ", ".join(matchers) + "}"


def _summed(by: str, function: str, series: str, window: str) -> str:
    return f"sum by ({by}) ({function}({series}[{window}]))"


def bucket_label(threshold: float) -> str:
    """The latency bucket's ``le`` as the service's Python client spells it (1 is "1.0")."""
    label: str = floatToGoString(threshold)  # type: ignore[no-untyped-call]
    return label


def range_of(seconds: int) -> str:
    """A range one second short: Prometheus 2 includes a range's first instant (the chart does the same)."""
    return f"{seconds - 1}s"


@dataclass(frozen=True)
class Raw:
    """Every target's raw counters over the window: rates or increases, summed."""

    selector: str
    threshold: float

    def _requests_series(self, slo: str) -> str:
        if slo == "availability":
            return _series(RESPONSES, self.selector, NOT_METRICS)
        return _series(LATENCY_BUCKET, self.selector, NOT_METRICS, 'le="+Inf"')

    def failed_without_zero(self, slo: str, window: str, by: str, function: str) -> str:
        """Failed requests of ``slo``; nothing at all where there were no failures."""
        if slo == "availability":
            return _summed(by, function, _series(RESPONSES, self.selector, NOT_METRICS, 'status=~"5.."'), window)
        fast = _series(LATENCY_BUCKET, self.selector, NOT_METRICS, f'le="{bucket_label(self.threshold)}"')
        every = _summed(by, function, self._requests_series(slo), window)
        return f"(\n  {every}\n  -\n  {_summed(by, function, fast, window)}\n)"

    def failed(self, slo: str, window: str, by: str = "namespace, job", function: str = "increase") -> str:
        """Failed requests of ``slo``, summed by ``by``: zero, not nothing, until the first failure."""
        failed = self.failed_without_zero(slo, window, by, function)
        if slo == "availability":
            return f"(\n  {failed}\n  or\n  0 * {self.requests(slo, window, by, function)}\n)"
        return failed

    def requests(self, slo: str, window: str, by: str = "namespace, job", function: str = "increase") -> str:
        return _summed(by, function, self._requests_series(slo), window)

    def errors_by_version(self, slo: str, window: str, function: str, lookback: str, build_info: str) -> str:
        """Each target's failures joined with the version it reports, summed by version (0 for none)."""
        versions = f"max by ({TARGET}, version) (last_over_time({_series(build_info, self.selector)}[{lookback}]))"
        failed = self.failed_without_zero(slo, window, TARGET, function).replace("\n", "\n  ")
        return (
            f"sum by (namespace, job, version) (\n  (\n    {failed}\n    * on ({TARGET}) group_left (version)\n"
            f"    {versions}\n  )\n  or\n  0 * {versions}\n)"
        )


@dataclass(frozen=True)
class Recorded:
    """Sums of the chart's 5-minute records over the window: per second, times the evaluation interval."""

    selector: str

    def _sum(self, record: str, slo: str, window: str, by: str) -> str:
        series = _series(record, self.selector, 'slo="' + slo + '"')
        return f"sum by ({by}) (sum_over_time({series}[{window}]))"

    def failed(self, slo: str, window: str) -> str:
        """Failed requests per second summed over every evaluation in ``window``: times the interval, a count."""
        return self._sum("slo:sli_errors:rate5m", slo, window, "namespace, job")

    def failed_by(self, label: str, slo: str, window: str) -> str:
        """The same by ``version`` or ``view``."""
        return self._sum(f"slo:sli_errors_by_{label}:rate5m", slo, window, f"namespace, job, {label}")

    def requests(self, slo: str, window: str) -> str:
        return self._sum("slo:sli_requests:rate5m", slo, window, "namespace, job")

    def evaluations(self, window: str) -> dict[str, str]:
        """How many evaluations recorded in ``window``, the first and the last (one query each, so that
        none reads more than the one series): the interval, and since when the records exist."""
        series = f"{_series(EVALUATIONS, self.selector)}[{window}]"
        return {
            "count": f"count_over_time({series})",
            "first": f"min_over_time({series})",
            "last": f"max_over_time({series})",
        }
