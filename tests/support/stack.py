"""The baked compose.yaml, brought up with podman-compose (pinned in requirements-test.txt) on local images.

No registry is reachable: the service's images are built as tests/support/image.py
builds them, and the third-party ones are stand-ins (tests/support/stand_ins.py) under
the names compose.yaml pulls. podman's own settings for this machine (runc, the
rlimits its runtime may set) go into a containers.conf of the test's, not into the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from tests.support import image, stand_ins
from tests.support.ports import free_block

PODMAN_COMPOSE = Path(sys.executable).parent / "podman-compose"
CONTAINERS_CONF = """[containers]
default_ulimits = ["{nofile}", "{nproc}"]
[engine]
runtime = "runc"
"""


def unavailable() -> str | None:
    if not PODMAN_COMPOSE.exists():
        return f"podman-compose is not in {PODMAN_COMPOSE.parent} (requirements-test.txt pins it)"
    return stand_ins.unavailable()


class Stack:
    """One compose project of a copy of a bake, on free loopback ports; ``down()`` removes all of it."""

    def __init__(self, project: Path, name: str, workdir: Path) -> None:
        self.project, self.name = project, name
        self.http_port, self.prometheus_port, self.alertmanager_port = free_block(3)
        nofile, nproc = image.ULIMITS[1], image.ULIMITS[3]
        conf = workdir / "containers.conf"
        conf.write_text(CONTAINERS_CONF.format(nofile=nofile, nproc=nproc))
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}

    def write_env_file(self, secret_key: str, password: str) -> None:
        (self.project / ".env").write_text(
            f"DJANGO_SECRET_KEY={secret_key}\nPOSTGRES_PASSWORD={password}\n"
            f"LOCAL_HTTP_PORT={self.http_port}\nLOCAL_PROMETHEUS_PORT={self.prometheus_port}\n"
            f"LOCAL_ALERTMANAGER_PORT={self.alertmanager_port}\n"
        )

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        command = [str(PODMAN_COMPOSE), "--project-name", self.name, *args]
        return subprocess.run(command, cwd=self.project, env=self.env, capture_output=True, text=True, timeout=timeout)

    def images(self) -> dict[str, dict]:
        """compose.yaml's services that name an image: service -> its definition."""
        services = yaml.safe_load((self.project / "compose.yaml").read_text())["services"]
        return {name: service for name, service in services.items() if "image" in service}

    def prepare_images(self, python_version: str, scratch: Path) -> None:
        """Build what compose.yaml builds, and the stand-ins for what it pulls, under its names."""
        base = image.local_base(python_version)
        for service in self.images().values():
            name = service["image"]
            build = service.get("build")
            if build is None and name.startswith("localhost/"):
                continue  # another service builds it
            if build is None:
                stand_ins.stand_in(name, base)
                continue
            dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            image.build(self.project, base, name, scratch, dockerfile)

    def resources(self) -> dict[str, list[str]]:
        """What podman still holds of this project: containers, volumes, networks and pods."""
        label = f"label=io.podman.compose.project={self.name}"
        found = {
            "containers": image.podman("ps", "--all", "--quiet", "--filter", label).stdout.split(),
            "volumes": image.podman("volume", "ls", "--quiet", "--filter", label).stdout.split(),
            "networks": [
                n
                for n in image.podman("network", "ls", "--format", "{{.Name}}").stdout.split()
                if n.startswith(f"{self.name}_")
            ],
            "pods": [
                p for p in image.podman("pod", "ls", "--format", "{{.Name}}").stdout.split() if p == f"pod_{self.name}"
            ],
        }
        return {kind: names for kind, names in found.items() if names}

    def logs(self, service: str) -> str:
        result = image.podman("logs", f"{self.name}_{service}_1", check=False)
        return result.stdout + result.stderr

    def prometheus(self, path: str, **query: str) -> dict:
        url = f"http://127.0.0.1:{self.prometheus_port}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())["data"]

    def down(self) -> subprocess.CompletedProcess:
        return self.compose("down", "--volumes", "--timeout", "10")
