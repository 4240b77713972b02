"""Reading the SLO series from Prometheus's HTTP API, with every failure as one line.

The gate and the report run in CI and on laptops, where a wrong URL is the usual
mistake: each way a query can fail raises ``PrometheusUnusable`` with a sentence
naming the URL (never its user info) and what went wrong, and the commands exit 2.
One deadline covers the whole command, however slowly a server answers.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

# Each read's timeout, and the whole command's default deadline (--timeout).
READ_TIMEOUT_SECONDS = 15
DEADLINE_SECONDS = 60


class PrometheusUnusable(Exception):
    """Prometheus cannot answer: unreachable, not a Prometheus, refusing the query, or holding no data."""


def without_user_info(url: str) -> str:
    """``url`` as it may be printed: any ``user:password@`` removed, even from a malformed URL."""
    return re.sub(r"//[^/?#]*@", "//", url)


@dataclass(frozen=True)
class Prometheus:
    url: str  # printable: no user info
    deadline: float = field(default_factory=lambda: time.monotonic() + DEADLINE_SECONDS)
    timeout: float = DEADLINE_SECONDS
    authorization: str = field(default="", repr=False)

    def _get(self, path: str, params: dict[str, str]) -> Any:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self._too_slow()
        address = f"{self.url.rstrip('/')}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(  # noqa: S310  http(s) only, checked by connect()
            address, headers={"Authorization": self.authorization} if self.authorization else {}
        )
        try:
            with urllib.request.urlopen(request, timeout=min(READ_TIMEOUT_SECONDS, left)) as response:  # noqa: S310  http(s) only, checked
                body = self._read(response)
        except urllib.error.HTTPError as error:
            body = self._read(error)
            if error.code not in (400, 422):
                raise PrometheusUnusable(
                    f"{self.url} answered HTTP {error.code} to /api/v1/{path}: is it a Prometheus server?"
                ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
            if time.monotonic() >= self.deadline:
                raise self._too_slow() from None
            reason = getattr(error, "reason", error)
            raise PrometheusUnusable(f"cannot reach Prometheus at {self.url}: {reason}") from None
        try:
            answer = json.loads(body)
            status = answer["status"]
        except (ValueError, KeyError, TypeError):
            raise self._not_json(path, "not a JSON object with a status") from None
        if status != "success":
            raise PrometheusUnusable(f"Prometheus at {self.url} refused the query: {answer.get('error', status)}")
        data = answer.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("result"), list):
            raise self._not_json(path, "no list of results in its data")
        return data

    def _read(self, response: Any) -> bytes:
        """The whole body, before the command's deadline: a server trickling bytes cannot hold it up."""
        chunks = []
        while chunk := response.read1(65536):
            chunks.append(chunk)
            if time.monotonic() >= self.deadline:
                raise self._too_slow()
        return b"".join(chunks)

    def _too_slow(self) -> PrometheusUnusable:
        return PrometheusUnusable(
            f"Prometheus at {self.url} did not answer within the command's {self.timeout:g} s (--timeout)"
        )

    def _not_json(self, path: str, what: str) -> PrometheusUnusable:
        return PrometheusUnusable(f"{self.url} gave an answer to /api/v1/{path} that is not Prometheus' JSON: {what}")

    def query(self, expression: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector ``expression`` gives now, or at the Unix time ``at``; every sample checked."""
        params = {"query": expression} if at is None else {"query": expression, "time": f"{at:.3f}"}
        return self._checked(self._get("query", params)["result"], "query")

    def query_range(self, expression: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expression, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return self._checked(self._get("query_range", params)["result"], "query_range")

    def _checked(self, result: list[Any], path: str) -> list[dict[str, Any]]:
        """Every sample (``value``) or series (``values``) with its labels, times and numbers as floats."""
        for series in result:
            if not isinstance(series, dict) or not isinstance(series.get("metric"), dict):
                raise self._not_json(path, "a result without its labels")
            if "values" in series:
                if not isinstance(series["values"], list):
                    raise self._not_json(path, "a series without its values")
                series["values"] = [(self._time(point), self._number(point)) for point in series["values"]]
            else:
                series["value"] = (self._time(series.get("value")), self._number(series.get("value")))
        return result

    def _number(self, point: Any) -> float:
        """The value of a [time, "value"] pair as a float (NaN and infinities included)."""
        if not isinstance(point, list) or len(point) != 2:
            raise self._not_json("query", "a sample without a [time, value] pair")
        try:
            return float(point[1])
        except (TypeError, ValueError):
            raise self._not_json("query", f"a sample whose value {str(point[1])[:40]!r} is not a number") from None

    def _time(self, point: Any) -> float:
        self._number(point)
        try:
            return float(point[0])
        except (TypeError, ValueError):
            raise self._not_json("query", "a sample whose time is not a number") from None


def connect(url: str, timeout: float = DEADLINE_SECONDS) -> Prometheus:
    """A Prometheus at ``url``, user info sent as basic auth, the command's deadline ``timeout`` seconds away."""
    shown = without_user_info(url)
    refused = PrometheusUnusable(
        f"--prometheus-url={shown!r} is not allowed: give Prometheus' http(s)://host[:port] address"
    )
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018  raises ValueError for a port out of range
    except ValueError:
        raise refused from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise refused
    authorization = ""
    if parsed.username is not None or parsed.password is not None:
        user = urllib.parse.unquote(parsed.username or "")
        password = urllib.parse.unquote(parsed.password or "")
        authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    printable = urllib.parse.urlunsplit(parsed._replace(netloc=parsed.netloc.rpartition("@")[2]))
    if not math.isfinite(timeout) or timeout <= 0:
        raise PrometheusUnusable(
            f"--timeout={timeout:g} is not allowed: give the command's deadline in seconds, above 0"
        )
    return Prometheus(printable, time.monotonic() + timeout, timeout, authorization)
