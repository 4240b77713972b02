"""Real Helm: the ``helm`` binary when one is on PATH, else Helm's own Go SDK via helm-python-sdk."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

HELM = shutil.which("helm")


class HelmFailed(Exception):
    """Helm refused the chart or values; the message is Helm's."""


def render(chart: Path, values: dict | None = None, release: str = "rel", namespace: str = "apps") -> list[dict]:
    """The manifests ``helm template`` would print (test hooks included, NOTES.txt not)."""
    if HELM:
        texts = [_helm_cli("template", release, str(chart), "--namespace", namespace, values=values)]
    else:
        import helm_python

        try:
            rendered = helm_python.Chart.load(chart).render(values=values or {}, name=release, namespace=namespace)
        except helm_python.HelmError as error:
            raise HelmFailed(str(error)) from None
        texts = [text for path, text in sorted(rendered.items()) if not path.endswith("NOTES.txt")]
    return [doc for text in texts for doc in yaml.safe_load_all(text) if doc]


def notes(chart: Path, values: dict | None = None, release: str = "rel", namespace: str = "apps") -> str:
    if HELM:
        output = _helm_cli("install", release, str(chart), "--dry-run=client", "--namespace", namespace, values=values)
        return output.split("NOTES:", 1)[1]
    import helm_python

    rendered = helm_python.Chart.load(chart).render(values=values or {}, name=release, namespace=namespace)
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def lint(chart: Path, values: dict | None = None) -> list[str]:
    """Findings of ``helm lint --strict`` at warning level or worse."""
    if HELM:
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
        result = subprocess.run([HELM, *args, "--values", handle.name], capture_output=True, text=True)
    if result.returncode != 0:
        raise HelmFailed(result.stderr + result.stdout)
    return result.stdout
