"""The deploy gate and the report against a Prometheus that answers badly: exit 2, one line, no secret.

A fake Prometheus on loopback answers each query from a table (the first entry whose key the
query contains), or with raw bytes, or a byte at a time.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import CommandError, call_command

Answer = Callable[[str], bytes]


def vector(*samples: tuple[dict[str, str], Any]) -> bytes:
    result = [{"metric": labels, "value": [time.time(), value]} for labels, value in samples]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


def by_slo(**values: Any) -> bytes:
    return vector(*(({"slo": slo, "job": "svc"}, value) for slo, value in values.items()))


HEALTHY = {
    "slo:objective:ratio": by_slo(availability="0.999", latency="0.99"),
    "slo:error_budget:remaining": by_slo(availability="0.5", latency="0.8"),
    "burn_rate1h": by_slo(availability="0.5", latency="0.5"),
    "burn_rate6h": by_slo(availability="0.5", latency="0.5"),
    "count_over_time": vector(({}, "100")),
    "min_over_time": vector(({}, "1000")),
    "max_over_time": vector(({}, "1000000")),
}


SEEN_HEADERS: list[dict[str, str]] = []


class FakePrometheus(BaseHTTPRequestHandler):
    answers: dict[str, bytes] = {}
    trickle = False

    def do_GET(self) -> None:
        query = self.path.partition("query=")[2]
        SEEN_HEADERS.append(dict(self.headers))
        body = next((answer for key, answer in self.answers.items() if key in _unquote(query)), by_slo())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if self.trickle:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        else:
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _unquote(text: str) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(text)


@pytest.fixture
def prometheus(free_ports) -> Iterator[Callable[..., str]]:
    servers = []

    def start(answers: dict[str, bytes], trickle: bool = False) -> str:
        handler = type("Handler", (FakePrometheus,), {"answers": answers, "trickle": trickle})
        server = ThreadingHTTPServer(("127.0.0.1", free_ports(1)[0]), handler)
        # A short poll: shutdown() waits for the next one, and every test stops its server.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def refusal(command: str, *args: str) -> str:
    """The one line a command exits 2 with."""
    with pytest.raises(CommandError) as raised:
        call_command(command, *args, stdout=open("/dev/null", "w"))
    assert raised.value.returncode == 2, raised.value
    message = str(raised.value)
    assert "\n" not in message.strip() and "Traceback" not in message, message
    return message


def test_a_healthy_answer_lets_features_ship(prometheus):
    out = io.StringIO()
    call_command("slo_budget", "--prometheus-url", prometheus(HEALTHY), "--period-days", "30", stdout=out)
    assert "Features may ship." in out.getvalue()


NOT_FINITE = {
    "nan-budget": {**HEALTHY, "slo:error_budget:remaining": by_slo(availability="NaN", latency="0.8")},
    "infinite-burn": {**HEALTHY, "burn_rate1h": by_slo(availability="+Inf", latency="0.5")},
    "missing-slo": {**HEALTHY, "slo:error_budget:remaining": by_slo(availability="0.5")},
    "missing-burn-rate": {**HEALTHY, "burn_rate6h": by_slo(availability="0.5")},
    "objective-of-one": {**HEALTHY, "slo:objective:ratio": by_slo(availability="1", latency="0.99")},
}


@pytest.mark.parametrize("answers", NOT_FINITE.values(), ids=NOT_FINITE.keys())
def test_the_gate_exits_2_without_a_finite_figure_for_every_slo(prometheus, answers):
    message = refusal("slo_budget", "--prometheus-url", prometheus(answers), "--period-days", "30")
    assert "availability" in message or "latency" in message, message


MALFORMED = {
    "no-data": b'{"status": "success"}',
    "result-not-a-list": b'{"status": "success", "data": {"result": 3}}',
    "sample-without-value": b'{"status": "success", "data": {"result": [{"metric": {"slo": "availability"}}]}}',
    "value-not-a-number": json.dumps(
        {"status": "success", "data": {"result": [{"metric": {"slo": "a"}, "value": [1, "many"]}]}}
    ).encode(),
    "short-body": b'{"status": "succ',
    "not-an-object": b"[1, 2]",
}


@pytest.mark.parametrize("command", ["slo_budget", "slo_report"])
@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_answer_is_exit_2_and_one_line(prometheus, tmp_path, command, body):
    url = prometheus({"slo:objective:ratio": body})
    output = ["--output", str(tmp_path / "report")] if command == "slo_report" else []
    assert "answer" in refusal(command, "--prometheus-url", url, *output)


BAD_URLS = ["prometheus:9090", "http://[::1", "http://", "ftp://example.com", "http://host:99999"]


@pytest.mark.parametrize("command", ["slo_budget", "slo_report"])
@pytest.mark.parametrize("url", BAD_URLS)
def test_a_malformed_url_is_exit_2_and_one_line(command, url, tmp_path):
    output = ["--output", str(tmp_path)] if command == "slo_report" else []
    assert "--prometheus-url" in refusal(command, "--prometheus-url", url, *output)


def test_user_info_in_the_url_is_sent_as_basic_auth_and_never_printed(prometheus, free_ports):
    url = prometheus(HEALTHY)
    with_secret = url.replace("http://", "http://reader:s3cret-pass@")
    call_command("slo_budget", "--prometheus-url", with_secret, "--period-days", "30", stdout=open("/dev/null", "w"))
    unreachable = f"http://reader:s3cret-pass@127.0.0.1:{free_ports(1)[0]}"
    message = refusal("slo_budget", "--prometheus-url", unreachable)
    assert "s3cret-pass" not in message and "reader" not in message, message


def test_user_info_reaches_prometheus_as_an_authorization_header(prometheus):
    url = prometheus(HEALTHY)
    SEEN_HEADERS.clear()
    call_command(
        "slo_budget",
        "--prometheus-url",
        url.replace("http://", "http://reader:s3cret-pass@"),
        "--period-days",
        "30",
        stdout=open("/dev/null", "w"),
    )
    expected = "Basic " + base64.b64encode(b"reader:s3cret-pass").decode()
    assert SEEN_HEADERS and all(headers.get("Authorization") == expected for headers in SEEN_HEADERS)


def test_one_deadline_for_the_whole_command(prometheus):
    from service_runtime.error_budget.prometheus import DEADLINE_SECONDS

    url = prometheus(HEALTHY, trickle=True)
    started = time.monotonic()
    message = refusal("slo_budget", "--prometheus-url", url, "--timeout", "2")
    assert time.monotonic() - started < 4, "the deadline is the command's, not each read's"
    assert "2 s" in message, message
    assert DEADLINE_SECONDS == 60, "the documented default"


NOT_NAMES = {"quote": 'x"} or vector(1) or up{job="', "backslash": "x\\", "uppercase": "Upper", "too-long": "a" * 64}
# (option, value): an empty namespace means any namespace, an empty job is refused.
REFUSED_NAMES = {
    **{f"job-{name}": ("--job", value) for name, value in NOT_NAMES.items()},
    **{f"namespace-{name}": ("--namespace", value) for name, value in NOT_NAMES.items()},
    "job-empty": ("--job", ""),
}


@pytest.mark.parametrize(("option", "value"), REFUSED_NAMES.values(), ids=REFUSED_NAMES.keys())
def test_job_and_namespace_must_be_kubernetes_names(prometheus, option, value):
    message = refusal("slo_budget", "--prometheus-url", prometheus(HEALTHY), option, value)
    assert f"{option}=" in message and "Kubernetes name" in message, message


def test_the_reports_json_has_no_nan_or_infinity():
    from service_runtime.error_budget.report import finite

    assert json.loads(json.dumps(finite({"a": math.nan, "b": [math.inf, 1.0]}), allow_nan=False)) == {
        "a": None,
        "b": [None, 1.0],
    }


def test_report_arguments_are_checked(tmp_path, prometheus):
    url = prometheus(HEALTHY)
    for args, expected in (
        (["--end", "nan"], "--end=nan"),
        (["--end", "inf"], "--end=inf"),
        (["--end", "1e20"], "--end=1e+20"),
        (["--period-days", "0"], "--period-days=0"),
        (["--period-days", "-3"], "--period-days=-3"),
        (["--period-days", "100000000"], "--period-days=100000000"),
    ):
        message = refusal("slo_report", "--prometheus-url", url, "--output", str(tmp_path / "r"), *args)
        assert expected in message, message
    (tmp_path / "a-file").write_text("")
    assert "--output=" in refusal("slo_report", "--prometheus-url", url, "--output", str(tmp_path / "a-file"))
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert "--output=" in refusal("slo_report", "--prometheus-url", url, "--output", str(tmp_path / "dangling"))


def test_the_report_never_writes_through_a_link(tmp_path):
    from service_runtime.error_budget import report_files

    output = tmp_path / "shared"
    output.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("mine")
    (output / "slo-report.md").symlink_to(victim)
    with pytest.raises(report_files.Unwritable) as raised:
        report_files.write_new(output, "slo-report.md", "# report\n")
    assert "slo-report.md" in str(raised.value)
    assert victim.read_text() == "mine"


@pytest.mark.parametrize("name", ["a/b", "../up", "x\x00y", ".", ""])
def test_label_values_become_safe_file_names(name):
    from service_runtime.error_budget.report_files import file_name

    made = file_name("burndown", name, ".svg")
    assert "/" not in made and "\x00" not in made and made.startswith("burndown-") and made.endswith(".svg")
    assert made not in ("burndown-..svg", "burndown-.svg")


@pytest.mark.parametrize(
    "value", ["`rm -rf`", "<script>x</script>", "a|b", "line\nbreak", "[link](http://evil)", "*bold*"]
)
def test_label_values_reach_markdown_escaped(value):
    from service_runtime.error_budget.report_files import markdown_text

    escaped = markdown_text(value)
    assert "\n" not in escaped and "<" not in escaped and "`" not in escaped.replace("\\`", "")
    assert "|" not in escaped.replace("\\|", "")
