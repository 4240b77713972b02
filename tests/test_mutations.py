"""The mutation check (scripts/mutations): its breaks still apply to the template, and one is caught for real."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.mutations import MUTATIONS
from tests.support.paths import REPO


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[mutation.name for mutation in MUTATIONS])
def test_each_mutation_applies_once_and_names_tests_that_exist(mutation):
    assert (REPO / mutation.file).read_text().count(mutation.old) == 1, "stale: the text it breaks moved"
    for test in mutation.tests:
        path, _, name = test.partition("::")
        assert (REPO / path).is_file(), test
        if name:
            assert re.search(rf"^def {re.escape(name)}\(", (REPO / path).read_text(), re.MULTILINE), test


def test_a_broken_guarantee_in_a_copy_is_caught_by_its_test():
    """The smoke run: the hook's port-range refusal broken, its test fails, the table says so."""
    command = ["scripts/mutations", "--only", "hook-metrics-range-past-65535"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("| hook-metrics-range-past-65535 |")]
    assert "| caught | `tests/test_hooks.py::test_metrics_range_must_end_by_65535" in row
