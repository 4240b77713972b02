"""Benchmark only: production settings without the metrics middlewares."""

from config.settings.production import *  # noqa: F403

MIDDLEWARE = [m for m in MIDDLEWARE if m not in METRICS_MIDDLEWARE]  # noqa: F405
