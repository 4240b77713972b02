from unittest import mock

import pytest
from django.db import OperationalError


def test_liveness_answers_any_host_without_the_database(client):
    # No django_db mark: pytest-django fails any query this test makes.
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_asks_the_database(client):
    response = client.get("/readyz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_readiness_fails_when_the_database_does_not_answer(client):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("gone")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "OperationalError"}


def test_other_hosts_are_still_refused_elsewhere(client):
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400


@pytest.mark.django_db
def test_probes_are_not_counted_in_request_metrics(client):
    from prometheus_client import REGISTRY

    def responses() -> float:  # summed over every status, view and method
        return sum(
            sample.value
            for metric in REGISTRY.collect()
            if metric.name == "django_http_responses_total_by_status_view_method"
            for sample in metric.samples
            if sample.name.endswith("_total")
        )

    before = responses()
    client.get("/healthz")
    client.get("/readyz")
    assert responses() == before
    client.get("/")
    assert responses() == before + 1


@pytest.mark.django_db
def test_readiness_reports_an_unserved_metrics_port(client, settings, tmp_path):
    from service_runtime.worker_slots.slots import report_problem

    settings.METRICS_SLOT_DIRECTORY, settings.METRICS_MODE = tmp_path, "per_worker"
    assert client.get("/readyz").status_code == 200
    report_problem(tmp_path, "slot-2", "metrics port 9102 on address 0.0.0.0 (slot-2) cannot be bound")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["metrics"] == ["metrics port 9102 on address 0.0.0.0 (slot-2) cannot be bound"]


@pytest.mark.django_db
def test_readiness_reports_unapplied_migrations(client, monkeypatch):
    from service_runtime.health import probes

    monkeypatch.setattr(probes, "_migrated", False)
    monkeypatch.setattr(probes.MigrationExecutor, "migration_plan", lambda self, targets: ["auth.0013", "admin.0004"])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "unapplied_migrations": 2}


@pytest.mark.django_db
def test_readiness_exports_unapplied_migrations_for_the_alert(client, monkeypatch):
    """DjangoMigrationsUnapplied reads django_migrations_unapplied_total: the probe keeps it current."""
    from prometheus_client import REGISTRY

    from service_runtime.health import probes

    def exported() -> float | None:
        return REGISTRY.get_sample_value("django_migrations_unapplied_total", {"connection": "default"})

    monkeypatch.setattr(probes, "_migrated", False)
    with monkeypatch.context() as patched:
        patched.setattr(probes.MigrationExecutor, "migration_plan", lambda self, targets: ["auth.0013"])
        client.get("/readyz")
        assert exported() == 1
    assert client.get("/readyz").status_code == 200
    assert exported() == 0
