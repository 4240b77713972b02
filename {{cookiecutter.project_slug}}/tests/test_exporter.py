"""The metrics server binds its one port, and says loudly when it cannot."""

import json
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


# As docs/guarantees.md of the template states them: the test holds the exporter to these
# numbers, not to its own constants.
DOCUMENTED_MAX_CONNECTIONS = 8
DOCUMENTED_IDLE_SECONDS = 10


def test_idle_connections_cannot_pile_up_threads(free_ports, registry, tmp_path, python_process):
    """L9: 2,000 idle connections once gave a worker 1,939 threads and 140 MB more memory. At most 8
    connections are served at once (the rest closed on arrival), and each idle one is dropped at 10 s."""
    assert (MAX_CONNECTIONS, IDLE_TIMEOUT_SECONDS) == (DOCUMENTED_MAX_CONNECTIONS, DOCUMENTED_IDLE_SECONDS)
    port = free_ports(1)[0]
    assert server(registry, port, tmp_path).start().bound.wait(5)
    before = thread_count()
    # Another process, as a real client would be: here its connects would starve the server of the GIL.
    # It reports when the server closed each of its idle connections, in seconds from connecting.
    idler = python_process(f"""
        import json, select, socket, time
        started = time.monotonic()
        idle = [socket.create_connection(("127.0.0.1", {port})) for _ in range(20)]
        print("connected", flush=True)
        closed = dict()
        while len(closed) < len(idle) and time.monotonic() - started < 30:
            ready, _, _ = select.select([s for s in idle if s.fileno() not in closed], [], [], 0.1)
            for sock in ready:
                if sock.recv(1) == b"":
                    closed[sock.fileno()] = time.monotonic() - started
        print(json.dumps(sorted(closed.values())), flush=True)
    """)
    assert idler.stdout.readline().strip() == "connected"
    time.sleep(1)  # let the server accept what it will
    assert thread_count() <= before + DOCUMENTED_MAX_CONNECTIONS
    closed = json.loads(idler.stdout.readline())
    on_arrival = [seconds for seconds in closed if seconds < DOCUMENTED_IDLE_SECONDS / 2]
    timed_out = [seconds for seconds in closed if seconds >= DOCUMENTED_IDLE_SECONDS / 2]
    assert len(closed) == 20 and len(on_arrival) == 20 - DOCUMENTED_MAX_CONNECTIONS, closed
    assert all(DOCUMENTED_IDLE_SECONDS - 0.5 <= seconds <= DOCUMENTED_IDLE_SECONDS + 5 for seconds in timed_out), closed
    assert "served_total 7.0" in scrape(port)  # nothing idle left: scrapes are served again
