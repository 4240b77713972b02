"""The ASGI worker's stop: a request on a connection accepted just before the stop is answered."""

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
from uvicorn import Config
from uvicorn.server import Server

from service_runtime.server.asgi_worker import DrainingServer


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def answer_after_the_stop_began(server_class: type[Server], port: int) -> bytes:
    """Connect, let the server begin to stop (it refuses new connections), then send a request."""
    listening = socket.create_server(("127.0.0.1", port))
    server = server_class(Config(app, lifespan="off", loop="asyncio", http="h11", log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[listening])), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    while not server.server_state.connections:  # accepted: the server holds it, no request read yet
        time.sleep(0.01)
    server.should_exit = True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the stop began once the port refuses
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            break
        time.sleep(0.01)
    try:
        client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = client.recv(1024)
    except OSError:
        answer = b""
    client.close()
    thread.join(timeout=10)
    return answer


@pytest.mark.parametrize(
    ("server_class", "answered"), [(DrainingServer, True), (Server, False)], ids=["draining", "uvicorn's"]
)
def test_a_request_sent_as_the_worker_stops_is_answered(free_ports, server_class, answered):
    """uvicorn's own server drops it (the control); the service's answers it."""
    answer = answer_after_the_stop_began(server_class, free_ports(1)[0])
    assert answer.startswith(b"HTTP/1.1 200") is answered, answer
