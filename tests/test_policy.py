"""checkov, the policy scanner platform security teams run on every repository, on what a bake ships.

One checkov run (it takes seconds to start) scans the default bake's Dockerfile and the chart
rendered with each value set below. A check the template does not meet must be skipped in
the Dockerfile or the chart with its reason, never silently.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import helm
from tests.support.chart_values import AGGREGATED_WITH_ANNOTATIONS, EVERY_OPTIONAL_OBJECT
from tests.support.paths import REPO
from tests.support.venvs import cached_virtualenv

# checkov lives in a virtualenv of its own: its hundred dependencies would pin the test venv's.
CHECKOV_REQUIREMENTS = REPO / "requirements-checkov.txt"
CHART_VALUE_SETS = {
    "defaults": {},
    "every-optional-object": EVERY_OPTIONAL_OBJECT,
    "aggregated-with-annotations": AGGREGATED_WITH_ANNOTATIONS,
    "migrations-job": {"env": {"existingSecret": "orders-db"}},
}


@pytest.fixture(scope="session")
def checkov_report(bake, tmp_path_factory) -> dict:
    """check id -> {"failed": [...], "skipped": [...]} over the Dockerfile and every rendered value set."""
    venv = cached_virtualenv("tool-venv-checkov", CHECKOV_REQUIREMENTS)
    scanned = tmp_path_factory.mktemp("checkov")
    project = bake()
    (scanned / "Dockerfile").write_text((project / "Dockerfile").read_text())
    (scanned / "monitoring-config.Dockerfile").write_text(
        (project / "compose" / "monitoring-config.Dockerfile").read_text()
    )
    for name, values in CHART_VALUE_SETS.items():
        docs = helm.render(project / "chart", values)
        (scanned / f"chart-{name}.yaml").write_text(yaml.safe_dump_all(docs))
    command = [venv / "bin/checkov", "--directory", scanned, "--framework", "dockerfile", "kubernetes"]
    command += ["--skip-download", "--output", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    outcomes: dict = {}
    for report in reports:
        for kind in ("failed", "skipped"):
            for check in report["results"].get(f"{kind}_checks", []):
                where = f"{Path(check['file_path']).name}: {check['resource']}"
                entry = outcomes.setdefault(check["check_id"], {"failed": [], "skipped": []})
                entry[kind].append((where, check.get("check_result", {}).get("suppress_comment", "")))
    return outcomes


def test_checkov_finds_no_failed_check(checkov_report):
    failed = {check: [where for where, _ in outcome["failed"]] for check, outcome in checkov_report.items()}
    assert {check: places for check, places in failed.items() if places} == {}


def test_every_skipped_check_says_why(checkov_report):
    skipped = [(check, where, reason) for check, o in checkov_report.items() for where, reason in o["skipped"]]
    assert skipped, "the chart and Dockerfile skip some checks, each with its reason"
    unexplained = [(check, where) for check, where, reason in skipped if len(reason.split()) < 5]
    assert unexplained == []
