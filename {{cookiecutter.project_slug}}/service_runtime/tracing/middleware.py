"""OpenTelemetry's Django middleware behind a guard: a tracing fault costs the request its span, never the request.

The instrumentation's middleware runs in front of the metrics middleware, so an
exception of its own (a setting the SDK mishandles, a bug) would answer 500 to
every request and leave none counted. Here any such fault is caught, logged once,
named in /readyz, and the request goes on untraced.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

from service_runtime.tracing import provider

logger = logging.getLogger(__name__)
PATH = f"{__name__}.GuardedTracingMiddleware"
# What the instrumentation puts into MIDDLEWARE, replaced there by PATH.
INSTRUMENTED = f"{_DjangoMiddleware.__module__}.{_DjangoMiddleware.__qualname__}"


def _fault(step: str, error: Exception) -> None:
    state = provider.ACTIVE.state if provider.ACTIVE is not None else None
    if state is None or state.middleware_fault is None:
        message = f"OpenTelemetry's Django middleware failed in {step} ({type(error).__name__}: {error})"
        if state is not None:
            state.middleware_fault = message
        logger.warning("%s; logged once: requests are served and counted, untraced", message)


class GuardedTracingMiddleware(_DjangoMiddleware):
    def process_request(self, request: HttpRequest) -> Any:
        try:
            return super().process_request(request)  # type: ignore[no-untyped-call]
        except Exception as error:  # a tracing fault never fails a request
            _fault("process_request", error)
            return None

    def process_view(self, request: HttpRequest, *args: Any) -> Any:
        try:
            return super().process_view(request, *args)  # type: ignore[no-untyped-call]
        except Exception as error:
            _fault("process_view", error)
            return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        try:
            return super().process_exception(request, exception)  # type: ignore[no-untyped-call]
        except Exception as error:
            _fault("process_exception", error)
            return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)  # type: ignore[no-untyped-call,no-any-return]
        except Exception as error:
            _fault("process_response", error)
            return response
