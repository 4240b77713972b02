"""The SLO rules as the chart wrote them before 2026-12-07, for the fleet benchmark to run beside its
rules: every window and the period a ratio of raw ``rate()``/``increase()`` over every target.

Written from the chart's own rendered rules (its selectors, its latency bound, its spend by release
over 5 minutes), their records renamed ``raw:...`` so both sets run in one Prometheus.
"""

from __future__ import annotations

import re

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
RESPONSES_RECORD = "namespace_job_view_status:django_http_responses:rate5m"
LATENCY_RECORD = "namespace_job_view_le:django_http_requests_latency_seconds_bucket:rate5m"


def _records(spec: dict) -> dict[tuple[str, str], str]:
    """(record, slo label or '') -> expression, from the chart's rendered groups."""
    return {
        (rule["record"], rule.get("labels", {}).get("slo", "")): rule["expr"]
        for group in spec["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def _raw_sli(spec: dict, slo: str, window: str, function: str = "rate") -> tuple[str, str]:
    """Failed and counted requests of ``slo`` over ``window``, from every target's raw series."""
    records = _records(spec)
    by_service = "sum by (namespace, job)"
    if slo == "availability":
        every = records[RESPONSES_RECORD, ""].replace("sum by (namespace, job, view, status)", by_service)
        failed = every.replace("}[5m]", ', status=~"5.."}[5m]')
    else:
        bound = re.search(r'le="([^+"][^"]*)"', records["slo:sli_errors:rate5m", "latency"]).group(1)
        buckets = records[LATENCY_RECORD, ""].replace("sum by (namespace, job, view, le)", by_service)
        every = buckets.replace("}[5m]", ', le="+Inf"}[5m]')
        fast = buckets.replace("}[5m]", ', le="' + bound + '"}[5m]')
        failed = f"({every} - {fast})"

    def over_window(text: str) -> str:
        return text.replace("[5m]", f"[{window}]").replace("(rate(", f"({function}(")

    return over_window(failed), over_window(every)


def groups(spec: dict, interval: str, period_interval: str, period: str, objectives: dict[str, float]) -> list[dict]:
    """The raw rules' two groups: the windows the alerts read, and the period's budget and spend."""
    windows, budget = [], []
    for slo, objective in objectives.items():
        for window in WINDOWS:
            failed, every = _raw_sli(spec, slo, window)
            availability_zero = f" or 0 * {every}" if slo == "availability" else ""
            expr = f"({failed}{availability_zero}) / {every}"
            windows.append({"record": f"raw:sli_error:ratio_rate{window}", "expr": expr, "labels": {"slo": slo}})
        failed, every = _raw_sli(spec, slo, period)
        budget.append(
            {"record": f"raw:sli_error:ratio_rate{period}", "expr": f"{failed} / {every}", "labels": {"slo": slo}}
        )
        by_version = _records(spec)["slo:sli_errors_by_version:rate5m", slo]
        by_version = (
            by_version.replace("[5m]", f"[{period}]").replace("[10m]", f"[{period}]").replace("(rate(", "(increase(")
        )
        _, total = _raw_sli(spec, slo, period, "increase")
        expr = f"{by_version} / on (namespace, job) group_left () ({total} * {1 - objective})"
        budget.append({"record": "raw:error_budget:spent_by_version", "expr": expr, "labels": {"slo": slo}})
    return [
        {"name": "raw-slo", "interval": interval, "rules": windows},
        {"name": "raw-slo-budget", "interval": period_interval, "rules": budget},
    ]
