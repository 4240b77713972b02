"""Settings shared by every environment. Environment-specific modules import from here."""

from pathlib import Path

from service_runtime.environment.readers import env_bool, env_choice, env_database, env_float, env_int
from service_runtime.error_budget.drill import drill_from_environment
from service_runtime.request_metrics.buckets import latency_buckets
from service_runtime.request_metrics.profiles import (
    DATABASE_METRICS_LEVELS,
    PROFILES,
    instrumented_cache_backend,
    instrumented_database_engine,
    metrics_middleware,
)
from service_runtime.server.startup import INTERFACE, MAX_TIMEOUT_SECONDS

BASE_DIR = Path(__file__).resolve().parent.parent.parent

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Replaces "django_prometheus": same app, but it never binds a port at load time.
    "service_runtime.request_metrics.apps.WorkerMetricsConfig",
    "service_runtime.health.apps.HealthConfig",
    "service_runtime.error_budget.apps.ErrorBudgetConfig",
    # Instruments Django in a worker that started tracing (OTEL_* set); nothing otherwise.
    "service_runtime.tracing.apps.TracingConfig",
    "{{ cookiecutter.project_slug }}.apps.ServiceConfig",
]

# lean: the request metrics the SLOs, dashboards and on-call read; full: django-prometheus' defaults.
METRICS_PROFILE = env_choice("METRICS_PROFILE", "{{ cookiecutter.metrics_profile }}", choices=PROFILES)
METRICS_MIDDLEWARE = metrics_middleware(METRICS_PROFILE)

MIDDLEWARE = [
    "service_runtime.health.middleware.HealthProbeMiddleware",
    *METRICS_MIDDLEWARE,
    # ASGI only, inside the metrics: a request past its deadline is answered 504, and counted so.
    "service_runtime.serving.deadline.RequestDeadlineMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise's, without a thread hop for every request under ASGI.
    "service_runtime.serving.static_files.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, so every middleware sees a drilled 503 as the view's answer; absent unless a drill is set.
    "service_runtime.error_budget.drill.DowntimeDrillMiddleware",
]
# A downtime drill (service_runtime/error_budget/drill.py): DOWNTIME_DRILL_RATIO and DOWNTIME_DRILL_UNTIL.
DOWNTIME_DRILL = drill_from_environment()

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default so the service runs with no server; DATABASE_URL switches to PostgreSQL.
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Under ASGI, Django runs each request's sync code in a thread of its own: a persistent connection
# would stay open in a thread that is gone, so each request opens and closes its own.
if INTERFACE == "asgi":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Queries, errors and new connections counted (lean, the default), plus per-query timing (full), or off.
DATABASE_METRICS = env_choice("METRICS_DATABASE", "lean", choices=DATABASE_METRICS_LEVELS)
DATABASES["default"]["ENGINE"] = instrumented_database_engine(DATABASES["default"]["ENGINE"], DATABASE_METRICS)
# Per-cache-call metrics, off by default: each costs microseconds on every call.
if env_bool("METRICS_CACHE", False):
    CACHES["default"]["BACKEND"] = instrumented_cache_backend(CACHES["default"]["BACKEND"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Hashed, compressed files with a manifest, which production serves. Whichever settings
# run collectstatic (the README's set-up uses dev's), the result is what production reads.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The latency SLO threshold is always a histogram bucket bound, so the SLO rules count exactly.
SLO_LATENCY_THRESHOLD_SECONDS = env_float("SLO_LATENCY_THRESHOLD_SECONDS", {{ cookiecutter.slo_latency_threshold_seconds }}, minimum=0.001, maximum=60)
PROMETHEUS_LATENCY_BUCKETS = latency_buckets(SLO_LATENCY_THRESHOLD_SECONDS)
# An ASGI request's deadline (service_runtime/serving/deadline.py): gunicorn's timeout, which under ASGI stops
# only a blocked worker, never one slow request.
REQUEST_DEADLINE_SECONDS = env_int("GUNICORN_TIMEOUT", 30, minimum=1, maximum=MAX_TIMEOUT_SECONDS)

# /__fault__/ views that fail or stall on demand, for proving the SLO alerts. Tests only:
# `manage.py check --deploy` reports them if enabled.
FAULT_INJECTION_VIEWS = False

# Durable worker slots exist only under gunicorn (production settings); dev and test have none.
METRICS_SLOT_DIRECTORY: Path | None = None

# Serve /metrics through Django as well? Only where one process answers (runserver):
# behind gunicorn a URL is answered by a random worker and its counters jump.
METRICS_URL_EXPORTER = False

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # trace_context: " trace_id=... span_id=..." inside a traced request, else empty (service_runtime/tracing/logs.py).
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d%(trace_context)s %(message)s"}},
    "filters": {"trace_context": {"()": "service_runtime.tracing.logs.TraceContextFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["trace_context"]}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("DJANGO_LOG_LEVEL", "INFO", choices=LOG_LEVELS, any_case=True),
    },
}

# The service's own settings, last: see {{ cookiecutter.project_slug }}/settings.py.
from {{ cookiecutter.project_slug }}.settings import *  # noqa: E402, F403
