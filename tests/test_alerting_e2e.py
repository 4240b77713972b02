"""From a failing request to a person's pager: real gunicorn, Prometheus and Alertmanager.

Three releases of the default bake run side by side, each in its own namespace
and scraped by its own Prometheus with the chart's rules, all sending alerts to
one Alertmanager configured from the bake's chart/alerting/alertmanager.yml,
whose receivers point at a webhook in this test. One release serves healthy
traffic, one answers every request with a 500, one hangs every request past
GUNICORN_TIMEOUT. Only the chart values a user could set shorten the wait
(prometheusRule.pageFor, ticketFor and pageMinimumFailuresPerHour); the burn-rate windows are the chart's.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.support.alertmanager import ALERTMANAGER, MISSING, Alertmanager, Webhook
from tests.support.deployment import FAULTS_SETTINGS
from tests.support.load import Stream
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

# The low-traffic guard down to one failure an hour: the hanging release fails about one request a
# second, and waiting for ten would only slow the test (promtool tests hold the default guard).
SHORT_FOR = {"pageFor": "3s", "ticketFor": "6s", "pageMinimumFailuresPerHour": 1}
HANG_TIMEOUT_SECONDS = 1


@pytest.fixture
def alertmanager(served_project, tmp_path):
    """An Alertmanager running the baked routing, its receivers pointed at a local webhook."""
    if ALERTMANAGER is None:
        pytest.skip(MISSING)
    config = yaml.safe_load((served_project / "chart" / "alerting" / "alertmanager.yml").read_text())
    webhook = Webhook()
    for receiver in config["receivers"]:
        role = receiver["name"].rsplit("-", 1)[1]  # <chart>-page, <chart>-ticket
        for hook in receiver["webhook_configs"]:
            hook["url"] = webhook.url(f"/{role}")
    workdir = tmp_path / "alertmanager"
    workdir.mkdir()
    manager = Alertmanager(workdir, config)
    yield manager, webhook
    manager.stop()
    webhook.stop()


def notifications_for(webhook: Webhook, receiver: str, namespace: str) -> list[dict]:
    return [n for n in webhook.notifications(f"/{receiver}") if n["groupLabels"].get("namespace") == namespace]


def test_an_outage_pages_once_with_its_runbook_and_healthy_traffic_pages_nobody(deployed, alertmanager, report):
    manager, webhook = alertmanager
    common = {"rules": True, "alerts": SHORT_FOR, "alertmanager_port": manager.port}
    faults = {"DJANGO_SETTINGS_MODULE": FAULTS_SETTINGS}
    hang = {"config": {"GUNICORN_TIMEOUT": HANG_TIMEOUT_SECONDS}}
    with ThreadPoolExecutor(3) as pool:  # each waits for its own workers and Prometheus: in parallel
        healthy, errors, hangs = pool.map(
            lambda args: deployed(args[0], **args[1], **common),
            [
                (2, {"namespace": "healthy"}),
                (2, {"namespace": "errors", **faults}),
                (4, {"namespace": "hangs", **faults, **hang}),
            ],
        )
    outages = {"errors": errors, "hangs": hangs}
    paged_after: dict[str, float] = {}
    started = time.monotonic()

    def paged() -> bool:
        for namespace in outages:
            if namespace not in paged_after and notifications_for(webhook, "page", namespace):
                paged_after[namespace] = time.monotonic() - started
        return len(paged_after) == len(outages)

    def critical(namespace: str) -> set[str]:
        firing = f'ALERTS{{alertstate="firing", severity="critical", namespace="{namespace}"}}'
        return {r["metric"]["alertname"] for r in outages[namespace].prometheus.query(firing)}

    def paging_groups(namespace: str) -> list[set[str]]:
        """The page receiver's groups for ``namespace`` in Alertmanager, as sets of alert names."""
        return [
            {alert["labels"]["alertname"] for alert in group["alerts"]}
            for group in manager.groups()
            if group["receiver"]["name"].endswith("-page") and group["labels"].get("namespace") == namespace
        ]

    with (
        Stream(healthy.service.http_port, "/", concurrency=2, max_seconds=150) as good,
        Stream(errors.service.http_port, "/__fault__/status/500", concurrency=2, max_seconds=150) as failing,
        Stream(hangs.service.http_port, "/__fault__/sleep/10000", concurrency=4, max_seconds=150) as hanging,
    ):
        wait_until(paged, timeout=120, interval=0.5)
        # Every page-worthy alert Prometheus fires has reached Alertmanager, in one group per outage:
        # a second group would have meant a second page once its group_wait passed.
        for namespace in outages:
            wait_until(lambda ns=namespace: critical(ns) <= set().union(*paging_groups(ns)), timeout=30)
            assert len(paging_groups(namespace)) == 1, paging_groups(namespace)
        suppressed = {
            (a["labels"]["namespace"], a["labels"]["alertname"]): a["status"]
            for a in manager.alerts()
            if a["labels"]["alertname"].endswith("ErrorBudgetBurnSlow")
        }
        healthy_alerts = healthy.prometheus.query("ALERTS")

    report(
        f"paged after {paged_after['errors']:.0f} s (every request a 500: {failing.statuses}) and "
        f"{paged_after['hangs']:.0f} s (every request hanging past {HANG_TIMEOUT_SECONDS} s: {hanging.statuses}); "
        f"healthy {good.statuses}"
    )
    assert set(good.statuses) == {200} and healthy_alerts == []
    assert webhook.notifications("/ticket") == [], "tickets wait a minute, and the slow burns are inhibited"
    assert [n for r in ("page", "ticket") for n in notifications_for(webhook, r, "healthy")] == []
    for namespace, deployment in outages.items():
        (page,) = notifications_for(webhook, "page", namespace)
        assert page["status"] == "firing" and page["groupLabels"] == {"namespace": namespace, "job": deployment.job}
        by_name = {alert["labels"]["alertname"]: alert for alert in page["alerts"]}
        assert "AvailabilityErrorBudgetBurnFast" in by_name, by_name.keys()
        for name, alert in by_name.items():
            assert alert["labels"]["severity"] == "critical"
            assert alert["annotations"]["runbook_url"].endswith(f"/docs/runbooks/{name}.md")
            assert alert["annotations"]["dashboard_url"].endswith(f"var-namespace={namespace}&var-job={deployment.job}")
        # The slow burn of the same SLO fires too, and the page holds it back.
        status = suppressed[(namespace, "AvailabilityErrorBudgetBurnSlow")]
        assert status["state"] == "suppressed" and status["inhibitedBy"], status
