"""docs/guarantees.md's index: every guarantee names tests that exist, and every guarantee has a row."""

from __future__ import annotations

import re

from tests.support.paths import REPO

PAGE = REPO / "docs" / "guarantees.md"
INDEX_HEADING = "## Index: the tests that fail when a guarantee breaks"


def guarantees(page: str) -> list[str]:
    """The bold titles of the design's bullets, and the ASGI section's heading."""
    design = page.split("## The design, piece by piece", 1)[1].split("\n## ", 1)[0]
    titles = re.findall(r"^- \*\*(.+?)\*\*", design, flags=re.MULTILINE)
    return [*titles, *re.findall(r"^### (The same under ASGI.*)$", page, flags=re.MULTILINE)]


def index(page: str) -> dict[str, list[str]]:
    rows = page.split(INDEX_HEADING, 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in rows.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] not in ("guarantee", "---"):
            found[cells[0]] = re.findall(r"`([^`]+::[^`]+)`", cells[1])
    return found


def missing_tests(named: list[str]) -> list[str]:
    """The ``path::test`` references whose file has no such test function."""
    missing = []
    for reference in named:
        path, _, name = reference.partition("::")
        file = REPO / path
        if not file.is_file() or not re.search(rf"^(async )?def {re.escape(name)}\(", file.read_text(), re.MULTILINE):
            missing.append(reference)
    return missing


def test_every_guarantee_names_tests_that_exist():
    page = PAGE.read_text()
    rows = index(page)
    assert list(rows) == guarantees(page), "the index lists every guarantee, in the page's order"
    assert all(rows.values()), [title for title, tests in rows.items() if not tests]
    assert missing_tests([test for tests in rows.values() for test in tests]) == []


def test_a_test_renamed_away_is_caught():
    page = PAGE.read_text()
    first = next(iter(index(page).values()))[0]
    renamed = page.replace(first, first + "_renamed")
    assert missing_tests(index(renamed)[next(iter(index(renamed)))]) == [first + "_renamed"]
    without_row = page.replace(f"| {guarantees(page)[0]} |", "| Something else |", 1)
    assert list(index(without_row)) != guarantees(without_row)
