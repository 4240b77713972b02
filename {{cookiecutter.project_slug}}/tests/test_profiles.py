"""The metrics profiles: which middlewares run, and what the lean one exports."""

import pytest
from django.conf import settings
from django.http import HttpResponse
from prometheus_client import REGISTRY

from service_runtime.request_metrics.lean import LeanMetrics, lean_metrics_middleware
from service_runtime.request_metrics.profiles import (
    instrumented_cache_backend,
    instrumented_database_engine,
    metrics_middleware,
)

# What the SLO rules and the dashboard read, by name and label names: both profiles export these.
SLO_SERIES = {
    "django_http_responses_total_by_status_view_method_total": {"status", "view", "method"},
    "django_http_requests_latency_seconds_by_view_method_bucket": {"view", "method", "le"},
    "django_http_requests_latency_seconds_by_view_method_count": {"view", "method"},
}


def exported() -> dict[str, set[str]]:
    return {sample.name: set(sample.labels) for metric in REGISTRY.collect() for sample in metric.samples}


def test_baked_profile_is_the_default():
    assert settings.METRICS_PROFILE == "{{ cookiecutter.metrics_profile }}"
    metrics = metrics_middleware(settings.METRICS_PROFILE)
    # Outermost but for the probes, so every answer counts as the client got it.
    assert settings.MIDDLEWARE[1 : 1 + len(metrics)] == list(metrics)
    # Innermost of all, the downtime drill (absent unless one runs), so it answers in place of the view.
    assert settings.MIDDLEWARE[-1] == "service_runtime.error_budget.drill.DowntimeDrillMiddleware"


def test_the_slo_series_are_exported_with_their_labels(client):
    client.get("/")
    series = exported()
    for name, labels in SLO_SERIES.items():
        assert name in series, name
        assert series[name] == labels, name


@pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own behaviour")
def test_lean_exports_none_of_the_per_request_extras(client):
    client.get("/")
    series = exported()
    for extra in (
        "django_http_requests_before_middlewares_total",
        "django_http_requests_total_by_method_total",
        "django_http_responses_body_total_bytes_bucket",
    ):
        assert extra not in series


@pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own behaviour")
def test_lean_counts_statuses_methods_and_unresolved_paths(client):
    def responses(**labels) -> float:
        return REGISTRY.get_sample_value("django_http_responses_total_by_status_view_method_total", labels) or 0

    before = responses(status="404", view="<unnamed view>", method="<invalid method>")
    client.generic("BREW", "/no-such-page")
    assert responses(status="404", view="<unnamed view>", method="<invalid method>") == before + 1
    index = responses(status="200", view="index", method="GET")
    client.get("/")
    client.get("/")
    assert responses(status="200", view="index", method="GET") == index + 2


@pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own behaviour")
def test_lean_reuses_label_children():
    recorder = lean_metrics_middleware(lambda request: None).recorder
    assert recorder.metrics is LeanMetrics.get_instance()
    child = recorder.metrics.responses_by_status_view_method.labels("200", "index", "GET")
    assert child is recorder.metrics.responses_by_status_view_method.labels("200", "index", "GET")


@pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own behaviour")
def test_made_up_methods_share_one_cached_series(rf):
    middleware = lean_metrics_middleware(lambda request: HttpResponse(status=404))
    for number in range(50):
        middleware(rf.generic(f"BREW{number}", "/no-such-page"))
    assert list(middleware.recorder.series) == [("<unnamed view>", "<invalid method>", 404, None)]


@pytest.mark.skipif(settings.METRICS_PROFILE != "lean", reason="the lean profile's own behaviour")
def test_lean_counts_exceptions_by_type_and_view(client, urls_with):
    urls_with(FAULT_INJECTION_VIEWS=True)
    labels = {"type": "Http404"}
    before = REGISTRY.get_sample_value("django_http_exceptions_total_by_type_total", labels) or 0
    client.get("/__fault__/status/200")  # the fault view raises Http404 for codes outside 5xx
    assert REGISTRY.get_sample_value("django_http_exceptions_total_by_type_total", labels) == before + 1
    assert REGISTRY.get_sample_value("django_http_exceptions_total_by_view_total", {"view": "fault-status"}) >= 1


ENGINES = {
    "postgresql-lean": (
        "django.db.backends.postgresql",
        "lean",
        "service_runtime.database_metrics.backends.postgresql",
    ),
    "sqlite-lean": ("django.db.backends.sqlite3", "lean", "service_runtime.database_metrics.backends.sqlite3"),
    "mysql-lean-keeps-djangos": ("django.db.backends.mysql", "lean", "django.db.backends.mysql"),
    "postgresql-full": ("django.db.backends.postgresql", "full", "django_prometheus.db.backends.postgresql"),
    "sqlite-full": ("django.db.backends.sqlite3", "full", "django_prometheus.db.backends.sqlite3"),
    "postgresql-off": ("django.db.backends.postgresql", "off", "django.db.backends.postgresql"),
}


@pytest.mark.parametrize(("engine", "level", "instrumented"), ENGINES.values(), ids=ENGINES.keys())
def test_database_metrics_wrap_the_engine(engine, level, instrumented):
    assert instrumented_database_engine(engine, level) == instrumented


def test_unknown_backends_are_refused_by_name():
    with pytest.raises(ValueError, match="no instrumented version of the database engine 'custom.db'"):
        instrumented_database_engine("custom.db", "full")
    with pytest.raises(ValueError, match="cache backend 'custom.Cache'"):
        instrumented_cache_backend("custom.Cache")
    assert instrumented_cache_backend("django.core.cache.backends.locmem.LocMemCache").startswith("django_prometheus.")


def test_database_metrics_are_lean_by_default_and_cache_metrics_opt_in(manage, production_env):
    code = "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CACHES['default']"
    code += "['BACKEND'])"
    vendor = "postgresql" if production_env.get("DATABASE_URL", "").startswith("postgres") else "sqlite3"
    default = manage("shell", "-c", code, env=production_env).stdout.split()
    assert default[-2:] == [
        f"service_runtime.database_metrics.backends.{vendor}",
        "django.core.cache.backends.locmem.LocMemCache",
    ]
    production_env.update(METRICS_DATABASE="full", METRICS_CACHE="true")
    instrumented = manage("shell", "-c", code, env=production_env).stdout.split()
    assert instrumented[-2:] == [
        f"django_prometheus.db.backends.{vendor}",
        "django_prometheus.cache.backends.locmem.LocMemCache",
    ]
    production_env.update(METRICS_DATABASE="off")
    assert manage("shell", "-c", code, env=production_env).stdout.split()[-2] == f"django.db.backends.{vendor}"
    production_env.update(METRICS_DATABASE="true")
    result = manage("check", env=production_env)
    assert "ImproperlyConfigured: METRICS_DATABASE='true' is not one of off, lean, full" in result.stderr


def test_profile_can_be_switched_by_environment(manage, production_env):
    production_env["METRICS_PROFILE"] = "full"
    code = "from django.conf import settings as s; print(s.MIDDLEWARE[3])"
    assert manage("shell", "-c", code, env=production_env).stdout.split()[-1] == (
        "service_runtime.request_metrics.full.FullAfterMiddleware"
    )
    production_env["METRICS_PROFILE"] = "tiny"
    result = manage("check", env=production_env)
    assert "ImproperlyConfigured: METRICS_PROFILE='tiny' is not one of lean, full" in result.stderr
