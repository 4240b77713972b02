"""The chart's SLO rules as a plain Prometheus rules file, for a Prometheus without prometheus-operator.

    python scripts/prometheus_rules.py [--values FILE] [--namespace NAMESPACE] > slo.rules.yaml

The groups are those of the PrometheusRule the chart renders for the same values
(Helm's Go SDK: no helm binary needed), so there is one source. They select
namespace="NAMESPACE" and job="<chart name>": label the scrape job so, as the
ServiceMonitor does (compose/prometheus.yml is an example).
"""

import argparse
import sys
from pathlib import Path
from typing import Any

import helm_python
import yaml

CHART = Path(__file__).resolve().parent.parent / "chart"


def rule_groups(values: dict[str, Any] | None = None, namespace: str = "default") -> dict[str, Any]:
    """The ``spec`` (``groups``) of the PrometheusRule the chart renders for ``values``."""
    chart = helm_python.Chart.load(CHART)
    # Released under the chart's name: its full name, the job the rules select, is the chart's.
    # The SDK cannot ask a cluster which APIs it serves: render as if prometheus-operator's were.
    manifests = chart.render(values={"assumeOperatorApi": True, **(values or {})}, name=chart.name, namespace=namespace)
    documents = [doc for path, text in manifests.items() if path.endswith(".yaml") for doc in yaml.safe_load_all(text)]
    rules = [doc for doc in documents if doc and doc.get("kind") == "PrometheusRule"]
    if not rules:
        raise ValueError("the chart renders no PrometheusRule for these values: set prometheusRule.enabled to true")
    spec: dict[str, Any] = rules[0]["spec"]
    return spec


def rule_file(values: dict[str, Any] | None = None, namespace: str = "default") -> str:
    """The rules as Prometheus reads a rules file (``rule_files:``)."""
    header = f"# The chart's SLO rules for namespace {namespace}, rendered by scripts/prometheus_rules.py.\n"
    return header + yaml.safe_dump(rule_groups(values, namespace), sort_keys=False, width=1000)


def values_file(path: Path) -> dict[str, Any]:
    try:
        values = helm_python.values_from_yaml(path.read_text())
    except OSError as error:
        raise ValueError(
            f"--values {str(path)!r} cannot be read ({error.strerror}): name a YAML file of chart values"
        ) from None
    if not isinstance(values, dict):
        raise ValueError(f"--values {str(path)!r} holds no mapping of chart values")
    return values


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=Path, help="chart values over chart/values.yaml, as helm's -f")
    parser.add_argument("--namespace", default="default", help="the namespace label the rules select")
    args = parser.parse_args(argv)
    try:
        values = values_file(args.values) if args.values else {}
        sys.stdout.write(rule_file(values, args.namespace))
    except (ValueError, helm_python.HelmError) as error:
        print(f"prometheus_rules.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
