"""Bounded HTTP load against loopback: an exact burst, or a background stream."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor


def get(port: int, path: str = "/", host: str = "localhost", timeout: float = 10) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def get_json(port: int, path: str, host: str = "localhost") -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def burst(port: int, count: int, path: str = "/", concurrency: int = 16) -> list[int]:
    """Send exactly ``count`` GETs, ``concurrency`` at a time; returns their status codes."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda _: get(port, path), range(count)))


class Stream:
    """Requests from ``concurrency`` threads until stopped, at most ``max_requests``
    or ``max_seconds``; optionally paced to ``rate`` requests per second in all."""

    def __init__(
        self,
        port: int,
        path: str = "/",
        concurrency: int = 8,
        rate: float | None = None,
        max_requests: int = 200_000,
        max_seconds: float = 120,
    ) -> None:
        self.port, self.path, self.rate = port, path, rate
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.statuses: Counter = Counter()
        self._sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(concurrency,), daemon=True) for _ in range(concurrency)
        ]

    def __enter__(self) -> Stream:
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> Counter:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.statuses

    def _claim(self) -> bool:
        with self._lock:
            if self._sent >= self.max_requests or time.monotonic() - self._started > self.max_seconds:
                return False
            self._sent += 1
            return True

    def _run(self, concurrency: int) -> None:
        interval = concurrency / self.rate if self.rate else 0
        while not self._stop.is_set() and self._claim():
            began = time.monotonic()
            try:
                status = get(self.port, self.path)
            except (OSError, http.client.HTTPException) as error:  # a worker killed or reloaded mid-request
                status = type(error).__name__
            with self._lock:
                self.statuses[status] += 1
            if interval:
                time.sleep(max(0.0, interval - (time.monotonic() - began)))
