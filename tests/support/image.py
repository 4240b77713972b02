"""The baked image, built and run as a user of this kind of machine would: no Docker engine, no Docker Hub.

buildah builds and podman runs, both rootful. The base image is a local stand-in for the
official ``python:<version>-slim``, made with debootstrap from the Debian mirror apt on this
machine already uses, and cached under ``.cache/`` by recipe, so only the first run pays.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.paths import CACHE

TOOLS = ("buildah", "podman", "runc", "debootstrap")
# The Debian release whose own python3 is that version (no Debian release ships 3.12).
DEBIAN_RELEASE_FOR_PYTHON = {"3.11": "bookworm", "3.13": "trixie"}
# What python:<version>-slim offers that the Dockerfile relies on.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
BASE_RECIPE = 1  # raise when the recipe below changes: cached bases are then rebuilt
BASE_CACHE = CACHE / "image-base"
# Where the build sees the host's CA bundle and pip configuration (build-time mounts only).
BUILD_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BUILD_PIP_CONFIG = "/etc/pip.conf"

# podman's default runtime, crun, fails on this machine's hybrid cgroups: runc works.
PODMAN = ("podman", "--runtime", "runc")


def _ulimit(name: str, limit: int, wanted: int) -> str:
    """name=n:n with n at most this process's hard limit: runc cannot raise one once capabilities are dropped."""
    hard = resource.getrlimit(limit)[1]
    value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    return f"{name}={value}:{value}"


# podman's default rlimits fail here ("error setting rlimits ... operation not permitted"): set them.
ULIMITS = (
    "--ulimit",
    _ulimit("nofile", resource.RLIMIT_NOFILE, 65536),
    "--ulimit",
    _ulimit("nproc", resource.RLIMIT_NPROC, 4096),
)
# The chart's pod: read-only root with only /tmp writable (podman's --read-only would
# otherwise add tmpfs on /run and /var/tmp too), no capabilities, no privilege gain.
# Host networking, with the service bound to loopback only (see loopback_env).
POD_LIKE = (
    "--network",
    "host",
    "--read-only",
    "--read-only-tmpfs=false",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    *ULIMITS,
)


class ImageToolFailed(RuntimeError):
    pass


def unavailable() -> str | None:
    """Why the image tests cannot run here, or None."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} (Debian packages; .ci/run installs them)"
    if os.geteuid() != 0:
        return "needs root: debootstrap, and podman with the runc runtime, run rootful here"
    return None


def run(*argv: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise ImageToolFailed(f"{' '.join(argv[:4])} ... exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def podman(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    return run(*PODMAN, *args, check=check, timeout=timeout)


def host_codename(os_release: Path = Path("/etc/os-release")) -> str:
    for line in os_release.read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.partition("=")[2].strip().strip('"')
    raise LookupError(f"{os_release} names no VERSION_CODENAME")


def apt_sources(apt: Path = Path("/etc/apt")) -> list[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) of every enabled binary source, one-line and deb822 alike."""
    sources = []
    one_line = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]
    for path in filter(Path.exists, one_line):
        for line in path.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if words[:1] == ["deb"]:
                words = [word for word in words[1:] if not word.startswith("[")]  # drop [options]
                if len(words) >= 3:
                    sources.append((words[0], [words[1]], words[2:]))
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if line and not line.startswith(("#", " ")) and ":" in line:
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
                for uri in fields.get("uris", []):
                    sources.append((uri, fields.get("suites", []), fields.get("components", [])))
    return sources


def debian_mirror(apt: Path = Path("/etc/apt")) -> str:
    """The archive apt on this machine installs the host release's main packages from."""
    codename = host_codename()
    for uri, suites, components in apt_sources(apt):
        if codename in suites and "main" in components:
            return uri
    raise LookupError(f"no apt source in {apt} serves '{codename} main': cannot tell which Debian mirror to use")


def local_base(python_version: str) -> str:
    """Tag of a local python:<version>-slim stand-in, built once and then taken from the cache."""
    release = DEBIAN_RELEASE_FOR_PYTHON.get(python_version)
    if release is None:
        raise LookupError(f"python_version {python_version}: no Debian release ships it as python3")
    mirror = debian_mirror()
    recipe = json.dumps([BASE_RECIPE, release, mirror, BASE_PACKAGES]).encode()
    key = hashlib.sha256(recipe).hexdigest()[:16]
    tag = f"localhost/template-python-base:{python_version}-{key}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    tarball = BASE_CACHE / f"{release}-{key}.tar"
    if not tarball.exists():
        _debootstrap(release, mirror, tarball)
    podman("import", "--change", "ENV LANG=C.UTF-8", "--change", 'CMD ["python3"]', str(tarball), tag)
    return tag


def _debootstrap(release: str, mirror: str, tarball: Path) -> None:
    tarball.parent.mkdir(parents=True, exist_ok=True)
    for stale in tarball.parent.glob(f"{release}-*.tar"):  # an older recipe's base
        stale.unlink()
    with tempfile.TemporaryDirectory(dir=tarball.parent) as scratch:
        rootfs = Path(scratch) / "rootfs"
        packages = ",".join(BASE_PACKAGES)
        run("debootstrap", "--variant=minbase", f"--include={packages}", release, str(rootfs), mirror, timeout=900)
        # As in the official slim images: no package cache or lists in the base.
        for leftover in [*rootfs.glob("var/cache/apt/archives/*.deb"), *rootfs.glob("var/lib/apt/lists/*_*")]:
            leftover.unlink()
        partial = tarball.with_suffix(".partial")
        run("tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), ".")
        partial.rename(tarball)  # only a complete tarball is ever taken from the cache


def host_ca_bundle() -> Path:
    """The CA bundle this machine's pip and OpenSSL trust (it may hold a proxy's CA)."""
    candidates = (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return Path(BUILD_CA_BUNDLE)


def build_pip_config(path: Path) -> Path:
    """The host's pip index settings (the reachable ones: no file:// indexes), trusting the mounted CA bundle."""
    listed = run(sys.executable, "-m", "pip", "config", "list", check=False).stdout
    config = configparser.ConfigParser()
    config["global"] = {"cert": BUILD_CA_BUNDLE}
    for line in listed.splitlines():
        name, _, value = line.partition("=")
        key = name.rpartition(".")[2]
        value = value.strip().strip("'\"")
        if key in ("index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout"):
            kept = [word for word in value.split() if not word.startswith("file:")]
            if kept:
                config["global"][key] = " ".join(kept)
    with path.open("w") as file:
        config.write(file)
    return path


def build(context: Path, base: str, tag: str, scratch: Path, dockerfile: str = "Dockerfile") -> float:
    """Build ``context``'s ``dockerfile`` on ``base``; returns seconds taken. Layers are reused across runs."""
    pip_config = build_pip_config(scratch / "pip.conf")
    started = time.monotonic()
    run(
        "buildah",
        "bud",
        "--isolation",
        "chroot",
        "--layers",
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        # Seen by every RUN step, never stored in a layer.
        "--volume",
        f"{host_ca_bundle()}:{BUILD_CA_BUNDLE}:ro",
        "--volume",
        f"{pip_config}:{BUILD_PIP_CONFIG}:ro",
        "--file",
        str(context / dockerfile),
        "--tag",
        tag,
        str(context),
        timeout=900,
    )
    return time.monotonic() - started


def env_file(path: Path, env: dict[str, str]) -> Path:
    """An --env-file: one VAR=value per line (podman takes the rest of the line verbatim)."""
    for key, value in env.items():
        if "\n" in value:
            raise ValueError(f"{key}: a multi-line value cannot go into an env file")
    path.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    return path


def image_config(tag: str) -> dict:
    return json.loads(podman("image", "inspect", tag).stdout)[0]


def image_history(tag: str) -> str:
    return podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag).stdout


class Container:
    """A detached podman container; ``remove()`` stops and deletes it."""

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def start(cls, name: str, tag: str, *options: str, command: tuple[str, ...] = ()) -> Container:
        podman("rm", "--force", "--ignore", name)
        podman("run", "--detach", "--name", name, *options, tag, *command)
        return cls(name)

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def exec(self, *argv: str) -> subprocess.CompletedProcess:
        return podman("exec", self.name, *argv, check=False)

    def state(self) -> dict:
        return json.loads(podman("inspect", "--format", "{{json .State}}", self.name).stdout)

    def stop(self, grace: int) -> tuple[int, float]:
        """SIGTERM, as the kubelet sends it; returns the exit code and the seconds it took to exit."""
        started = time.monotonic()
        podman("stop", "--time", str(grace), self.name, timeout=grace + 30)
        return self.state()["ExitCode"], time.monotonic() - started

    def changes(self) -> list[str]:
        """What `podman diff` reports written to the container's own filesystem, as 'C /path' lines."""
        return podman("diff", self.name).stdout.split("\n")

    def remove(self) -> None:
        podman("rm", "--force", "--ignore", "--time", "0", self.name, check=False)
