"""The `helm test` check, against real listeners on loopback."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service_runtime.health.check_ports import main


class Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name http.server calls
        body = {"/healthz": b"ok", "/metrics": b"# TYPE python_info gauge\npython_info 1.0\n"}.get(self.path, b"")
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # http.server's signature
        return


@pytest.fixture
def listening() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_every_port_answering_passes(listening, capsys):
    assert main(["127.0.0.1", str(listening), str(listening)]) == 0
    assert capsys.readouterr().out.count("ok  ") == 2


def test_a_port_that_does_not_answer_fails_and_is_named(listening, capsys):
    closed = str(listening + 1 if listening < 65535 else listening - 1)
    assert main(["127.0.0.1", str(listening), closed]) == 1
    assert f"FAIL 127.0.0.1:{closed}/metrics" in capsys.readouterr().out


def test_bad_arguments_print_the_usage(capsys):
    assert main(["127.0.0.1", "http"]) == 2
    assert "usage:" in capsys.readouterr().err
