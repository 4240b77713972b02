"""Which metrics middlewares each profile installs, as dotted paths.

Strings only: this module is read by settings, before django_prometheus may be imported.
"""

LEAN = "lean"
FULL = "full"
PROFILES = (LEAN, FULL)

# Outermost but for the health probes (and tracing's, put around them so a count carries its
# request's trace): every answer is counted as the client got it, whichever middleware gave it
# (CommonMiddleware's redirect to the slashed URL, SecurityMiddleware's to HTTPS, a refused Host).
_MIDDLEWARE = {
    # Three metrics per request: responses by status/view/method, latency by view/method, exceptions.
    LEAN: ("service_runtime.request_metrics.lean.lean_metrics_middleware",),
    # django-prometheus' defaults: about thirteen metrics per request (methods folded, exceptions
    # timed once: service_runtime/request_metrics/full.py).
    FULL: (
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        "service_runtime.request_metrics.inflight.InFlightMiddleware",
        "service_runtime.request_metrics.full.FullAfterMiddleware",
    ),
}


def metrics_middleware(profile: str) -> tuple[str, ...]:
    """The middlewares ``profile`` puts at the top of MIDDLEWARE, right after the health probes."""
    return _MIDDLEWARE[profile]


# Database metrics: "lean" (the default) counts queries, errors and new connections with the
# template's engines (service_runtime/database_metrics/); "full" adds django-prometheus' per-query timing
# histogram with its engines; "off" leaves Django's engine alone.
DATABASE_METRICS_LEVELS = ("off", "lean", "full")
_LEAN_DATABASES = {"postgresql", "sqlite3"}
_INSTRUMENTED_DATABASES = {"postgresql", "sqlite3", "mysql", "postgis", "spatialite"}
# Cache metrics cost a few microseconds per cache call, so they are opt-in (METRICS_CACHE):
# django-prometheus wraps these backends.
_INSTRUMENTED_CACHES = {
    f"django.core.cache.backends.{module}.{django_class}": f"django_prometheus.cache.backends.{module}.{wrapper}"
    for module, django_class, wrapper in (
        ("locmem", "LocMemCache", "LocMemCache"),
        ("filebased", "FileBasedCache", "FileBasedCache"),
        ("redis", "RedisCache", "NativeRedisCache"),
        ("memcached", "PyMemcacheCache", "PyMemcacheCache"),
    )
}


def instrumented_database_engine(engine: str, level: str = "full") -> str:
    """The engine that gives ``level`` database metrics over Django's ``engine``.

    ``lean`` covers PostgreSQL and SQLite; another engine keeps Django's own under it
    (no metrics) rather than the per-query timing nobody asked for.
    """
    backend = engine.rsplit(".", 1)[-1]
    if level == "off":
        return engine
    if level == "lean":
        if engine.startswith("django.db.backends.") and backend in _LEAN_DATABASES:
            return f"service_runtime.database_metrics.backends.{backend}"
        return engine
    if not engine.startswith("django.db.backends.") or backend not in _INSTRUMENTED_DATABASES:
        raise ValueError(f"django-prometheus has no instrumented version of the database engine {engine!r}")
    return f"django_prometheus.db.backends.{backend}"


def instrumented_cache_backend(backend: str) -> str:
    if backend not in _INSTRUMENTED_CACHES:
        raise ValueError(f"django-prometheus has no instrumented version of the cache backend {backend!r}")
    return _INSTRUMENTED_CACHES[backend]
