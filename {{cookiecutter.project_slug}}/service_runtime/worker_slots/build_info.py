"""The build every metrics port serves: ``{{ cookiecutter.project_slug }}_build_info{version, commit} 1``.

The SLO recording rules join each target's failures with the version that
target reported (``slo:error_budget:spent_by_version``), so the budget a
release spent is known without a version label on every request series.
SERVICE_VERSION and SERVICE_COMMIT come from the image (Dockerfile build
arguments) or the chart (the image tag); unset, they read "unknown".
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

NAME = "{{ cookiecutter.project_slug }}_build_info"
UNKNOWN = "unknown"
MAX_LENGTH = 128


class BadBuildLabel(ValueError):
    """A SERVICE_VERSION or SERVICE_COMMIT no label should carry; the message names it."""


def build_labels(environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """(version, commit) from the environment; a value with control characters or too long is refused."""
    values = []
    for name in ("SERVICE_VERSION", "SERVICE_COMMIT"):
        value = environ.get(name, "").strip() or UNKNOWN
        if len(value) > MAX_LENGTH or not value.isprintable():
            raise BadBuildLabel(
                f"{name}={value[:40]!r}... is not allowed: use at most {MAX_LENGTH} printable characters"
                " (a version like 1.4.2 or a commit hash)"
                if len(value) > MAX_LENGTH
                else f"{name}={value!r} is not allowed: use printable characters only (a version or a commit hash)"
            )
        values.append(value)
    return values[0], values[1]


class BuildInfoCollector:
    """One constant series naming the build this process serves."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.version, self.commit = build_labels(environ)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(NAME, "The build this service runs.", labels=["version", "commit"])
        family.add_metric([self.version, self.commit], 1)
        yield family
