"""Lean database metrics: Django database engines that count queries, errors and new connections.

On by default (``METRICS_DATABASE=lean``) for PostgreSQL and SQLite, under
django-prometheus' own names and labels, which the community Django dashboards
and the DjangoDatabaseErrors alert read: ``django_db_execute_total``,
``django_db_errors_total{type}``, ``django_db_new_connections_total`` and
``django_db_new_connection_errors_total``. Per-query timing
(``django_db_query_duration_seconds``) costs a timer and a histogram update per
query, so it stays in django-prometheus' own engines (``METRICS_DATABASE=full``).
"""
