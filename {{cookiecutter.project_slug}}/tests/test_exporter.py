"""The metrics server binds its one port, and says loudly when it cannot."""

import os
import socket
import time
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from service_runtime.worker_slots.exporter import (
    IDLE_TIMEOUT_SECONDS,
    MAX_CONNECTIONS,
    MetricsServer,
)
from service_runtime.worker_slots.slots import reported_problems


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def hold(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("served", "Served.", registry=registry).inc(7)
    return registry


def server(registry, port, tmp_path, address="127.0.0.1") -> MetricsServer:
    return MetricsServer(registry, port, address, directory=tmp_path, name="slot-1", grace=0.1, retry_every=0.05)


def test_serves_its_registry_on_its_port(free_ports, registry, tmp_path):
    port = free_ports(1)[0]
    exporter = server(registry, port, tmp_path).start()
    assert exporter.bound.wait(5)
    assert "served_total 7.0" in scrape(port)
    assert reported_problems(tmp_path) == []


def test_a_held_port_is_reported_until_it_is_released(free_ports, registry, tmp_path, caplog):
    port = free_ports(1)[0]
    holder = hold(port)
    try:
        exporter = server(registry, port, tmp_path).start()
        deadline = time.monotonic() + 5
        while not reported_problems(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not exporter.bound.is_set(), "bound a port that another process holds"
        [problem] = reported_problems(tmp_path)
        assert f"metrics port {port} on address 127.0.0.1 (slot-1) cannot be bound: Address already in use" in problem
        while problem not in caplog.text and time.monotonic() < deadline + 5:  # logged once the grace is over
            time.sleep(0.02)
        assert problem in caplog.text
    finally:
        holder.close()
    assert exporter.bound.wait(5)
    assert reported_problems(tmp_path) == []
    assert "served_total 7.0" in scrape(port)


def test_an_address_of_no_interface_is_reported(free_ports, registry, tmp_path):
    port = free_ports(1)[0]
    server(registry, port, tmp_path, address="999.1.1.1").start()
    deadline = time.monotonic() + 5
    while not reported_problems(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    [problem] = reported_problems(tmp_path)
    assert f"metrics port {port} on address 999.1.1.1 (slot-1) cannot be bound" in problem


def test_a_held_port_makes_the_pod_unready_at_once_not_after_the_grace(free_ports, registry, tmp_path, caplog):
    """L3: /readyz said 200 for the grace period (about a second) while another process held the port."""
    port = free_ports(1)[0]
    holder = hold(port)
    try:
        MetricsServer(registry, port, "127.0.0.1", directory=tmp_path, name="slot-1", grace=60).start()
        deadline = time.monotonic() + 5
        while not reported_problems(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.02)
        [problem] = reported_problems(tmp_path)
        assert f"metrics port {port}" in problem
        assert problem not in caplog.text, "the error line waits for the grace: a short hold is not worth one"
    finally:
        holder.close()


def thread_count() -> int:
    return len(os.listdir(f"/proc/{os.getpid()}/task"))


def test_idle_connections_cannot_pile_up_threads(free_ports, registry, tmp_path, python_process):
    """L9: 2,000 idle connections once gave a worker 1,939 threads and 140 MB more memory."""
    port = free_ports(1)[0]
    assert server(registry, port, tmp_path).start().bound.wait(5)
    before = thread_count()
    # Another process, as a real client would be: here its connects would starve the server of the GIL.
    idler = python_process(f"""
        import socket, time
        idle = [socket.create_connection(("127.0.0.1", {port})) for _ in range(200)]
        print("connected", flush=True)
        time.sleep(60)
    """)
    assert idler.stdout.readline().strip() == "connected"
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:  # let the server accept what it will
        time.sleep(0.05)
    assert thread_count() <= before + MAX_CONNECTIONS
    idler.kill()
    idler.wait()
    deadline = time.monotonic() + IDLE_TIMEOUT_SECONDS + 5
    while True:  # the idle connections are gone: scrapes are served again
        try:
            assert "served_total 7.0" in scrape(port)
            break
        except OSError:
            assert time.monotonic() < deadline, "the metrics port never recovered"
            time.sleep(0.2)
