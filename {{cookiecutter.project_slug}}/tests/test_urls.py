def test_index(client):
    assert client.get("/").json() == {"service": "{{ cookiecutter.project_slug }}", "status": "ok"}


def test_url_exporter_serves_metrics_where_enabled(client):
    client.get("/")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_responses_total_by_status_view_method_total{" in response.content


def test_url_exporter_is_absent_when_disabled(client, urls_with):
    urls_with(METRICS_URL_EXPORTER=False)
    assert client.get("/metrics").status_code == 404


def test_fault_views_are_absent_by_default(client):
    assert client.get("/__fault__/status/503").status_code == 404


def test_fault_views_exist_only_when_enabled(client, urls_with):
    urls_with(FAULT_INJECTION_VIEWS=True)
    assert client.get("/__fault__/status/503").status_code == 503
    assert client.get("/__fault__/status/200").status_code == 404
    assert client.get("/__fault__/sleep/1").status_code == 200
