"""django-prometheus, minus the port binding at app load.

The stock ``DjangoPrometheusConfig.ready()`` binds a metrics port in every
process that loads Django: ``manage.py migrate``, ``shell`` or ``check`` run in
the same container would take a worker's port (django-prometheus issue #66).
Here ``ready()`` binds nothing; gunicorn's ``post_worker_init`` hook starts the
exporter, so only workers ever hold a metrics port.
"""

from django.conf import settings
from django_prometheus.apps import DjangoPrometheusConfig
from django_prometheus.migrations import ExportMigrations


class WorkerMetricsConfig(DjangoPrometheusConfig):  # type: ignore[misc]  # django-prometheus is untyped
    label = "django_prometheus"

    def ready(self) -> None:
        if getattr(settings, "PROMETHEUS_EXPORT_MIGRATIONS", False):
            ExportMigrations()
