from django.core.checks import run_checks
from django.test import override_settings

RANGE = range(9100, 9104)


def metrics_errors():
    return {error.id: error.msg for error in run_checks() if error.id.startswith("metrics.")}


def test_dev_style_settings_without_a_range_pass():
    assert metrics_errors() == {}


@override_settings(PROMETHEUS_METRICS_EXPORT_PORT_RANGE=RANGE, WEB_CONCURRENCY=4, HTTP_PORT=8000)
def test_consistent_production_settings_pass():
    assert metrics_errors() == {}


@override_settings(PROMETHEUS_METRICS_EXPORT_PORT_RANGE=RANGE, WEB_CONCURRENCY=4, HTTP_PORT=9102)
def test_http_port_inside_the_range_is_reported():
    assert "HTTP_PORT=9102 lies inside" in metrics_errors()["metrics.E001"]


@override_settings(PROMETHEUS_METRICS_EXPORT_PORT_RANGE=RANGE, WEB_CONCURRENCY=6, HTTP_PORT=8000)
def test_range_not_matching_worker_count_is_reported():
    expected = "PROMETHEUS_METRICS_EXPORT_PORT_RANGE has 4 ports but WEB_CONCURRENCY is 6"
    assert metrics_errors()["metrics.E002"] == expected


@override_settings(PROMETHEUS_METRICS_EXPORT_PORT_RANGE=range(9100, 9101), WEB_CONCURRENCY=4, HTTP_PORT=8000)
def test_aggregated_mode_with_one_port_passes(settings):
    settings.METRICS_MODE = "aggregated"
    assert metrics_errors() == {}
    settings.PROMETHEUS_METRICS_EXPORT_PORT_RANGE = RANGE
    expected = "PROMETHEUS_METRICS_EXPORT_PORT_RANGE has 4 ports but METRICS_MODE is aggregated"
    assert metrics_errors()["metrics.E002"] == expected


@override_settings(PROMETHEUS_METRICS_EXPORT_PORT=9100)
def test_single_shared_port_is_reported():
    assert "compete for one port" in metrics_errors()["metrics.E003"]


def test_stock_django_prometheus_app_config_is_reported(settings):
    from django.apps import apps
    from django_prometheus.apps import DjangoPrometheusConfig

    config = apps.get_app_config("django_prometheus")
    original = type(config)
    config.__class__ = DjangoPrometheusConfig
    try:
        assert "binds a metrics port in every process" in metrics_errors()["metrics.E004"]
    finally:
        config.__class__ = original


def test_settings_missed_by_an_early_import_are_reported(settings):
    settings.PROMETHEUS_LATENCY_BUCKETS = (0.1, 0.3, float("inf"))
    assert "imported before settings loaded" in metrics_errors()["metrics.E005"]


def test_latency_threshold_outside_the_buckets_is_reported(settings):
    settings.SLO_LATENCY_THRESHOLD_SECONDS = 0.3
    settings.PROMETHEUS_LATENCY_BUCKETS = (0.1, 0.5, float("inf"))
    assert "SLO_LATENCY_THRESHOLD_SECONDS=0.3 is not a bound" in metrics_errors()["metrics.E006"]


def test_fault_injection_is_reported_by_deploy_checks_only(settings):
    settings.FAULT_INJECTION_VIEWS = True
    assert "metrics.W001" not in metrics_errors()
    deploy = {message.id for message in run_checks(include_deployment_checks=True)}
    assert "metrics.W001" in deploy


@override_settings(PROMETHEUS_METRICS_EXPORT_PORT_RANGE=range(40000, 40004), WEB_CONCURRENCY=4, HTTP_PORT=8000)
def test_metrics_ports_among_the_ephemeral_ones_are_warned_about(monkeypatch):
    from service_runtime.request_metrics import checks

    monkeypatch.setattr(checks, "ephemeral_port_range", lambda: (32768, 60999))
    assert "overlap the kernel's ephemeral ports 32768..60999" in metrics_errors()["metrics.W002"]
    monkeypatch.setattr(checks, "ephemeral_port_range", lambda: (50000, 60999))
    assert "metrics.W002" not in metrics_errors()
