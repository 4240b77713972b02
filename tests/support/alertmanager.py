"""A real Alertmanager on loopback, the operator's translation of an AlertmanagerConfig, and a webhook to page.

``operator_translation`` turns the chart's AlertmanagerConfig into the
alertmanager.yml that prometheus-operator would generate from it, for the
fields the chart uses: receiver names become ``<namespace>/<name>/<receiver>``,
the top route gains a ``namespace`` matcher and ``continue: true`` and hangs
under a global route, inhibit rules gain the namespace on both sides, and
Secret references are resolved from ``secrets``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from tests.support.ports import free_block
from tests.support.processes import Process

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")
MISSING = "needs alertmanager and amtool (Debian package 'prometheus-alertmanager'; .ci/run installs it)"
DURATIONS = {"groupWait": "group_wait", "groupInterval": "group_interval", "repeatInterval": "repeat_interval"}


def matcher(spec: dict) -> str:
    return f"{spec['name']}{spec.get('matchType', '=')}{json.dumps(spec['value'])}"


def _route(spec: dict, prefix: str) -> dict:
    route: dict = {"receiver": prefix + spec["receiver"]} if "receiver" in spec else {}
    if "groupBy" in spec:
        route["group_by"] = spec["groupBy"]
    for camel, snake in DURATIONS.items():
        if camel in spec:
            route[snake] = spec[camel]
    if "matchers" in spec:
        route["matchers"] = [matcher(m) for m in spec["matchers"]]
    if spec.get("continue"):
        route["continue"] = True
    if "routes" in spec:
        route["routes"] = [_route(child, prefix) for child in spec["routes"]]
    return route


def _webhook(spec: dict, namespace: str, secrets: dict) -> dict:
    if "url" in spec:
        url = spec["url"]
    else:
        reference = spec["urlSecret"]
        url = secrets[(namespace, reference["name"], reference["key"])]
    return {"url": url, "send_resolved": spec.get("sendResolved", True)}


def operator_translation(config: dict, secrets: dict) -> dict:
    """The alertmanager.yml prometheus-operator generates from one AlertmanagerConfig (OnNamespace strategy)."""
    namespace, name = config["metadata"]["namespace"], config["metadata"]["name"]
    prefix = f"{namespace}/{name}/"
    spec = config["spec"]
    route = _route(spec["route"], prefix)
    route["matchers"] = [f'namespace="{namespace}"', *route.get("matchers", [])]
    route["continue"] = True
    receivers = [{"name": "null"}]
    for receiver in spec["receivers"]:
        unsupported = set(receiver) - {"name", "webhookConfigs"}
        assert not unsupported, f"translation of {unsupported} is not written"
        hooks = [_webhook(hook, namespace, secrets) for hook in receiver.get("webhookConfigs", [])]
        receivers.append({"name": prefix + receiver["name"], "webhook_configs": hooks})
    inhibit = [
        {
            "source_matchers": [f'namespace="{namespace}"', *(matcher(m) for m in rule["sourceMatch"])],
            "target_matchers": [f'namespace="{namespace}"', *(matcher(m) for m in rule["targetMatch"])],
            "equal": rule["equal"],
        }
        for rule in spec.get("inhibitRules", [])
    ]
    return {"route": {"receiver": "null", "routes": [route]}, "inhibit_rules": inhibit, "receivers": receivers}


def check_config(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True)


def routes_to(path: Path, **labels: str) -> list[str]:
    """The receivers ``amtool config routes test`` picks for an alert with ``labels``."""
    argv = [AMTOOL, "config", "routes", "test", f"--config.file={path}", *(f"{k}={v}" for k, v in labels.items())]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return result.stdout.strip().split(",")


class Alertmanager(Process):
    """``alertmanager`` on a free loopback port, alone (no cluster), with its own storage."""

    def __init__(self, workdir: Path, config: dict) -> None:
        self.port = free_block(1)[0]
        config_path = workdir / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            ALERTMANAGER,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        super().__init__(argv, workdir, {"PATH": "/usr/bin:/bin"}, workdir / "alertmanager.log")
        self.wait_http_ready(f"http://127.0.0.1:{self.port}/-/ready", timeout=30)

    def _get(self, path: str) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/{path}", timeout=5) as response:
            return json.load(response)

    def alerts(self) -> list[dict]:
        return self._get("alerts")

    def groups(self) -> list[dict]:
        """The alert groups as Alertmanager holds them: each with its receiver and its alerts."""
        return self._get("alerts/groups")


class Webhook:
    """An HTTP server that keeps every notification POSTed to it, by path (one path per receiver)."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict]] = {}
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    received.setdefault(self.path, []).append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_block(1)[0]), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def notifications(self, path: str) -> list[dict]:
        return list(self.received.get(path, []))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
