"""Answer /healthz and /readyz before anything looks at the Host header.

The kubelet probes a pod by its IP, which is not in ALLOWED_HOSTS, and over
plain HTTP, which SECURE_SSL_REDIRECT would bounce. Sitting first in
MIDDLEWARE, this answers probes before host validation, HTTPS redirects and
the metrics middleware, so probes never count against the SLOs either.
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from service_runtime.health.probes import liveness, readiness

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": liveness,
    "/readyz": readiness,
}


class HealthProbeMiddleware:
    """Sync or async as the stack is: under ASGI only a probe hops to a thread (it may ask the database)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.answer_async(request)
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        return probe(request)

    async def answer_async(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            response: HttpResponse = await self.get_response(request)
            return response
        return await sync_to_async(probe)(request)
