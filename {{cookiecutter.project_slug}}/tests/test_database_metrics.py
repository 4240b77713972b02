"""The lean database engines count statements, errors and new connections, under django-prometheus' names.

On whichever database the suite runs: SQLite in memory, or PostgreSQL where DATABASE_URL names one (CI).
"""

import pytest
from django.db import DatabaseError, connection, connections
from prometheus_client import REGISTRY


def counted(name: str) -> float:
    """The sample summed over its label values for this database (errors carry a type label too)."""
    total = 0.0
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name and sample.labels.get("vendor") == connection.vendor:
                total += sample.value
    return total


@pytest.mark.django_db
def test_every_statement_and_every_failed_one_is_counted():
    assert connection.settings_dict["ENGINE"].startswith("service_runtime.database_metrics.backends.")
    executed, failed = counted("django_db_execute_total"), counted("django_db_errors_total")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE counted (x integer)")
        cursor.executemany("INSERT INTO counted VALUES (%s)", [(1,), (2,), (3,)])
        with pytest.raises(DatabaseError):
            cursor.execute("SELECT * FROM no_such_table")
    assert counted("django_db_execute_total") - executed == 5
    assert counted("django_db_errors_total") - failed == 1


@pytest.mark.django_db
def test_a_connection_that_cannot_be_made_is_counted(tmp_path):
    wrapper = connections.create_connection("default")
    # A file in a directory that does not exist, or a port nothing listens on.
    broken = {"NAME": str(tmp_path / "missing" / "db.sqlite3")} if connection.vendor == "sqlite" else {"PORT": "1"}
    wrapper.settings_dict = {**wrapper.settings_dict, **broken}
    opened, refused = counted("django_db_new_connections_total"), counted("django_db_new_connection_errors_total")
    with pytest.raises(DatabaseError):
        wrapper.ensure_connection()
    assert counted("django_db_new_connections_total") - opened == 1
    assert counted("django_db_new_connection_errors_total") - refused == 1
    wrapper.close()


@pytest.mark.django_db
def test_no_query_timing_in_the_lean_engine():
    """Per-query timing is the full engine's (METRICS_DATABASE=full): the lean one records no histogram."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert counted("django_db_query_duration_seconds_count") == 0
