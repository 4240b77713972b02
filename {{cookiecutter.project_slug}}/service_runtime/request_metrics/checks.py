"""``manage.py check`` explains a metrics set-up that would silently break scraping."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from service_runtime.environment.ports import PER_WORKER, ephemeral_port_range, port_range_problems

# What Django passes a check: the apps to check, or None for all of them.
AppConfigs = Sequence[AppConfig] | None
APP_CONFIG = "service_runtime.request_metrics.apps.WorkerMetricsConfig"


@register(Tags.compatibility)
def check_metrics_port_range(app_configs: AppConfigs, **kwargs: Any) -> list[Error]:
    ports = getattr(settings, "PROMETHEUS_METRICS_EXPORT_PORT_RANGE", None)
    if ports is None:
        return []  # dev and test settings serve /metrics through a URL instead
    errors = [
        Error(problem, hint="Fix WEB_CONCURRENCY, METRICS_START_PORT or HTTP_PORT.", id="metrics.E001")
        for problem in port_range_problems(ports, getattr(settings, "HTTP_PORT", None))  # production sets it
    ]
    workers = getattr(settings, "WEB_CONCURRENCY", None)
    mode = getattr(settings, "METRICS_MODE", PER_WORKER)
    expected, why = (workers, f"WEB_CONCURRENCY is {workers}") if mode == PER_WORKER else (1, f"METRICS_MODE is {mode}")
    if not errors and len(ports) != expected:
        errors.append(
            Error(
                f"PROMETHEUS_METRICS_EXPORT_PORT_RANGE has {len(ports)} ports but {why}",
                hint="Build the range with metrics_port_range(): one port per worker slot, or one when aggregated.",
                id="metrics.E002",
            )
        )
    return errors


@register(Tags.compatibility)
def check_single_port_setting(app_configs: AppConfigs, **kwargs: Any) -> list[Error]:
    if getattr(settings, "PROMETHEUS_METRICS_EXPORT_PORT", None) is not None:
        return [
            Error(
                "PROMETHEUS_METRICS_EXPORT_PORT makes every worker compete for one port; only one would be scraped",
                hint="Remove it; PROMETHEUS_METRICS_EXPORT_PORT_RANGE gives each worker its own port.",
                id="metrics.E003",
            )
        ]
    return []


@register(Tags.compatibility)
def check_app_config(app_configs: AppConfigs, **kwargs: Any) -> list[Error]:
    config = apps.get_app_config("django_prometheus")
    if type(config).__module__ + "." + type(config).__qualname__ != APP_CONFIG:
        return [
            Error(
                "INSTALLED_APPS loads django_prometheus' own AppConfig, which binds a metrics port in every"
                " process, management commands included",
                hint=f"List {APP_CONFIG!r} instead of 'django_prometheus'.",
                id="metrics.E004",
            )
        ]
    return []


@register(Tags.compatibility)
def check_settings_reached_django_prometheus(app_configs: AppConfigs, **kwargs: Any) -> list[Error]:
    from django_prometheus import conf

    wanted = tuple(getattr(settings, "PROMETHEUS_LATENCY_BUCKETS", conf.PROMETHEUS_LATENCY_BUCKETS))
    if tuple(conf.PROMETHEUS_LATENCY_BUCKETS) != wanted:
        return [
            Error(
                "django_prometheus was imported before settings loaded, so it ignores PROMETHEUS_LATENCY_BUCKETS",
                hint="Do not import django_prometheus (or code that imports it) from settings or gunicorn.conf.py.",
                id="metrics.E005",
            )
        ]
    return []


@register(Tags.compatibility)
def check_latency_threshold_is_a_bucket(app_configs: AppConfigs, **kwargs: Any) -> list[Error]:
    threshold = getattr(settings, "SLO_LATENCY_THRESHOLD_SECONDS", None)
    buckets = getattr(settings, "PROMETHEUS_LATENCY_BUCKETS", ())
    if threshold is not None and float(threshold) not in buckets:
        return [
            Error(
                f"SLO_LATENCY_THRESHOLD_SECONDS={threshold} is not a bound of PROMETHEUS_LATENCY_BUCKETS {buckets}",
                hint="Build the buckets with latency_buckets(SLO_LATENCY_THRESHOLD_SECONDS).",
                id="metrics.E006",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_fault_injection_is_off(app_configs: AppConfigs, **kwargs: Any) -> list[Warning]:
    if getattr(settings, "FAULT_INJECTION_VIEWS", False):
        return [
            Warning(
                "FAULT_INJECTION_VIEWS is on: /__fault__/ answers with errors and delays on demand",
                hint="It exists for tests; unset FAULT_INJECTION_VIEWS.",
                id="metrics.W001",
            )
        ]
    return []


@register(Tags.compatibility)
def check_metrics_ports_outside_ephemeral_range(app_configs: AppConfigs, **kwargs: Any) -> list[Warning]:
    ports = getattr(settings, "PROMETHEUS_METRICS_EXPORT_PORT_RANGE", None)
    if not isinstance(ports, range) or not ports:
        return []
    low, high = ephemeral_port_range()
    if ports[-1] < low or ports[0] > high:
        return []
    return [
        Warning(
            f"metrics ports {ports[0]}..{ports[-1]} overlap the kernel's ephemeral ports {low}..{high}: an outgoing"
            " connection can take a worker's port, and a closed one blocks it for a minute",
            hint=f"Set METRICS_START_PORT so the range ends below {low}.",
            id="metrics.W002",
        )
    ]
