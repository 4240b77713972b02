"""The chart's SLO rules in a real Prometheus, watching a live service fail on purpose.

Clean traffic first, then a share of 5xx from the test-only fault views (which
production never routes: the chart refuses FAULT_INJECTION_VIEWS and
`check --deploy` reports it). The burn rate must rise past the paging
threshold, the budget must fall below zero, and the numbers must match what
the load generator saw. The dashboard's queries run against the same server.
"""

from __future__ import annotations

import contextlib
import json
import re
import time

import pytest

from tests.support.deployment import FAULTS_SETTINGS
from tests.support.load import Stream
from tests.support.manifests import dashboard_configmap, one
from tests.support.promql import grafana_query
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

AVAILABILITY = 'slo="availability"'


def test_burn_rate_rises_and_budget_falls_when_requests_fail(deployed, report):
    d = deployed(3, rules=True, DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    port = d.service.http_port
    remaining = f"slo:error_budget:remaining{{{AVAILABILITY}}}"
    burn = f"slo:error_budget:burn_rate1h{{{AVAILABILITY}}}"

    with Stream(port, concurrency=4, max_seconds=4) as clean:
        time.sleep(4)
    d.prometheus.wait_for(remaining, lambda v: v == 1, timeout=20)
    burn_before = d.prometheus.scalar(burn)

    with (
        Stream(port, concurrency=4, max_seconds=8) as good,
        Stream(port, "/__fault__/status/503", concurrency=1, max_seconds=8) as bad,
    ):
        time.sleep(8)
    served = clean.statuses[200] + good.statuses[200]
    failed = bad.statuses[503]
    share = failed / (served + failed)
    budget = 1 - 99.9 / 100 if "(1 - 99.9 / 100)" in json.dumps(one(d.docs, "PrometheusRule")) else None
    assert budget is not None, "the default bake's objective is 99.9"

    # Wait for the rules to see everything the load generator sent.
    total = 'sum(django_http_responses_total_by_status_view_method_total{view!="prometheus-django-metrics"})'
    d.prometheus.wait_for(total, lambda v: v == served + failed, timeout=20)
    time.sleep(3)  # a few rule evaluations on the complete data
    burn_after = d.prometheus.scalar(burn)
    remaining_after = d.prometheus.scalar(remaining)
    ratio = d.prometheus.scalar(f"slo:sli_error:ratio_rate1h{{{AVAILABILITY}}}")
    pending = d.prometheus.query('ALERTS{alertname="AvailabilityErrorBudgetBurnFast"}')
    report(
        f"{served} good + {failed} failed requests (share {share:.4f}); burn rate 1h {burn_before:.2f} -> "
        f"{burn_after:.1f} (expected about {share / budget:.1f}); budget remaining 1 -> {remaining_after:.1f}; "
        f"fast-burn alert {[a['metric']['alertstate'] for a in pending]}"
    )
    assert burn_before == 0
    assert burn_after > 14.4, "above the fast-burn page threshold"
    assert remaining_after < 0, "overspent"
    # Rates extrapolate a little at the edges of a short history; the ratio must still be the share sent.
    assert ratio == pytest.approx(share, rel=0.25)
    # The budget left is the period's ratio against the budget, in one evaluation of its group (one query:
    # the 1h ratio above comes from another group, evaluated at another moment of a history still moving).
    period = f"slo:sli_error:ratio_rate30d{{{AVAILABILITY}}}"
    assert d.prometheus.scalar(period) == pytest.approx(share, rel=0.25)
    assert d.prometheus.scalar(f"abs({remaining} - (1 - {period} / {budget!r}))") < 1e-9
    assert [alert["metric"]["alertstate"] for alert in pending] in (["pending"], ["firing"])
    assert pending[0]["metric"]["severity"] == "critical"


def test_latency_rules_count_a_bucket_the_service_exports(deployed):
    d = deployed(1, rules=True)
    with Stream(d.service.http_port, concurrency=2, max_seconds=2):
        time.sleep(2)
    (label,) = set(re.findall(r'le=\\"([^"\\]+)\\"', json.dumps(one(d.docs, "PrometheusRule")))) - {"+Inf"}
    exported = f'count(django_http_requests_latency_seconds_by_view_method_bucket{{job="{d.job}", le="{label}"}})'
    d.prometheus.wait_for(exported, lambda v: v is not None and v > 0, timeout=15)
    d.prometheus.wait_for('slo:sli_error:ratio_rate5m{slo="latency"}', lambda v: v is not None, timeout=15)


def test_every_dashboard_query_runs_on_the_live_server(deployed, report):
    d = deployed(2, rules=True)
    with Stream(d.service.http_port, concurrency=2, max_seconds=3):
        time.sleep(3)
    dashboard = json.loads(dashboard_configmap(d.docs)["data"]["slo.json"])
    needed = (
        "Availability budget remaining",
        "Latency budget remaining",
        "Objectives",
        "Burn rate",
        "Request rate by view",
        "Latency",
        "Metrics targets up per pod",
    )
    answered: dict[str, int] = {}

    def every_needed_panel_answers() -> bool:
        # Each rule group runs on its own schedule: a panel's records appear within an evaluation or two.
        answered.clear()
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                query = grafana_query(target["expr"], "e2e", d.job, rate_interval="30s")
                answered[panel["title"]] = answered.get(panel["title"], 0) + len(d.prometheus.query(query))
        return all(answered[title] for title in needed)

    with contextlib.suppress(TimeoutError):
        wait_until(every_needed_panel_answers, timeout=20, interval=0.5)
    report(f"dashboard panels with data: {sum(1 for n in answered.values() if n)} of {len(answered)}")
    for title in needed:
        assert answered[title] > 0, f"panel {title!r} shows no data"
