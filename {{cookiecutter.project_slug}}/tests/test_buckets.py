from django.conf import settings

from service_runtime.request_metrics.buckets import DEFAULT_BOUNDS, latency_buckets


def test_threshold_becomes_a_bound_between_the_defaults():
    buckets = latency_buckets(0.3)
    assert 0.3 in buckets
    assert list(buckets) == sorted(buckets)
    assert set(DEFAULT_BOUNDS) <= set(buckets)
    assert buckets[-1] == float("inf")


def test_a_threshold_already_among_the_defaults_is_not_repeated():
    assert latency_buckets(0.25).count(0.25) == 1
    assert len(latency_buckets(0.25)) == len(DEFAULT_BOUNDS) + 1


def test_settings_histogram_has_the_baked_threshold():
    assert settings.SLO_LATENCY_THRESHOLD_SECONDS == {{ cookiecutter.slo_latency_threshold_seconds }}
    assert settings.SLO_LATENCY_THRESHOLD_SECONDS in settings.PROMETHEUS_LATENCY_BUCKETS


def test_exported_histogram_uses_the_settings_buckets(client):
    from prometheus_client import REGISTRY

    client.get("/")
    label = repr(float(settings.SLO_LATENCY_THRESHOLD_SECONDS))
    value = REGISTRY.get_sample_value(
        "django_http_requests_latency_seconds_by_view_method_bucket", {"view": "index", "method": "GET", "le": label}
    )
    assert value is not None and value >= 1
