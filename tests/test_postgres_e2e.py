"""The default bake on a real PostgreSQL (Debian's server, a private cluster on a free port): what teams deploy.

Migrate and serve under load, with the lean database metrics counting; a database
outage takes pods out of the Service (``/readyz`` 503) without restarting them
(``/healthz`` 200), its failed requests reach the SLO as 5xx and its failed
connections the DjangoDatabaseErrors series, and the service recovers on its own;
a hundred worker recycles leave no server connection behind.
"""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from tests.support.deployment import FAULTS_SETTINGS
from tests.support.environment import port_config, production_env
from tests.support.interfaces import INTERFACES
from tests.support.load import burst, get, get_json
from tests.support.metrics import responses, sample_value, scrape
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

# The chart's readiness probe period (deployment.yaml): an outage must show within one.
READINESS_PERIOD_SECONDS = 5


@pytest.fixture
def on_postgres(postgres, served, interface, baked_venv, gunicorn, request, tmp_path):
    """on_postgres(workers, **env): a fresh database, migrated by manage.py, served by gunicorn."""

    def start(workers: int, **env: str):
        # Within PostgreSQL's 63 bytes, and distinct for every parametrization of a test.
        digest = hashlib.sha1(request.node.name.encode()).hexdigest()[:8]
        name = request.node.name.lower().replace("[", "_").replace("]", "")[:40] + "_" + digest
        url = postgres.create_database(name)
        migrate_env = production_env(baked_venv, tmp_path, port_config(8000, range(9100, 9102)), DATABASE_URL=url)
        subprocess.run(
            [baked_venv / "bin/python", "manage.py", "migrate", "--noinput", "-v0"],
            cwd=served(interface),
            env=migrate_env,
            check=True,
            timeout=120,
        )
        service = gunicorn(workers, DATABASE_URL=url, DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS, **env)
        return service, name

    return start


def summed(service, name: str, **labels: str) -> float:
    return sum(sample_value(scrape(port), name, **labels) for port in service.metrics_ports)


@pytest.mark.parametrize("interface", INTERFACES)
def test_migrates_and_serves_under_load_with_bounded_connections(on_postgres, postgres, report, interface):
    service, database = on_postgres(3)
    assert burst(service.http_port, 600, "/__fault__/query", concurrency=12) == [200] * 600
    served = sum(responses(scrape(port), "fault-query", status="200") for port in service.metrics_ports)
    executed = summed(service, "django_db_execute_total", vendor="postgresql")
    opened = summed(service, "django_db_new_connections_total", vendor="postgresql")
    connections = postgres.client_connections(database)
    report(f"{interface}: 600 requests: {executed:.0f} statements, {opened:.0f} connections opened, {connections} held")
    assert served == 600
    assert executed >= 600
    if interface == "wsgi":  # persistent connections: each worker opened one and keeps it
        assert opened == 3 and connections == 3
    else:  # Django runs each ASGI request's sync code in a thread of its own: it opens and closes its own
        assert opened == 600
        wait_until(lambda: postgres.client_connections(database) == 0, timeout=10)


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_database_outage_makes_pods_unready_not_dead_and_they_recover_without_a_restart(
    on_postgres, postgres, report, interface
):
    service, _ = on_postgres(2)
    workers = sorted(service.worker_pids())
    assert burst(service.http_port, 20, "/__fault__/query") == [200] * 20
    assert get_json(service.http_port, "/readyz")[0] == 200
    postgres.stop()
    try:
        unready_after = wait_until(
            lambda: all(get_json(service.http_port, "/readyz")[0] == 503 for _ in range(4)),
            timeout=READINESS_PERIOD_SECONDS,
        )
        assert burst(service.http_port, 10, "/healthz") == [200] * 10  # liveness: no restart for a database blip
        assert burst(service.http_port, 10, "/__fault__/query") == [500] * 10
        failed = sum(responses(scrape(port), "fault-query", status="500") for port in service.metrics_ports)
        connection_errors = summed(service, "django_db_new_connection_errors_total", vendor="postgresql")
        query_errors = summed(service, "django_db_errors_total", vendor="postgresql")
    finally:
        postgres.start()
    ready_after = wait_until(
        lambda: all(get_json(service.http_port, "/readyz")[0] == 200 for _ in range(4)), timeout=30
    )
    assert burst(service.http_port, 20, "/__fault__/query") == [200] * 20
    report(
        f"{interface}: database stopped: /readyz 503 after {unready_after:.2f}s,"
        f" 10 requests counted as 500 ({failed:.0f}),"
        f" {connection_errors:.0f} failed connections and {query_errors:.0f} failed queries counted;"
        f" ready again {ready_after:.2f}s after it restarted, same workers"
    )
    assert failed == 10  # the SLO's availability SLI counts them
    assert connection_errors + query_errors >= 10  # what DjangoDatabaseErrors pages on
    assert sorted(service.worker_pids()) == workers


def test_a_hundred_worker_recycles_leave_no_server_connection_behind(on_postgres, postgres, report):
    service, database = on_postgres(2, GUNICORN_MAX_REQUESTS="1")  # every request recycles its worker
    statuses = [get(service.http_port, "/__fault__/query", timeout=30) for _ in range(100)]
    assert statuses == [200] * 100
    peak = postgres.client_connections(database)
    settled = wait_until(lambda: postgres.client_connections(database) <= 2, timeout=10)
    report(f"100 recycles: {peak} server connections right after, at most 2 within {settled:.2f}s")
    assert postgres.client_connections(database) <= 2
