"""Settings for the test suite: fast, isolated, no ports."""

import os

from config.settings.base import *  # noqa: F403

from service_runtime.request_metrics.profiles import instrumented_database_engine

SECRET_KEY = "test-only-insecure-key"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost"]
METRICS_URL_EXPORTER = True
# SQLite in memory, unless DATABASE_URL names a database server (CI's PostgreSQL service):
# pytest-django then creates and drops a test_<name> database beside it. Either way with the
# database metrics production has (METRICS_DATABASE, lean by default).
if not os.environ.get("DATABASE_URL"):
    _ENGINE = instrumented_database_engine("django.db.backends.sqlite3", DATABASE_METRICS)  # noqa: F405
    DATABASES = {"default": {"ENGINE": _ENGINE, "NAME": ":memory:"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files are found on each request; the suite never runs collectstatic, so no manifest.
WHITENOISE_AUTOREFRESH = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
