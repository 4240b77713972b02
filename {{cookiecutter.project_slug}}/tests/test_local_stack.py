"""The local stack's generated monitoring (compose.yaml's monitoring-config) and its database wait.

The template's own suite brings the stack up with podman-compose; these check what the
stack is built from, in the service's own test run.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from scripts import local_monitoring

ROOT = Path(__file__).resolve().parent.parent
AMTOOL = shutil.which("amtool")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("monitoring")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.local_monitoring", str(directory)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return directory


def test_the_local_rules_are_the_charts_at_the_local_cadence(generated):
    rules = yaml.safe_load((generated / "slo.rules.yaml").read_text())
    local = yaml.safe_load(local_monitoring.LOCAL_VALUES.read_text())["prometheusRule"]
    cadences = {local["interval"], local["periodInterval"], local["dashboardInterval"]}
    assert {group["interval"] for group in rules["groups"]} <= cadences
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert any('namespace="local"' in expr for expr in expressions)


def test_every_local_receiver_is_the_sink_and_the_routing_is_the_baked_one(generated):
    baked = yaml.safe_load(local_monitoring.ROUTING.read_text())
    local = yaml.safe_load((generated / "alertmanager.yml").read_text())
    assert local["route"] == baked["route"] and local["inhibit_rules"] == baked["inhibit_rules"]
    assert [r["name"] for r in local["receivers"]] == [r["name"] for r in baked["receivers"]]
    for receiver in local["receivers"]:
        assert set(receiver) == {"name", "webhook_configs"}, "nothing but the sink: no notification leaves the machine"
        urls = [config["url"] for config in receiver["webhook_configs"]]
        assert urls == [f"{local_monitoring.SINK}/{receiver['name']}"]


def test_a_receiver_pointed_elsewhere_still_goes_to_the_sink_locally():
    pagerduty = {"name": "page", "pagerduty_configs": [{"routing_key_file": "/k"}]}
    routing = {"route": {"receiver": "page"}, "receivers": [pagerduty]}
    assert local_monitoring.local_alertmanager(routing)["receivers"] == [
        {"name": "page", "webhook_configs": [{"url": f"{local_monitoring.SINK}/page", "send_resolved": True}]}
    ]


@pytest.mark.skipif(AMTOOL is None, reason="amtool not installed (Debian package 'prometheus-alertmanager')")
def test_alertmanager_accepts_the_local_configuration(generated):
    result = subprocess.run([AMTOOL, "check-config", generated / "alertmanager.yml"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_waiting_for_a_reachable_database_returns_at_once(capsys):
    call_command("wait_for_database", "--timeout", "5")
    assert "accepts connections" in capsys.readouterr().out


def test_waiting_for_an_unreachable_database_fails_in_one_line_without_the_url():
    """Nothing listens on port 1: the command gives up after its timeout, naming why, not the URL."""
    url = "postgres://orders:hunter2-secret@127.0.0.1:1/orders"
    environment = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    command = [sys.executable, "manage.py", "wait_for_database", "--timeout", "1.5"]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("CommandError: the database refused connections for 1.5 s; last: "), line
    assert "hunter2-secret" not in result.stdout + result.stderr


def test_a_timeout_that_is_no_wait_is_refused():
    with pytest.raises(CommandError, match=r"--timeout=0.0: give a number of seconds above 0"):
        call_command("wait_for_database", "--timeout", "0")
