"""Liveness and readiness answers for the kubelet.

Liveness says only that the worker answers: a restart would not bring a database
back. Readiness also asks the database, its migrations and every metrics port
(a port held by another process leaves requests uncounted). A slot file fault
(``metrics_degraded``) or a silent trace collector (``tracing_degraded``) is
named and stays 200: taking every pod out of the Service over metrics or traces
would turn their fault into an outage.
"""

from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_prometheus.migrations import unapplied_migrations as unapplied_migrations_gauge

from service_runtime.environment.ports import AGGREGATED
from service_runtime.tracing import provider as tracing
from service_runtime.worker_slots.slots import degraded_notes, metrics_problems
from service_runtime.worker_slots.values import FAULTS

_migrated = False  # once every migration is applied, it stays so for the life of the process


def unapplied_migrations() -> int:
    """How many migrations the database still lacks (0 once seen complete: no more disk reads).

    Also exported as django-prometheus' ``django_migrations_unapplied_total``, which the
    DjangoMigrationsUnapplied alert reads: a pod kept out of the Service by this probe
    is a stuck rollout, and only the metric tells anyone.
    """
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connections["default"])
        count = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        _migrated = count == 0
        unapplied_migrations_gauge.labels("default").set(count)
        return count
    return 0


def liveness(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readiness(request: HttpRequest) -> HttpResponse:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        unapplied = unapplied_migrations()
    except DatabaseError as error:
        return JsonResponse({"status": "unavailable", "database": type(error).__name__}, status=503)
    if unapplied:
        # Serving against an older schema fails requests at random; keep the pod out until migrate ran.
        return JsonResponse({"status": "unavailable", "database": "ok", "unapplied_migrations": unapplied}, status=503)
    answer: dict[str, object] = {"status": "ok", "database": "ok"}
    directory = getattr(settings, "METRICS_SLOT_DIRECTORY", None)
    if directory is not None:  # only under gunicorn's production settings
        problems = metrics_problems(directory, aggregated=getattr(settings, "METRICS_MODE", None) == AGGREGATED)
        if problems:
            return JsonResponse({"status": "unavailable", "database": "ok", "metrics": problems}, status=503)
        degraded = metrics_degraded(directory)
        if degraded:
            answer["metrics_degraded"] = degraded
    tracing_problem = tracing.ACTIVE.state.problem() if tracing.ACTIVE is not None else None
    if tracing_problem:
        answer["tracing_degraded"] = tracing_problem
    return JsonResponse(answer)


def metrics_degraded(directory: Path) -> list[str]:
    """Slot file faults: noted on disk by any worker, and this worker's own in case the disk refused the note."""
    notes = degraded_notes(directory)
    notes += [f"metrics file {name} failed ({cause})" for name, cause in FAULTS.items() if name not in str(notes)]
    return notes
