import socket
import urllib.request

from {{ cookiecutter.project_slug }}.metrics.exporter import WorkerExporter


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def hold(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_binds_the_first_free_port_and_serves_metrics(free_ports):
    ports = free_ports(3)
    holder = hold(ports[0])
    try:
        exporter = WorkerExporter(ports, "127.0.0.1").start()
        assert exporter.bound.wait(5)
        assert exporter.port == ports[1]
        assert "python_info" in scrape(ports[1])
    finally:
        holder.close()


def test_keeps_retrying_until_a_port_is_released(free_ports):
    ports = free_ports(2)
    holders = [hold(port) for port in ports]
    exporter = WorkerExporter(ports, "127.0.0.1", first_wait=0.01, max_wait=0.05).start()
    assert not exporter.bound.wait(0.3), "bound a port that another process holds"
    holders[1].close()
    try:
        assert exporter.bound.wait(5)
        assert exporter.port == ports[1]
    finally:
        holders[0].close()
