"""The middlewares under Django's ASGI handler, as an ASGI worker runs them: no thread hop, the same counts.

Run in either bake: Django builds an async stack for its ASGI handler whatever the interface baked.
"""

import time

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient, RequestFactory, override_settings
from prometheus_client import REGISTRY

from service_runtime.error_budget.drill import DowntimeDrillMiddleware, Drill
from service_runtime.health.middleware import HealthProbeMiddleware
from service_runtime.request_metrics.inflight import InFlightMiddleware
from service_runtime.request_metrics.lean import lean_metrics_middleware
from service_runtime.serving.deadline import RequestDeadlineMiddleware
from service_runtime.serving.static_files import StaticFilesMiddleware

RESPONSES = "django_http_responses_total_by_status_view_method_total"


def responses(**labels: str) -> float:
    return REGISTRY.get_sample_value(RESPONSES, labels) or 0.0


async def view(request: object) -> None:
    return None


@pytest.mark.parametrize(
    "middleware",
    [
        HealthProbeMiddleware,
        lean_metrics_middleware,
        InFlightMiddleware,
        StaticFilesMiddleware,
        RequestDeadlineMiddleware,
    ],
)
def test_the_runtimes_middlewares_are_async_under_an_async_stack(middleware):
    if middleware is lean_metrics_middleware and settings.METRICS_PROFILE != "lean":
        pytest.skip("the lean profile's own middleware: its metrics would clash with django-prometheus' here")
    assert getattr(middleware, "async_capable", False) and getattr(middleware, "sync_capable", True)
    built = middleware(view)
    assert iscoroutinefunction(built)
    # Django's async handler runs a sync process_view through a thread: one hop per request.
    hook = getattr(built, "process_view", None)
    assert hook is None or iscoroutinefunction(hook)


def test_a_drill_under_an_async_stack_answers_without_a_thread():
    """The drill's middleware, when a drill runs, is async too: its process_view a coroutine."""
    with override_settings(DOWNTIME_DRILL=Drill(1.0, time.time() + 3600)):
        middleware = DowntimeDrillMiddleware(view)
    assert iscoroutinefunction(middleware) and iscoroutinefunction(middleware.process_view)
    request = RequestFactory().get("/")
    assert async_to_sync(middleware.process_view)(request, view, (), {}).status_code == 503


def test_no_middleware_of_the_stack_needs_adapting_for_an_asgi_request(caplog):
    """Django logs each sync-only middleware it adapts for an async stack, a thread hop around all of
    the stack inside it; none may be (tracing off)."""
    with caplog.at_level("DEBUG", logger="django.request"):
        ASGIHandler()
    adapted = [record.getMessage() for record in caplog.records if "adapted for" in record.getMessage()]
    assert adapted == []


@pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own middleware")
def test_an_async_request_is_counted_with_its_view():
    before = responses(status="200", view="index", method="GET")
    response = async_to_sync(AsyncClient().get)("/")
    assert response.status_code == 200
    assert responses(status="200", view="index", method="GET") == before + 1


@pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own middleware")
def test_an_async_request_counts_its_transport_only_when_it_reached_a_view():
    """As django-prometheus counts it: a request by view and transport once its view resolved."""
    name = "django_http_requests_total_by_view_transport_method_total"

    def counted(view: str, transport: str) -> float:
        return REGISTRY.get_sample_value(name, {"view": view, "transport": transport, "method": "GET"}) or 0.0

    before = counted("index", "http"), counted("index", "https"), counted("<unnamed view>", "http")
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        client = AsyncClient()  # its handler loads the middlewares, and they the header, at its first request
        assert async_to_sync(client.get)("/").status_code == 200
        assert async_to_sync(client.get)("/", headers={"x-forwarded-proto": "https"}).status_code == 200
        assert async_to_sync(client.get)("/no-such-page/").status_code == 404
    after = counted("index", "http"), counted("index", "https"), counted("<unnamed view>", "http")
    assert after == (before[0] + 1, before[1] + 1, before[2])


@pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own middleware")
def test_a_request_past_its_deadline_is_answered_504_and_counted_once(urls_with):
    urls_with(FAULT_INJECTION_VIEWS=True)
    before = responses(status="504", view="fault-await", method="GET")
    with override_settings(REQUEST_DEADLINE_SECONDS=0.05):
        response = async_to_sync(AsyncClient().get)("/__fault__/await/2000")
    assert response.status_code == 504
    assert responses(status="504", view="fault-await", method="GET") == before + 1
