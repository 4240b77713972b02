"""The bake's Renovate configuration: valid by Renovate's own validator, and grouping the pins that move together."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.support.npm import installed

RENOVATE_NPM_PACKAGE = "renovate@44.121.2"  # ships renovate-config-validator


@pytest.fixture(scope="module")
def validator():
    binary = installed(RENOVATE_NPM_PACKAGE, "renovate-config-validator")
    if binary is None:
        pytest.skip(f"needs node and npm (for the npm package {RENOVATE_NPM_PACKAGE}; .ci/run installs them)")
    return binary


def validate(validator, directory) -> subprocess.CompletedProcess:
    """Renovate's validator on the repository configuration found in ``directory`` (renovate.json)."""
    return subprocess.run([validator, "--strict"], cwd=directory, capture_output=True, text=True, timeout=120)


def test_the_renovate_config_passes_renovates_own_validator(bake, validator):
    result = validate(validator, bake())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config validated successfully" in result.stdout + result.stderr


def test_renovates_validator_would_catch_a_mistake(validator, tmp_path):
    (tmp_path / "renovate.json").write_text(json.dumps({"packageRules": [{"matchPackageNames": ["x"], "nope": 1}]}))
    result = validate(validator, tmp_path)
    assert result.returncode != 0 and "packageRules[0].nope" in result.stdout + result.stderr


def test_the_pins_that_move_together_are_grouped(bake):
    """Every OpenTelemetry pin falls in one group's pattern; Django moves with its stubs, within 5.2."""
    project = bake()
    rules = json.loads((project / "renovate.json").read_text())["packageRules"]
    groups = {rule.get("groupName"): rule for rule in rules if rule.get("groupName")}
    pins = [
        line.split("==")[0].split("[")[0].strip().lower()
        for name in ("requirements.txt", "requirements-chart.txt", "requirements-dev.txt")
        for line in (project / name).read_text().splitlines()
        if "==" in line and not line.startswith(("#", "-"))
    ]
    (pattern,) = groups["OpenTelemetry"]["matchPackageNames"]
    train = [pin for pin in pins if pin.startswith("opentelemetry")]
    assert train and all(re.search(pattern.strip("/"), pin) for pin in train)
    assert {"django", "django-stubs"} <= set(groups["Django"]["matchPackageNames"]) & set(pins)
    assert any(rule.get("allowedVersions") == "<5.3" and rule["matchPackageNames"] == ["django"] for rule in rules)
