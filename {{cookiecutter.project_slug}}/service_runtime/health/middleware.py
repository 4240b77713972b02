"""Answer /healthz and /readyz before anything looks at the Host header.

The kubelet probes a pod by its IP, which is not in ALLOWED_HOSTS, and over
plain HTTP, which SECURE_SSL_REDIRECT would bounce. Sitting first in
MIDDLEWARE, this answers probes before host validation, HTTPS redirects and
the metrics middleware, so probes never count against the SLOs either.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from service_runtime.health.probes import liveness, readiness

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": liveness,
    "/readyz": readiness,
}


class HealthProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        return probe(request)
