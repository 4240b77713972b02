"""The local stack's monitoring configuration (compose.yaml's monitoring-config): run in its container.

    python -m scripts.local_monitoring OUTPUT_DIRECTORY    (from the project's root)

Writes ``slo.rules.yaml``, the chart's SLO rules (prometheus_rules.py) at
compose/values.yaml's cadence for namespace "local", and ``alertmanager.yml``:
the baked routing (chart/alerting/alertmanager.yml) with every receiver replaced by a
webhook to the stack's notification sink, so that no notification leaves the machine.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

from scripts.prometheus_rules import CHART, rule_file, values_file

ROOT = Path(__file__).resolve().parent.parent
LOCAL_VALUES = ROOT / "compose" / "values.yaml"
ROUTING = CHART / "alerting" / "alertmanager.yml"
NAMESPACE = "local"  # compose/prometheus.yml labels the service's targets with it
SINK = "http://notifications:9095"


def local_alertmanager(routing: dict[str, Any]) -> dict[str, Any]:
    """The routing as baked; each receiver, whatever it pointed at, a webhook to the sink."""
    receivers = [
        {"name": receiver["name"], "webhook_configs": [{"url": f"{SINK}/{receiver['name']}", "send_resolved": True}]}
        for receiver in routing.get("receivers", [])
    ]
    return {**routing, "receivers": receivers}


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rules = rule_file(values_file(LOCAL_VALUES), NAMESPACE)
    alertmanager = yaml.safe_dump(local_alertmanager(yaml.safe_load(ROUTING.read_text())), sort_keys=False)
    for name, text in (("slo.rules.yaml", rules), ("alertmanager.yml", alertmanager)):
        partial = directory / f".{name}.partial"
        partial.write_text(text)
        partial.chmod(0o644)  # read by Prometheus' and Alertmanager's own users
        partial.replace(directory / name)  # never half a file for a reader


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m scripts.local_monitoring OUTPUT_DIRECTORY", file=sys.stderr)
        return 2
    write(Path(argv[0]))
    print(f"local_monitoring.py: wrote slo.rules.yaml and alertmanager.yml to {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
