"""`helm lint --strict` on ./chart through Helm's Go SDK, so no helm binary is needed: python scripts/lint_chart.py."""

import sys
from pathlib import Path

import helm_python

CHART = Path(__file__).resolve().parent.parent / "chart"
WARNING = 2


def main() -> int:
    report = helm_python.lint(CHART, strict=True)
    findings = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= WARNING]
    findings += report["errors"]
    for finding in findings:
        print(finding, file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
