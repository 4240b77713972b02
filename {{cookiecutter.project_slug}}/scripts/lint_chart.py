"""Lint ./chart strictly and render it, through Helm's Go SDK (no helm binary needed).

    python scripts/lint_chart.py [values.yaml ...]

Each values file is checked on its own over the chart's defaults, as
``helm lint --strict -f FILE`` plus ``helm template -f FILE`` would; with none,
the defaults alone. Why render too: the chart's helpers refuse bad values with
Helm's ``fail``, which ``helm lint`` reports only at INFO level, so a lint alone
passes values that ``helm install`` then refuses.
"""

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import helm_python

CHART = Path(__file__).resolve().parent.parent / "chart"
WARNING = 2


@contextlib.contextmanager
def go_log_silenced() -> Iterator[None]:
    """Helm's Go code logs each ``fail`` to file descriptor 2 at INFO; the findings below say it once."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def findings(values_file: Path | None) -> list[str]:
    label = f"{values_file}: " if values_file else ""
    values = helm_python.values_from_yaml(values_file.read_text()) if values_file else {}
    report = helm_python.lint(CHART, values, strict=True)
    found = [f"{label}{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= WARNING]
    found += [f"{label}{error}" for error in report["errors"]]
    if not found:
        try:
            helm_python.Chart.load(CHART).render(values, name="lint", namespace="default", is_install=True)
        except helm_python.HelmError as error:
            found.append(f"{label}helm template refuses these values: {error}")
    return found


def main(argv: list[str]) -> int:
    files: list[Path | None] = [Path(name) for name in argv] or [None]
    missing = [str(name) for name in files if name is not None and not name.is_file()]
    if missing:
        print(f"lint_chart.py: values file {missing[0]!r} is not a readable file", file=sys.stderr)
        return 2
    with go_log_silenced():
        problems = [problem for values_file in files for problem in findings(values_file)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
