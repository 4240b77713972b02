"""Settings for gunicorn and the container: everything deployment-specific comes from the environment."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403

from service_runtime.environment.ports import (
    http_port,
    metrics_mode,
    metrics_port_range,
    web_concurrency,
)
from service_runtime.environment.readers import env_bool, env_int, env_list, env_str
from service_runtime.worker_slots.slots import RuntimeDirectoryUnusable, slot_directory

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
for _host in ALLOWED_HOSTS:
    if _host.startswith("*."):  # Kubernetes' wildcard spelling, which Django never matches: every request a 400
        raise ImproperlyConfigured(
            f"DJANGO_ALLOWED_HOSTS={','.join(ALLOWED_HOSTS)!r}: Django never matches {_host!r};"
            f" write the wildcard as {_host[1:]!r}"
        )
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Each gunicorn worker holds a durable metrics slot; gunicorn.conf.py claims it and starts the exporter.
HTTP_PORT = http_port()
METRICS_MODE = metrics_mode()
PROMETHEUS_METRICS_EXPORT_PORT_RANGE = metrics_port_range()
WEB_CONCURRENCY = web_concurrency()
try:
    METRICS_SLOT_DIRECTORY = slot_directory()
except RuntimeDirectoryUnusable as error:
    raise ImproperlyConfigured(str(error)) from None
# Off unless asked for: a URL is answered by a random worker (see base.py).
METRICS_URL_EXPORTER = env_bool("METRICS_URL_EXPORTER", False)
# Views that answer 5xx and stall workers on demand never run in production: the
# end-to-end tests that need them use config.settings.faults.
if env_bool("FAULT_INJECTION_VIEWS", False):
    raise ImproperlyConfigured(
        "FAULT_INJECTION_VIEWS is on, which production settings refuse: it routes unauthenticated views that"
        " answer 5xx and block workers; unset it (tests use DJANGO_SETTINGS_MODULE=config.settings.faults)"
    )

# TLS ends at the ingress, which says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
