"""Reading the SLO series from Prometheus's HTTP API, with every failure as one line.

The gate and the report run in CI and on laptops, where a wrong URL is the
usual mistake: each way a query can fail raises ``PrometheusUnusable`` with a
sentence naming the URL and what went wrong, and the commands exit 2 with it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 15


class PrometheusUnusable(Exception):
    """Prometheus cannot answer: unreachable, not a Prometheus, refusing the query, or holding no data."""


@dataclass(frozen=True)
class Prometheus:
    url: str

    def _get(self, path: str, params: dict[str, str]) -> Any:
        address = f"{self.url.rstrip('/')}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(address, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  http(s) only, checked
                body = response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
            if error.code != 400 and error.code != 422:
                raise PrometheusUnusable(
                    f"{self.url} answered HTTP {error.code} to /api/v1/{path}: is it a Prometheus server?"
                ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PrometheusUnusable(f"cannot reach Prometheus at {self.url}: {reason}") from None
        try:
            answer = json.loads(body)
            status = answer["status"]
        except (ValueError, KeyError, TypeError):
            raise PrometheusUnusable(
                f"{self.url} is not a Prometheus server: its answer to /api/v1/{path} is not Prometheus' JSON"
            ) from None
        if status != "success":
            raise PrometheusUnusable(f"Prometheus at {self.url} refused the query: {answer.get('error', answer)}")
        return answer["data"]

    def query(self, expression: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector ``expression`` gives now, or at the Unix time ``at``."""
        params = {"query": expression} if at is None else {"query": expression, "time": f"{at:.3f}"}
        result: list[dict[str, Any]] = self._get("query", params)["result"]
        return result

    def query_range(self, expression: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expression, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        result: list[dict[str, Any]] = self._get("query_range", params)["result"]
        return result


def check_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise PrometheusUnusable(f"--prometheus-url={url!r} is not allowed: give Prometheus' http(s):// address")
    return url
