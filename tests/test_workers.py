"""The baked service under real gunicorn and runserver: one metrics port per worker, exact sums."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.deployment import FAULTS_SETTINGS
from tests.support.environment import port_config, production_env
from tests.support.interfaces import INTERFACES
from tests.support.load import burst, get, get_json
from tests.support.metrics import responses, sample_value, scrape
from tests.support.ports import free_block, is_open
from tests.support.processes import Gunicorn, Process
from tests.support.tmpfs import small_tmpfs
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize("workers", [1, 3, 4])
def test_exactly_one_metrics_port_per_worker(gunicorn, workers):
    service = gunicorn(workers)
    assert service.open_metrics_ports() == list(service.metrics_ports)
    assert not is_open(service.metrics_ports[-1] + 1), "a port past the range answers"
    assert len(service.children()) == workers


@pytest.mark.parametrize("interface", INTERFACES)
def test_counters_over_all_ports_sum_to_the_requests_sent(gunicorn, report, interface):
    service = gunicorn(4)
    sent = 800
    statuses = burst(service.http_port, sent, concurrency=16)
    assert statuses == [200] * sent

    per_port = {port: responses(scrape(port), view="index") for port in service.metrics_ports}
    report(f"{interface}: 4 workers, {sent} requests, per-port counts {per_port}, sum {sum(per_port.values()):.0f}")
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
        assert list(tmp_path.glob("*-metrics*")) == [], "the shell touched the metrics slots"
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
        (["--threads", "4"], "worker class {threaded} with 4 thread(s): this service is baked for {baked}, whose"),
        (["--worker-class", "sync"], "worker class sync with 1 thread(s): this service is baked for {baked}"),
    ],
    ids=["preload", "workers-flag", "bind-on-a-metrics-port", "threads", "sync-worker"],
)
@pytest.mark.parametrize("interface", INTERFACES)
def test_gunicorn_refuses_settings_that_break_per_worker_ports(gunicorn, args, message, interface):
    if args == ["--worker-class", "sync"] and interface == "wsgi":
        args, message = ["--worker-class", "asgi"], "worker class asgi with 1 thread(s): this service is baked for WSGI"
    ports = free_block(3)  # the HTTP port, then the two metrics ports
    metrics_port = ports[2]
    args = [arg.format(metrics_port=metrics_port) for arg in args]
    # --threads turns gunicorn's sync worker into gthread; the ASGI worker stays itself, threads unused.
    threaded = "gthread" if interface == "wsgi" else "service_runtime.server.asgi_worker.AsgiWorker"
    message = message.format(metrics_port=metrics_port, baked=interface.upper(), threaded=threaded)
    service = gunicorn(2, *args, wait=False, HTTP_PORT=str(ports[0]), METRICS_START_PORT=str(ports[1]))
    assert service.popen.wait(timeout=30) != 0
    assert f"refused to start: {message}" in service.output()
    assert [port for port in ports if is_open(port)] == []


ENVIRONMENT_REFUSALS = {
    "timeout-past-a-day": ({"GUNICORN_TIMEOUT": "99999999999"}, "GUNICORN_TIMEOUT='99999999999' is out of range"),
    "timeout-not-a-number": ({"GUNICORN_TIMEOUT": "30s"}, "GUNICORN_TIMEOUT='30s' is not a whole number from 1"),
    "negative-max-requests": ({"GUNICORN_MAX_REQUESTS": "-1"}, "GUNICORN_MAX_REQUESTS='-1' is out of range"),
    "access-log-word": ({"GUNICORN_ACCESS_LOG": "maybe"}, "GUNICORN_ACCESS_LOG='maybe' is not one of on, off"),
    "bind-address-hostname": ({"HTTP_BIND_ADDRESS": "example.com"}, "HTTP_BIND_ADDRESS='example.com' is not an IP"),
    "otlp-over-grpc": (
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        "OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not one of http/protobuf",
    ),
    "dev-settings": (
        {"DJANGO_SETTINGS_MODULE": "config.settings.dev"},
        "DJANGO_SETTINGS_MODULE='config.settings.dev' is for manage.py on a developer's machine",
    ),
    "test-settings": (
        {"DJANGO_SETTINGS_MODULE": "config.settings.test"},
        "DJANGO_SETTINGS_MODULE='config.settings.test' is for manage.py on a developer's machine",
    ),
}


@pytest.mark.parametrize(("env", "message"), ENVIRONMENT_REFUSALS.values(), ids=ENVIRONMENT_REFUSALS.keys())
def test_every_variable_gunicorn_reads_is_refused_in_one_line(gunicorn, env, message):
    service = gunicorn(1, wait=False, **env)
    assert service.popen.wait(timeout=30) != 0
    output = service.output()
    assert [line for line in output.splitlines() if "refused" in line] == [
        f"gunicorn.conf.py refused to start: {message}" + line.split(message, 1)[1]
        for line in output.splitlines()
        if message in line
    ]
    assert message in output and "Traceback" not in output


def test_ipv6_bind_addresses_in_either_spelling(gunicorn):
    service = gunicorn(1, HTTP_BIND_ADDRESS="::1", METRICS_BIND_ADDRESS="[::1]", wait=False)
    wait_until(lambda: is_open(service.http_port, "::1") and is_open(service.metrics_ports[0], "::1"), timeout=60)
    assert "Traceback" not in service.output()


@pytest.mark.parametrize(("signum", "asked"), [(signal.SIGTTIN, 3), (signal.SIGTTOU, 1)], ids=["TTIN", "TTOU"])
def test_worker_count_signals_are_reverted(gunicorn, signum, asked):
    service = gunicorn(2)
    service.popen.send_signal(signum)
    wait_until(lambda: f"Refusing to run {asked} workers" in service.output(), timeout=10)
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


@pytest.mark.parametrize("interface", INTERFACES)
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
        f" {first.slot_directory}: stop it, or give this instance its own GUNICORN_RUNTIME_DIR and its own"
        " HTTP_PORT and METRICS_START_PORT. If that gunicorn was killed, its orphaned workers still hold the"
        " directory: they exit within the graceful timeout, or stop them (pkill -f the service's gunicorn)"
    ]
    second.stop()
    assert first.open_metrics_ports() == first.metrics_ports, "the first instance kept every port"


def test_the_slot_directory_is_private_holds_the_control_socket_and_goes_with_a_clean_stop(gunicorn):
    # A short runtime directory: a Unix socket path holds at most 107 bytes (see the next test).
    with tempfile.TemporaryDirectory(prefix="rt-", dir="/tmp") as runtime:
        service = gunicorn(2, GUNICORN_RUNTIME_DIR=runtime)
        directory = service.slot_directory
        private_directory_lifecycle(service, directory)


def test_a_runtime_directory_too_deep_for_a_socket_runs_without_one_and_says_why(gunicorn, tmp_path):
    runtime = tmp_path / ("deep" * 20)
    runtime.mkdir()
    service = gunicorn(1, GUNICORN_RUNTIME_DIR=str(runtime))
    assert f"gunicorn's control socket is off: {service.slot_directory}/gunicorn.ctl is longer than" in service.output()
    assert "Control server error" not in service.output()
    assert get(service.http_port, "/readyz") == 200


def private_directory_lifecycle(service, directory):
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / "gunicorn.ctl").is_socket(), "the control socket is the instance's own"
    assert not (directory.parent / "gunicorn.ctl").exists(), "nothing shared in the runtime directory"
    os.kill(service.pid, signal.SIGTERM)
    assert service.popen.wait(timeout=30) == 0
    assert not directory.exists()


def test_a_planted_slot_directory_is_refused_in_one_line_and_left_alone(gunicorn, baked_venv, served_project, tmp_path):
    ports = free_block(2)
    env = production_env(baked_venv, tmp_path, port_config(ports[0], ports[1:]))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "id_ed25519").write_text("secret")
    planted = tmp_path / f"{served_project.name}-metrics-{os.geteuid()}"
    planted.symlink_to(victim)
    service = Gunicorn(served_project, baked_venv, env, ports[0], ports[1:], tmp_path)
    try:
        assert service.popen.wait(timeout=30) != 0
        refusal = [line for line in service.output().splitlines() if line.startswith("gunicorn.conf.py refused")]
        assert refusal == [
            f"gunicorn.conf.py refused to start: metrics slot directory {str(planted)!r} is a symlink or not a"
            " directory: another user could have made or changed it, so it is not used; remove it if it is yours,"
            " or set GUNICORN_RUNTIME_DIR to a directory only you can write (e.g. $XDG_RUNTIME_DIR)"
        ]
        assert "Traceback" not in service.output()
        assert [path.name for path in victim.iterdir()] == ["id_ed25519"]
    finally:
        service.stop()


def test_a_corrupt_slot_file_costs_no_request(gunicorn):
    """H3: a replacement worker finds its slot's histogram file corrupt; it starts it clean and serves on.

    A sync worker's lean request counts live in that file with the latencies (folded, see the
    bake's service_runtime/worker_slots/rollup.py), so they start again from zero with it: one counter reset."""
    service = gunicorn(1)
    assert burst(service.http_port, 20, concurrency=2) == [200] * 20
    with open(service.slot_directory / "histogram_1.db", "r+b") as file:
        file.write(b"\xff\xff\xff\x7f")
    [worker] = service.worker_pids()
    os.kill(worker, signal.SIGKILL)
    wait_until(lambda: service.worker_pids() not in ([], [worker]) and service.open_metrics_ports(), timeout=30)
    assert burst(service.http_port, 50, concurrency=2) == [200] * 50
    assert responses(scrape(service.metrics_ports[0]), view="index") == 50, "the new file counts from zero"
    assert get(service.http_port, "/readyz") == 200
    assert "histogram_1.db cannot be read back" in service.output()


def test_a_stream_cut_off_by_the_worker_timeout_counts_as_the_failure_it_is(gunicorn):
    """M3: the client got 200 and half a body, while the metric said 200 and the log 0 requests in flight."""
    service = gunicorn(1, GUNICORN_TIMEOUT="2", DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    [worker] = service.worker_pids()
    connection = http.client.HTTPConnection("127.0.0.1", service.http_port, timeout=30)
    connection.request("GET", "/__fault__/stream/8000", headers={"Host": "localhost"})
    answer = connection.getresponse()
    assert answer.status == 200, "the status line went out with the first half"
    with pytest.raises((http.client.IncompleteRead, ConnectionResetError)):  # the body is cut off
        answer.read()
    connection.close()
    wait_until(lambda: "1 request(s) in flight counted as 500" in service.output(), timeout=15)
    # The killed worker's port may answer a moment longer: scrape its replacement.
    wait_until(lambda: service.worker_pids() not in ([], [worker]) and service.open_metrics_ports(), timeout=30)
    text = scrape(service.metrics_ports[0])
    assert responses(text, view="fault-stream", status="500") == 1
    assert responses(text, view="fault-stream", status="200") == 0


@pytest.mark.parametrize("free_kib", [16, 0], ids=["nearly-full", "full"])
def test_a_runtime_directory_out_of_space_costs_no_request(gunicorn, tmp_path, free_kib):
    """M1, L14: a nearly full tmpfs crash-looped workers on SIGBUS; a full one stopped start-up with a traceback."""
    with small_tmpfs(tmp_path / "tmpfs", size_kib=600, leave_free_kib=free_kib) as runtime:
        service = gunicorn(2, GUNICORN_RUNTIME_DIR=str(runtime))
        statuses = burst(service.http_port, 200, concurrency=4)
        ready_status, readiness = get_json(service.http_port, "/readyz")
        faults = [sample_value(scrape(port), "metrics_slot_faults") for port in service.metrics_ports]
        output = service.output()
        service.stop()
    assert statuses == [200] * 200
    assert ready_status == 200 and "No space left on device" in str(readiness["metrics_degraded"])
    assert all(count >= 1 for count in faults), "each metrics port says its values are not all kept"
    assert "SIGBUS" not in output and "Traceback" not in output
    assert "No space left on device" in output, "the fault is logged with its cause"


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
        assert problem.startswith(f"metrics port {port} on address 127.0.0.1 (slot-3) cannot be bound: Address already")
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

    # Listed before the kill: a killed aggregator not yet reaped has no command line, and looks like a worker.
    workers = service.worker_pids()
    [aggregator] = [pid for pid in service.children() if pid not in workers]
    os.kill(aggregator, signal.SIGKILL)
    # M4: no worker is replaced (GUNICORN_MAX_REQUESTS=0): the master restarts it when it reaps it.
    wait_until(lambda: [pid for pid in service.children() if pid not in workers] not in ([], [aggregator]), timeout=10)
    wait_until(lambda: is_open(port), timeout=30)
    assert service.worker_pids() == workers, "no worker was replaced to bring it back"
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
    assert command[:3] == ["python", "-m", "service_runtime.health.check_ports"]
    assert command[4:] == [str(port) for port in [service.http_port, *service.metrics_ports]]
    local = [str(baked_venv / "bin/python"), *command[1:3], "127.0.0.1", *command[4:]]
    passed = subprocess.run(local, cwd=served_project, capture_output=True, text=True, timeout=60)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.count("ok  ") == 4
    service.stop()
    failed = subprocess.run(local, cwd=served_project, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and failed.stdout.count("FAIL") == 4


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_graceful_stop_lets_the_requests_in_flight_finish(gunicorn, interface):
    service = gunicorn(1, DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        in_flight = pool.submit(get, service.http_port, "/__fault__/sleep/1500")
        wait_until(lambda: "Sleeping 1500 ms" in service.output(), timeout=10)  # in its view
        os.kill(service.pid, signal.SIGTERM)
        assert in_flight.result(timeout=30) == 200
    assert service.popen.wait(timeout=30) == 0
