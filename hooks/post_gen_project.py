"""Give the chart's named templates the chart's own name.

Cookiecutter copies ``chart/templates`` without rendering (it is Go template
syntax, not Jinja), so the helpers there are written as ``"__chart__.fullname"``
and renamed here, as ``helm create`` would name them: helpers stay unique when
the chart is used as a subchart. Standard library only.
"""

from __future__ import annotations

import sys
from pathlib import Path

PLACEHOLDER = '"__chart__.'


def namespace_helpers(templates: Path, chart_name: str) -> list[Path]:
    """Rename every placeholder helper under ``templates``; returns the files changed."""
    changed = []
    for path in sorted(templates.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if PLACEHOLDER in text:
            path.write_text(text.replace(PLACEHOLDER, f'"{chart_name}.'), encoding="utf-8")
            changed.append(path)
    return changed


def main(chart_name: str) -> int:
    namespace_helpers(Path("chart") / "templates", chart_name)
    return 0


if __name__ == "__main__":
    sys.exit(main("{{ cookiecutter.__chart_name }}"))
