"""A bounded burst of concurrent HTTP requests against loopback."""

import http.client
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


def burst(port: int, count: int, path: str = "/", concurrency: int = 16) -> list[int]:
    """Send exactly ``count`` GETs, ``concurrency`` at a time; returns their status codes."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda _: get(port, path), range(count)))
