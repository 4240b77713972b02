"""The local stack's notification sink: Alertmanager's receivers post here (compose.yaml).

    python3 notification_sink.py PORT

Prints one line per alert of each notification, with the receiver (the URL's path)
that got it, so ``docker compose logs notifications`` shows who would have been paged.
Standard library only: it runs in the service's own image.
"""

import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Notifications(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            notification = json.loads(self.rfile.read(length))
            alerts = notification["alerts"]
        except (ValueError, KeyError, TypeError):
            self.send_error(400, "not an Alertmanager webhook notification")
            return
        receiver = self.path.strip("/") or notification.get("receiver", "?")
        for alert in alerts:
            labels = alert.get("labels", {})
            summary = alert.get("annotations", {}).get("summary", "")
            line = f"notification to {receiver}: {alert.get('status', '?')} {labels.get('alertname', '?')}"
            print(f"{line} severity={labels.get('severity', '-')} slo={labels.get('slo', '-')}: {summary}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per alert above is the log


def main(argv: list[str]) -> int:
    port = int(argv[0]) if argv else 9095
    # The container's first process: without a handler SIGTERM is ignored, and `compose down`
    # would wait out its timeout before killing it.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"notification sink listening on :{port}", flush=True)
    ThreadingHTTPServer(("", port), Notifications).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
