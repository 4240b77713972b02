"""What `helm test` runs in the service's own image: every port of the release answers from inside the cluster.

    python -m service_runtime.health.check_ports HOST HTTP_PORT [METRICS_PORT ...]

The HTTP port must answer /healthz with "ok", each metrics port /metrics with
Prometheus text (python_info). One line per port; exits 1 if any failed.
"""

import sys
import urllib.request
from collections.abc import Sequence

TIMEOUT_SECONDS = 5


def answers(url: str, expected: bytes) -> tuple[bool, str]:
    """Whether ``url`` answers with a body holding ``expected``, and why not."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  http to our own Service
            body: bytes = response.read()
    except OSError as error:
        return False, str(error)
    return (expected in body, "" if expected in body else f"no {expected.decode()} in the answer")


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2 or not all(port.isdigit() for port in argv[1:]):
        print("usage: check_ports HOST HTTP_PORT [METRICS_PORT ...]", file=sys.stderr)
        return 2
    host, http_port, *metrics_ports = argv
    checks = [(http_port, "/healthz", b"ok")] + [(port, "/metrics", b"python_info") for port in metrics_ports]
    failed = 0
    for port, path, expected in checks:
        ok, why = answers(f"http://{host}:{port}{path}", expected)
        print(f"{'ok  ' if ok else 'FAIL'} {host}:{port}{path}{'' if ok else f' ({why})'}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
