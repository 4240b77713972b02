"""Benchmark only: the fault views' settings, the database connection kept as BENCH_CONNECTIONS says."""

import os

from config.settings.faults import *  # noqa: F403

_MODE = os.environ.get("BENCH_CONNECTIONS", "persistent")
_DATABASE = DATABASES["default"]  # noqa: F405
if _MODE == "per-request":
    _DATABASE["CONN_MAX_AGE"] = 0
elif _MODE == "persistent-unchecked":
    _DATABASE["CONN_HEALTH_CHECKS"] = False
elif _MODE == "pool":
    _DATABASE["CONN_MAX_AGE"] = 0  # Django refuses persistent connections beside its pool
    _DATABASE["OPTIONS"]["pool"] = True  # psycopg_pool's defaults, as a team switching it on would get
elif _MODE != "persistent":
    raise ValueError(f"BENCH_CONNECTIONS={_MODE!r} is not persistent, persistent-unchecked, per-request or pool")
