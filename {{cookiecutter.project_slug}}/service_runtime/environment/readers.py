"""Typed readers for settings that come from the environment.

One function per kind of value, each raising ``ImproperlyConfigured`` that
names the variable, the value found and what is allowed, so a bad deployment
fails at start-up with a sentence instead of a bare ``ValueError``. Every
reader takes ``environ`` so tests and ``gunicorn.conf.py`` can pass their own.
"""

import enum
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


class _Required(enum.Enum):
    """The default of a setting that has none: a type of its own, so mypy tells it from a value."""

    REQUIRED = enum.auto()


REQUIRED = _Required.REQUIRED
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
T = TypeVar("T")
Number = TypeVar("Number", int, float)


def _default(name: str, default: T | _Required) -> T:
    """What an unset variable reads as; a required one stops start-up."""
    if isinstance(default, _Required):
        raise ImproperlyConfigured(f"{name} is not set: this setting is required")
    return default


def env_str(name: str, default: str | _Required = REQUIRED, *, environ: Mapping[str, str] = os.environ) -> str:
    value = environ.get(name)
    if value is None:
        return _default(name, default)
    if not value.strip():
        raise ImproperlyConfigured(f"{name} is set but empty: give it a value or unset it")
    return value


def env_int(
    name: str,
    default: int | _Required = REQUIRED,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] = os.environ,
) -> int:
    value = environ.get(name)
    if value is None:
        return _default(name, default)
    return _parse_number(name, value, int, "a whole number", minimum, maximum)


def env_float(
    name: str,
    default: float | _Required = REQUIRED,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    environ: Mapping[str, str] = os.environ,
) -> float:
    value = environ.get(name)
    if value is None:
        return _default(name, default)
    return _parse_number(name, value, float, "a number", minimum, maximum)


def _parse_number(
    name: str,
    value: str,
    parse: Callable[[str], Number],
    kind: str,
    minimum: Number | None,
    maximum: Number | None,
) -> Number:
    allowed = _describe_bounds(kind, minimum, maximum)
    try:
        number = parse(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not {allowed}") from None
    if number in (float("inf"), float("-inf")) or number != number:
        raise ImproperlyConfigured(f"{name}={value!r} is not a finite number: use {allowed}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name}={value!r} is out of range: use {allowed}")
    return number


def _describe_bounds(kind: str, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"{kind} of at least {minimum:g}"
    if maximum is not None:
        return f"{kind} of at most {maximum:g}"
    return kind


def env_bool(name: str, default: bool | _Required = REQUIRED, *, environ: Mapping[str, str] = os.environ) -> bool:
    value = environ.get(name)
    if value is None:
        return _default(name, default)
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use one of {sorted(_TRUE | _FALSE)}")


def env_choice(
    name: str,
    default: str | _Required = REQUIRED,
    *,
    choices: tuple[str, ...],
    any_case: bool = False,
    environ: Mapping[str, str] = os.environ,
) -> str:
    """One of ``choices``; with ``any_case``, spelled in any case (choices are given in upper case)."""
    value = environ.get(name)
    if value is None:
        return _default(name, default)
    word = value.strip().upper() if any_case else value.strip()
    if word not in choices:
        allowed = ", ".join(choices) + (" (any case)" if any_case else "")
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {allowed}")
    return word


def env_list(
    name: str, default: list[str] | _Required = REQUIRED, *, environ: Mapping[str, str] = os.environ
) -> list[str]:
    """A comma-separated list; blanks around items are dropped."""
    value = environ.get(name)
    if value is None:
        return list(_default(name, default))
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"{name}={value!r} holds no items: give a comma-separated list")
    return items


# One connection per worker, kept across requests (Django's persistent connections) and
# checked before reuse: a sync gunicorn worker serves one request at a time, so a pool would
# only hold more idle server connections (the template's connection benchmark measures both).
CONN_MAX_AGE_SECONDS = 60
CONNECT_TIMEOUT_SECONDS = 5


def _url_scheme(url: str) -> str | None:
    """The scheme of ``url`` when it has the shape scheme://..., else None."""
    scheme, separator, _ = url.partition("://")
    return scheme if separator and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) else None


def env_database(name: str, default: str, *, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """A Django DATABASES entry parsed by dj-database-url.

    The URL may carry a password anywhere (a libpq keyword string puts it in plain words), so
    errors name only its scheme, and only when it has one: never the text, nor the parser's message.
    """
    url = env_str(name, default, environ=environ)
    scheme = _url_scheme(url)
    shape = "scheme://user:password@host:port/database, such as postgres://orders@db:5432/orders"
    if scheme is None:
        raise ImproperlyConfigured(f"{name} is not a URL ({shape}); its text is not shown, as it may hold a password")
    try:
        parsed = dj_database_url.parse(url, conn_max_age=CONN_MAX_AGE_SECONDS, conn_health_checks=True)
        database: dict[str, Any] = dict(parsed)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} (scheme {scheme!r}) is not a database URL dj-database-url understands: give {shape}"
        ) from None
    if database["ENGINE"] != "django.db.backends.sqlite3" and not database.get("NAME"):
        raise ImproperlyConfigured(f"{name} (scheme {scheme!r}) names no database: end it with /<database name>")
    if database["ENGINE"] == "django.db.backends.postgresql":
        # A database that drops packets would hold a worker (and /readyz) for the kernel's TCP
        # timeout, minutes; ?connect_timeout=N in the URL overrides this.
        database.setdefault("OPTIONS", {}).setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return database
