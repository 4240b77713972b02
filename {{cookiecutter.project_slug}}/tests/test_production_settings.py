import pytest


def test_deploy_checks_pass_with_a_realistic_environment(manage, production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stderr


def test_production_settings_build_the_range_from_the_environment(manage, production_env):
    code = "from django.conf import settings as s; print(list(s.PROMETHEUS_METRICS_EXPORT_PORT_RANGE), s.DEBUG)"
    result = manage("shell", "-c", code, env=production_env)
    start = int(production_env["METRICS_START_PORT"])
    in_use = [start, start + 1] if production_env["METRICS_MODE"] == "per_worker" else [start]
    assert result.stdout.strip().splitlines()[-1] == f"{in_use} False", result.stderr


def test_missing_secret_key_is_named(manage, production_env):
    del production_env["DJANGO_SECRET_KEY"]
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


def test_a_kubernetes_wildcard_host_is_refused_with_djangos_spelling(manage, production_env):
    production_env["DJANGO_ALLOWED_HOSTS"] = "shop.example.org,*.example.com"
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: DJANGO_ALLOWED_HOSTS='shop.example.org,*.example.com': Django never matches"
        " '*.example.com'; write the wildcard as '.example.com'"
    ) in result.stderr


def test_malformed_worker_count_is_named_not_a_bare_value_error(manage, production_env):
    production_env["WEB_CONCURRENCY"] = "lots"
    result = manage("check", env=production_env)
    assert "ImproperlyConfigured: WEB_CONCURRENCY='lots' is not a whole number from 1 to 64" in result.stderr
    assert "ValueError" not in result.stderr


def test_management_commands_take_no_metrics_port(manage, production_env):
    start = int(production_env["METRICS_START_PORT"])
    code = f"import socket; s = socket.socket(); s.bind(('127.0.0.1', {start})); print('port free')"
    result = manage("shell", "-c", code, env=production_env)
    assert result.stdout.strip().endswith("port free"), result.stderr


def test_fault_injection_views_are_refused(manage, production_env):
    production_env["FAULT_INJECTION_VIEWS"] = "1"
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: FAULT_INJECTION_VIEWS is on, which production settings refuse" in result.stderr


def test_the_test_only_fault_settings_route_the_views_and_say_so(manage, production_env):
    production_env["DJANGO_SETTINGS_MODULE"] = "config.settings.faults"
    result = manage("check", "--deploy", env=production_env)
    assert "metrics.W001" in result.stderr + result.stdout


@pytest.mark.parametrize(("level", "accepted"), [("debug", True), ("Warning", True), ("loud", False)])
def test_log_level_in_any_case(manage, production_env, level, accepted):
    production_env["DJANGO_LOG_LEVEL"] = level
    result = manage("check", env=production_env)
    assert (result.returncode == 0) is accepted, result.stderr
    if not accepted:
        allowed = "DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)"
        assert f"DJANGO_LOG_LEVEL='{level}' is not one of {allowed}" in result.stderr
