"""Settings for `manage.py runserver`, autoreloader included.

The autoreloader runs the project in a second process and restarts it on every
change, so per-worker metrics ports would be taken twice and leak on reloads.
Here no port range is set and /metrics is served through Django instead.
"""

from config.settings.base import *  # noqa: F403

SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
METRICS_URL_EXPORTER = True
