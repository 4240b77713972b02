"""Which metrics middlewares each profile installs, as dotted paths.

Strings only: this module is read by settings, before django_prometheus may be imported.
"""

LEAN = "lean"
FULL = "full"
PROFILES = (LEAN, FULL)

# (first in MIDDLEWARE, right after the health probes; last in MIDDLEWARE)
_MIDDLEWARE = {
    # Three metrics per request: responses by status/view/method, latency by view/method, exceptions.
    LEAN: ((), ("request_metrics.lean.LeanMetricsMiddleware",)),
    # django-prometheus' defaults: about thirteen metrics per request.
    FULL: (
        (
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "request_metrics.inflight.InFlightMiddleware",
        ),
        ("django_prometheus.middleware.PrometheusAfterMiddleware",),
    ),
}


def metrics_middleware(profile: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The middlewares ``profile`` puts at the top and at the bottom of MIDDLEWARE."""
    return _MIDDLEWARE[profile]


# Database and cache metrics cost a few microseconds per query or cache call, so they are
# opt-in (METRICS_DATABASE, METRICS_CACHE): django-prometheus wraps these backends.
_INSTRUMENTED_DATABASES = {"postgresql", "sqlite3", "mysql", "postgis", "spatialite"}
_INSTRUMENTED_CACHES = {
    f"django.core.cache.backends.{module}.{django_class}": f"django_prometheus.cache.backends.{module}.{wrapper}"
    for module, django_class, wrapper in (
        ("locmem", "LocMemCache", "LocMemCache"),
        ("filebased", "FileBasedCache", "FileBasedCache"),
        ("redis", "RedisCache", "NativeRedisCache"),
        ("memcached", "PyMemcacheCache", "PyMemcacheCache"),
    )
}


def instrumented_database_engine(engine: str) -> str:
    backend = engine.rsplit(".", 1)[-1]
    if not engine.startswith("django.db.backends.") or backend not in _INSTRUMENTED_DATABASES:
        raise ValueError(f"django-prometheus has no instrumented version of the database engine {engine!r}")
    return f"django_prometheus.db.backends.{backend}"


def instrumented_cache_backend(backend: str) -> str:
    if backend not in _INSTRUMENTED_CACHES:
        raise ValueError(f"django-prometheus has no instrumented version of the cache backend {backend!r}")
    return _INSTRUMENTED_CACHES[backend]
