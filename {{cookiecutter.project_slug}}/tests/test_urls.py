import importlib

from django.test import override_settings
from django.urls import clear_url_caches


def reload_urls():
    clear_url_caches()
    import config.urls

    importlib.reload(config.urls)


def test_index(client):
    assert client.get("/").json() == {"service": "{{ cookiecutter.project_slug }}", "status": "ok"}


def test_url_exporter_serves_metrics_where_enabled(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_before_middlewares_total" in response.content


def test_url_exporter_is_absent_when_disabled(client):
    try:
        with override_settings(METRICS_URL_EXPORTER=False):
            reload_urls()
            assert client.get("/metrics").status_code == 404
    finally:
        reload_urls()


def test_fault_views_exist_only_when_enabled(client):
    assert client.get("/__fault__/status/503").status_code == 404
    try:
        with override_settings(FAULT_INJECTION_VIEWS=True):
            reload_urls()
            assert client.get("/__fault__/status/503").status_code == 503
            assert client.get("/__fault__/status/200").status_code == 404
            assert client.get("/__fault__/sleep/1").status_code == 200
    finally:
        reload_urls()
