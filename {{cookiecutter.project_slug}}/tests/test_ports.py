import pytest
from django.core.exceptions import ImproperlyConfigured

from service_runtime.environment.ports import (
    bind_address,
    gunicorn_bind,
    http_port,
    metrics_mode,
    metrics_port_range,
    port_range_problems,
)


def test_one_port_per_worker_from_the_start_port():
    environ = {"WEB_CONCURRENCY": "4", "METRICS_START_PORT": "9100", "HTTP_PORT": "8000", "METRICS_MODE": "per_worker"}
    ports = metrics_port_range(environ)
    assert list(ports) == [9100, 9101, 9102, 9103]


def test_aggregated_mode_uses_the_start_port_alone():
    environ = {"WEB_CONCURRENCY": "4", "METRICS_START_PORT": "9100", "HTTP_PORT": "8000", "METRICS_MODE": "aggregated"}
    assert list(metrics_port_range(environ)) == [9100]
    assert metrics_mode(environ) == "aggregated"


def test_mode_defaults_to_the_baked_mode_and_refuses_others():
    assert metrics_mode({}) == "{{ cookiecutter.metrics_mode }}"
    with pytest.raises(ImproperlyConfigured) as raised:
        metrics_mode({"METRICS_MODE": "per_pod"})
    assert str(raised.value) == "METRICS_MODE='per_pod' is not one of per_worker, aggregated"


def test_http_port_defaults_to_the_baked_port():
    assert http_port({}) == {{ cookiecutter.http_port }}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"METRICS_START_PORT": "9100"}, "WEB_CONCURRENCY is not set"),
        ({"WEB_CONCURRENCY": "4"}, "METRICS_START_PORT is not set"),
        ({"WEB_CONCURRENCY": "four", "METRICS_START_PORT": "9100"}, "WEB_CONCURRENCY='four' is not a whole number"),
        ({"WEB_CONCURRENCY": "0", "METRICS_START_PORT": "9100"}, "WEB_CONCURRENCY='0' is out of range"),
        ({"WEB_CONCURRENCY": "4", "METRICS_START_PORT": "80"}, "METRICS_START_PORT='80' is out of range"),
        ({"WEB_CONCURRENCY": "4", "METRICS_START_PORT": "9100", "HTTP_PORT": "x"}, "HTTP_PORT='x' is not"),
        (
            {"WEB_CONCURRENCY": "8", "METRICS_START_PORT": "65530", "METRICS_MODE": "per_worker"},
            "METRICS_START_PORT=65530 with WEB_CONCURRENCY=8: metrics ports 65530..65537 leave",
        ),
        (
            {"WEB_CONCURRENCY": "4", "METRICS_START_PORT": "7999", "HTTP_PORT": "8000", "METRICS_MODE": "per_worker"},
            "HTTP_PORT=8000 lies inside the metrics ports 7999..8002",
        ),
    ],
)
def test_bad_environment_is_explained(environ, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        metrics_port_range(environ)
    assert message in str(raised.value)


def test_problems_of_a_hand_written_range():
    assert port_range_problems(range(9100, 9104), 8000) == []
    assert "consecutive" in port_range_problems(range(9100, 9110, 2), 8000)[0]
    assert "consecutive" in port_range_problems([9100, 9101], 8000)[0]
    assert "more than the 64 workers" in port_range_problems(range(10000, 10065), 8000)[0]


@pytest.mark.parametrize(
    ("given", "plain", "for_gunicorn"),
    [
        ("0.0.0.0", "0.0.0.0", "0.0.0.0:8000"),
        ("127.0.0.1 ", "127.0.0.1", "127.0.0.1:8000"),
        ("::", "::", "[::]:8000"),
        ("[::]", "::", "[::]:8000"),
        (" [::1] ", "::1", "[::1]:8000"),
    ],
)
def test_bind_addresses_have_one_spelling_rule_for_both_variables(given, plain, for_gunicorn):
    for name in ("HTTP_BIND_ADDRESS", "METRICS_BIND_ADDRESS"):
        assert bind_address(name, {name: given}) == plain
    assert gunicorn_bind(plain, 8000) == for_gunicorn


@pytest.mark.parametrize("given", ["localhost", "0.0.0.0:80", "[::", "1.2.3"])
def test_a_bind_address_that_is_no_ip_address_is_refused_quoted(given):
    with pytest.raises(ImproperlyConfigured) as refused:
        bind_address("METRICS_BIND_ADDRESS", {"METRICS_BIND_ADDRESS": given})
    assert str(refused.value).startswith(f"METRICS_BIND_ADDRESS={given!r} is not an IP address: use one such as")
