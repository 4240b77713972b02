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
