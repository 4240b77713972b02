"""CPU time per request through Django's WSGI handler (or, with BENCH_INTERFACE=asgi, its ASGI
handler on one event loop), in this process: no server, no network.

Run inside a baked project's virtualenv with its directory as the working
directory: python inprocess.py REQUESTS ROUNDS. Settings come from
DJANGO_SETTINGS_MODULE and the environment. With BENCH_SLOT_DIRECTORY set,
the process first claims a durable metrics slot there, exactly as gunicorn's
post_fork hook does for a worker, so metric values live in the slot's files; and
where the OTEL_* environment asks for tracing, it starts tracing as that hook does.
With BENCH_ASYNC_STACK set (and BENCH_INTERFACE=asgi), only the middlewares and the view
that run on the event loop (keep_only_the_async_stack).
Prints one JSON line: the CPU microseconds per request of each round. With BENCH_QUERIES
set, each "request" is one `SELECT 1` through Django's default database connection instead:
what the database engine (METRICS_DATABASE) adds to a query.
"""

import importlib
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path


def hold_a_slot_like_a_worker(directory: Path) -> None:
    slots = importlib.import_module("service_runtime.worker_slots.slots")  # the baked project's, on sys.path by main()
    slot_values = importlib.import_module("service_runtime.worker_slots.values")
    directory.mkdir(parents=True, exist_ok=True)
    # An ASGI worker's values are locked: its event loop and Django's sync thread both write them.
    threaded = os.environ.get("BENCH_INTERFACE") == "asgi"
    slot_values.keep_values_in_slot(slots.claim_slot(directory, 1), threaded=threaded)


def trace_like_a_worker() -> None:
    configuration = importlib.import_module("service_runtime.tracing.configuration")
    settings = configuration.tracing_settings()
    if settings is not None:
        provider = importlib.import_module("service_runtime.tracing.provider")
        provider.start_tracing(settings, configuration.SERVICE_NAME, "bench", 1)


def shift_layout(layout: int) -> None:
    """Give every type the process creates from here on other version tags, and its objects other addresses.

    CPython caches attribute lookups on types in one 4,096-entry table indexed by the
    type's version tag and the attribute name's address. Which lookups collide there
    depends on both, so any unrelated change in what the process imports moves a
    request's count by several thousand instructions, either way. Each layout number
    takes a different run of tags and allocations before Django loads; the benchmark
    reports the median over several layouts, not one layout's luck.
    """
    for number in range(layout * 61):
        getattr(type(f"LayoutShift{number}", (), {}), "anything", None)  # one version tag each


def build_metrics_middleware_unused() -> None:
    """Import and build the metrics middlewares, as the service does, without installing them.

    For the bare baseline: its process then holds the same modules, types and metric
    objects as the measured one, so what differs per request is the middleware's own work,
    not which of CPython's attribute-cache entries happen to collide (see shift_layout).
    """
    from django.conf import settings
    from django.utils.module_loading import import_string

    for path in settings.METRICS_MIDDLEWARE:
        import_string(path)(lambda request: None)


def keep_only_the_async_stack() -> None:
    """Leave an ASGI request nothing that hops threads: only the template's own middlewares and the
    metrics profile's (async-capable, the baked tests/test_asgi.py checks) or the floor's stand-in
    for it, and an async view.

    Django runs a sync view and every hook of its own middlewares through a thread under
    ASGI; under callgrind the threads' scheduling moves a request's count by more than a
    middleware's whole cost. Without them what a request runs is the same from one run
    to the next, so the difference between two setups is the measured middleware's own.
    """
    from django.conf import settings

    kept = ("service_runtime.", "config.settings.bench_")  # the template's own, and a benchmark's stand-in
    own = [path for path in settings.MIDDLEWARE if path.startswith(kept)]
    settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if path in own or path in settings.METRICS_MIDDLEWARE]
    settings.ROOT_URLCONF = "bench_async_urls"


def asgi_requests() -> Callable[[], None]:
    """One GET / through Django's ASGI handler per call, on one event loop, as an ASGI worker serves it."""
    import asyncio

    from django.core.handlers.asgi import ASGIHandler

    handler = ASGIHandler()
    loop = asyncio.new_event_loop()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 80),
    }

    def one_request() -> None:
        sent = False

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200, message["status"]

        loop.run_until_complete(handler(scope, receive, send))

    return one_request


def main(requests: int, rounds: int) -> None:
    shift_layout(int(os.environ.get("BENCH_LAYOUT", "0")))
    sys.path.insert(0, os.getcwd())
    if os.environ.get("BENCH_SLOT_DIRECTORY"):
        hold_a_slot_like_a_worker(Path(os.environ["BENCH_SLOT_DIRECTORY"]))
    trace_like_a_worker()
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    if os.environ.get("BENCH_BUILD_METRICS_MIDDLEWARE"):
        build_metrics_middleware_unused()
    if os.environ.get("BENCH_ASYNC_STACK"):
        keep_only_the_async_stack()
    asgi_request = asgi_requests() if os.environ.get("BENCH_INTERFACE") == "asgi" else None
    handler = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }

    def start_response(status, headers, exc_info=None):
        assert status.startswith("200"), status

    def one_request() -> None:
        response = handler({**environ, "wsgi.input": io.BytesIO()}, start_response)
        b"".join(response)
        response.close()

    from django.db import connection

    cursor = connection.cursor() if os.environ.get("BENCH_QUERIES") else None

    def one_query() -> None:
        cursor.execute("SELECT 1")
        cursor.fetchone()

    one = one_query if cursor is not None else asgi_request or one_request

    for _ in range(min(requests, 2000)):  # warm caches, URL resolver, label children
        one()
    per_request = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            one()
        per_request.append((time.process_time() - started) / requests * 1e6)
    print(json.dumps({"cpu_us_per_request": per_request}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
