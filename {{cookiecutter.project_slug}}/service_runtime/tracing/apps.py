"""Instruments Django and psycopg in a worker whose tracing started (gunicorn's post_fork), before middleware loads.

``ready()`` runs in every process that loads Django; only a worker that started
tracing instruments anything, so ``manage.py`` commands and the tests run untraced
and import no OpenTelemetry module.
"""

from django.apps import AppConfig
from django.conf import settings

from service_runtime.tracing import provider

# After the health probes: the kubelet's probes every few seconds are not worth a span each.
AFTER_MIDDLEWARE = "service_runtime.health.middleware.HealthProbeMiddleware"


class TracingConfig(AppConfig):
    name = "service_runtime.tracing"
    label = "service_runtime_tracing"  # not "tracing": the team may name its package so

    def ready(self) -> None:
        if provider.ACTIVE is None:
            return
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        middleware = list(settings.MIDDLEWARE)
        position = middleware.index(AFTER_MIDDLEWARE) + 1 if AFTER_MIDDLEWARE in middleware else 0
        tracer_provider = provider.ACTIVE.provider
        DjangoInstrumentor().instrument(tracer_provider=tracer_provider, middleware_position=position)
        PsycopgInstrumentor().instrument(tracer_provider=tracer_provider)
        # The instrumentation's middleware, behind the guard that keeps its faults from failing requests.
        from service_runtime.tracing.middleware import INSTRUMENTED, PATH

        settings.MIDDLEWARE = [PATH if entry == INSTRUMENTED else entry for entry in settings.MIDDLEWARE]
