"""The baked service under real gunicorn and runserver: one metrics port per worker, exact sums."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from tests.support.environment import port_config, production_env
from tests.support.load import burst, get, get_json
from tests.support.metrics import responses, scrape
from tests.support.ports import free_block, is_open
from tests.support.processes import Gunicorn, Process
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("workers", [1, 3, 4])
def test_exactly_one_metrics_port_per_worker(gunicorn, workers):
    service = gunicorn(workers)
    assert service.open_metrics_ports() == list(service.metrics_ports)
    assert not is_open(service.metrics_ports[-1] + 1), "a port past the range answers"
    assert len(service.children()) == workers


def test_counters_over_all_ports_sum_to_the_requests_sent(gunicorn, report):
    service = gunicorn(4)
    sent = 800
    statuses = burst(service.http_port, sent, concurrency=16)
    assert statuses == [200] * sent

    per_port = {port: responses(scrape(port), view="index") for port in service.metrics_ports}
    report(f"4 workers, {sent} requests, per-port counts {per_port}, sum {sum(per_port.values()):.0f}")
    assert sum(per_port.values()) == sent
    assert sum(count > 0 for count in per_port.values()) >= 2, "one worker served everything"


def test_management_command_started_first_takes_no_port(gunicorn, served_project, baked_venv, tmp_path):
    ports = free_block(4)
    env = production_env(baked_venv, tmp_path, port_config(ports[0], ports[1:]))
    shell = Process(
        [
            baked_venv / "bin/python",
            "manage.py",
            "shell",
            "-c",
            "print('loaded', flush=True); import time; time.sleep(60)",
        ],
        served_project,
        env,
        tmp_path / "shell.log",
    )
    try:
        wait_until(lambda: "loaded" in shell.output(), timeout=30)
        assert [port for port in ports[1:] if is_open(port)] == [], "the shell bound a metrics port"
        assert list(tmp_path.glob("*-metrics")) == [], "the shell touched the metrics slots"
        service = gunicorn(3)
        assert service.open_metrics_ports() == list(service.metrics_ports)
        assert shell.popen.poll() is None, "the shell should still be running alongside gunicorn"
    finally:
        shell.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preload"], "preload_app is on: only the master would load Django"),
        (["--workers", "5"], "gunicorn would start 5 workers but WEB_CONCURRENCY=2 sets the metrics slots"),
        (["--bind", "127.0.0.1:{metrics_port}"], "the HTTP bind 127.0.0.1:{metrics_port} lies inside the metrics"),
    ],
    ids=["preload", "workers-flag", "bind-on-a-metrics-port"],
)
def test_gunicorn_refuses_settings_that_break_per_worker_ports(gunicorn, args, message):
    ports = free_block(3)  # the HTTP port, then the two metrics ports
    metrics_port = ports[2]
    args = [arg.format(metrics_port=metrics_port) for arg in args]
    message = message.format(metrics_port=metrics_port)
    service = gunicorn(2, *args, wait=False, HTTP_PORT=str(ports[0]), METRICS_START_PORT=str(ports[1]))
    assert service.popen.wait(timeout=30) != 0
    assert f"refused to start: {message}" in service.output()
    assert [port for port in ports if is_open(port)] == []


def test_worker_count_signals_are_reverted(gunicorn):
    service = gunicorn(2)
    service.popen.send_signal(signal.SIGTTIN)
    wait_until(lambda: "Refusing to run 3 workers" in service.output(), timeout=10)
    time.sleep(1)  # let the master settle on its worker count
    assert len(service.children()) == 2
    assert service.open_metrics_ports() == list(service.metrics_ports)


def test_runserver_with_autoreloader_serves_requests_and_metrics(served_project, baked_venv, tmp_path):
    port = free_block(1)[0]
    env = {"PATH": str(baked_venv / "bin"), "HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    server = Process(
        [baked_venv / "bin/python", "manage.py", "runserver", f"127.0.0.1:{port}"],
        served_project,
        env,
        tmp_path / "runserver.log",
    )
    try:
        wait_until(lambda: is_open(port), timeout=30)
        assert server.children(), "the autoreloader did not start its child process"
        assert get(port, "/") == 200
        assert responses(scrape(port), view="index") == 1
        assert get(port, "/healthz") == 200
    finally:
        server.stop()
    assert "Traceback" not in server.output()


def test_probes_answer_the_pod_ip_under_gunicorn(gunicorn):
    service = gunicorn(1)
    # The kubelet probes by pod IP, which is not in ALLOWED_HOSTS.
    assert get(service.http_port, "/healthz", host="10.0.0.7") == 200
    assert get(service.http_port, "/readyz", host="10.0.0.7") == 200
    assert get(service.http_port, "/", host="10.0.0.7") == 400


def test_a_second_gunicorn_with_the_same_environment_is_refused(gunicorn, baked_venv, tmp_path):
    first = gunicorn(2)
    second = Gunicorn(first.project, baked_venv, first.env, first.http_port, first.metrics_ports, tmp_path)
    assert second.popen.wait(timeout=30) != 0
    refusal = [line for line in second.output().splitlines() if line.startswith("gunicorn.conf.py refused")]
    assert refusal == [
        f"gunicorn.conf.py refused to start: another gunicorn (pid {first.pid}) already serves metrics from"
        f" {first.env['GUNICORN_RUNTIME_DIR']}/{first.project.name}-metrics: stop it, or give this instance its own"
        " GUNICORN_RUNTIME_DIR and its own HTTP_PORT and METRICS_START_PORT"
    ]
    second.stop()
    assert first.open_metrics_ports() == first.metrics_ports, "the first instance kept every port"


def test_a_foreign_listener_on_a_slot_port_makes_the_pod_unready_until_it_leaves(gunicorn):
    service = gunicorn(3, wait=False)
    foreign = socket.socket()
    foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    foreign.bind(("127.0.0.1", service.metrics_ports[2]))
    foreign.listen()
    try:
        wait_until(lambda: is_open(service.http_port) and "cannot be bound" in service.output(), timeout=60)
        status, body = get_json(service.http_port, "/readyz")
        assert status == 503
        [problem] = body["metrics"]
        port = service.metrics_ports[2]
        assert problem.startswith(f"metrics port {port} on address 127.0.0.1 (slot-2) cannot be bound: Address already")
        assert problem in service.output()
    finally:
        foreign.close()
    wait_until(lambda: service.open_metrics_ports() == service.metrics_ports, timeout=15)
    assert get_json(service.http_port, "/readyz")[0] == 200


def test_aggregated_mode_restarts_its_metrics_process_when_it_dies(gunicorn):
    service = gunicorn(2, wait=False, METRICS_MODE="aggregated")
    port = service.metrics_ports[0]
    wait_until(lambda: is_open(service.http_port) and is_open(port), timeout=60)
    assert not is_open(service.metrics_ports[1]), "the aggregated mode serves one port"
    assert burst(service.http_port, 50) == [200] * 50
    wait_until(lambda: responses(scrape(port), view="index") == 50, timeout=10)

    [aggregator] = [pid for pid in service.children() if pid not in service.worker_pids()]
    os.kill(aggregator, signal.SIGKILL)
    wait_until(lambda: not is_open(port), timeout=10)
    # The master checks on its metrics process whenever it replaces a worker.
    os.kill(service.worker_pids()[0], signal.SIGKILL)
    wait_until(lambda: is_open(port), timeout=30)
    assert responses(scrape(port), view="index") == 50, "the new process reads the same slot files"
    assert "The metrics aggregator (pid" in service.output()


def test_the_helm_test_pods_command_passes_against_real_workers_and_fails_without_them(
    gunicorn, served_project, baked_venv
):
    """The rendered `helm test` pod's command, run against gunicorn with its Service host and port made loopback's."""
    import subprocess

    from tests.support import helm
    from tests.support.manifests import one

    service = gunicorn(3)
    values = {
        "service": {"port": service.http_port},
        "env": {"config": {"WEB_CONCURRENCY": 3, "METRICS_START_PORT": service.metrics_ports[0]}},
    }
    pod = one(helm.render(served_project / "chart", values), "Pod")
    command = pod["spec"]["containers"][0]["command"]
    assert command[:3] == ["python", "-m", f"{served_project.name}.health.check_ports"]
    assert command[4:] == [str(port) for port in [service.http_port, *service.metrics_ports]]
    local = [str(baked_venv / "bin/python"), *command[1:3], "127.0.0.1", *command[4:]]
    passed = subprocess.run(local, cwd=served_project, capture_output=True, text=True, timeout=60)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.count("ok  ") == 4
    service.stop()
    failed = subprocess.run(local, cwd=served_project, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and failed.stdout.count("FAIL") == 4
