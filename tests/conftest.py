"""Shared fixtures: one bake per distinct context, one virtualenv per requirements pin set."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import helm
from tests.support.background import BackgroundRuns
from tests.support.deployment import deploy
from tests.support.environment import port_config, production_env
from tests.support.paths import REPO
from tests.support.postgres import Postgres
from tests.support.postgres import skip_reason as postgres_skip_reason
from tests.support.processes import Gunicorn
from tests.support.prometheus import PROMETHEUS
from tests.support.venvs import baked_virtualenv


@pytest.fixture(scope="session")
def bake(cookies_session):
    """bake(**context) -> path of the baked project; each distinct context is baked once a session."""
    baked: dict[tuple, Path] = {}

    def _bake(**context: str) -> Path:
        key = tuple(sorted(context.items()))
        if key not in baked:
            result = cookies_session.bake(extra_context=context)
            assert result.exit_code == 0, f"bake of {context} failed: {result.exception}"
            baked[key] = Path(result.project_path)
        return baked[key]

    return _bake


@pytest.fixture(scope="session")
def default_project(bake) -> Path:
    return bake()


@pytest.fixture(scope="session")
def baked_venv(default_project) -> Path:
    return baked_virtualenv(default_project)


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory) -> Path:
    """One mypy cache for every bake: Django's stubs are analysed once (see tests/support/typecheck.py)."""
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="session")
def served(bake, baked_venv, tmp_path_factory):
    """served(interface) -> a copy of the bake for that interface ("wsgi" is the default bake), migrated
    and with static files collected, as the image would be; each prepared once a session.

    A copy: the bake itself stays as cookiecutter wrote it for the tests that read it (the
    leftover-syntax scan would otherwise find Jinja-like braces in collected admin files,
    but only when a server test had run first).
    """
    prepared: dict[str, Path] = {}

    def _served(interface: str = "wsgi") -> Path:
        if interface not in prepared:
            source = bake() if interface == "wsgi" else bake(interface=interface)
            project = tmp_path_factory.mktemp(f"served-{interface}") / source.name
            shutil.copytree(source, project, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
            workdir = tmp_path_factory.mktemp("prepare")
            # Neither command binds a metrics port, so any valid range will do here.
            env = production_env(baked_venv, workdir, port_config(8000, range(9100, 9102)))
            for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
                subprocess.run([baked_venv / "bin/python", "manage.py", *command], cwd=project, env=env, check=True)
            prepared[interface] = project
        return prepared[interface]

    return _served


@pytest.fixture(scope="session")
def served_project(served) -> Path:
    """The default (WSGI) bake, served as the image would be."""
    return served("wsgi")


@pytest.fixture
def interface() -> str:
    """How the served bake runs: a test parametrized over INTERFACES runs for both."""
    return "wsgi"


@pytest.fixture(scope="session")
def rendered(bake):
    """rendered(context, values) -> (project, manifests): each bake and value set rendered once a session."""
    cache: dict = {}

    def _render(context: dict, values: dict) -> tuple[Path, list[dict]]:
        key = (json.dumps(context, sort_keys=True), json.dumps(values, sort_keys=True))
        if key not in cache:
            project = bake(**context)
            cache[key] = (project, helm.render(project / "chart", values))
        return cache[key]

    return _render


@pytest.fixture
def gunicorn(served, interface, baked_venv, tmp_path) -> Iterator:
    """gunicorn(workers, *args, **env) starts the bake of ``interface``; every one started is stopped."""
    started: list[Gunicorn] = []

    def start(workers: int, *args: str, wait: bool = True, **env: str) -> Gunicorn:
        workdir = tmp_path / f"gunicorn-{len(started)}"
        workdir.mkdir()
        service = Gunicorn.on_free_ports(served(interface), baked_venv, workers, workdir, args, **env)
        started.append(service)
        if wait:
            service.wait_ready()
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def deployed(served, interface, baked_venv, tmp_path) -> Iterator:
    """deployed(workers, naive=False, rules=False, **env): the service as its chart would run it, and
    Prometheus scraping it (plus a naive single-URL job, and the chart's rules, if asked)."""
    if PROMETHEUS is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus'; .ci/run installs it)")
    started: list = []
    numbers = itertools.count()  # atomic: deployments may be started from several threads at once

    def start(workers: int, **options):
        workdir = tmp_path / f"deploy-{next(numbers)}"
        workdir.mkdir()
        return deploy(served(interface), baked_venv, workdir, started, workers, **options)

    yield start
    for process in reversed(started):
        process.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Postgres | None]:
    """One private PostgreSQL cluster for the session, or None where the server is not installed."""
    if postgres_skip_reason():
        yield None
        return
    cluster = Postgres()
    yield cluster
    cluster.remove()


@pytest.fixture(scope="session")
def postgres(postgres_cluster) -> Postgres:
    if postgres_cluster is None:
        pytest.skip(postgres_skip_reason())
    return postgres_cluster


MEASUREMENTS = pytest.StashKey[list]()
# What this session runs in the background (tests/support/background.py): the supported bakes whose
# own suites run (name -> context), and the tests marked ``background`` (name -> their command).
OWN_SUITES = pytest.StashKey[dict]()
BACKGROUND_COMMANDS = pytest.StashKey[dict]()
OWN_SUITE_TEST = "test_supported_combination_passes_its_own_tests"


def pytest_configure(config) -> None:
    config.stash[MEASUREMENTS] = []
    config.stash[OWN_SUITES] = {}
    config.stash[BACKGROUND_COMMANDS] = {}


@pytest.hookimpl(trylast=True)  # after -k / -m have deselected what will not run
def pytest_collection_modifyitems(session, config, items) -> None:
    """Background runs start with the session; the tests that collect them go last."""
    own = [item for item in items if getattr(item, "originalname", None) == OWN_SUITE_TEST]
    marked = [item for item in items if item.get_closest_marker("background") is not None]
    if own or marked:
        items[:] = [item for item in items if item not in own and item not in marked] + marked + own
    config.stash[OWN_SUITES] = {item.callspec.id: item.callspec.params["context"] for item in own}
    config.stash[BACKGROUND_COMMANDS] = {
        item.name: list(item.get_closest_marker("background").args)
        for item in marked
        if not any(mark.args and mark.args[0] for mark in item.iter_markers("skipif"))  # it would only be skipped
    }


@pytest.fixture(scope="session", autouse=True)
def background(request, tmp_path_factory) -> Iterator[BackgroundRuns | None]:
    suites, commands = request.config.stash[OWN_SUITES], request.config.stash[BACKGROUND_COMMANDS]
    if not suites and not commands:
        yield None
        return
    runs = BackgroundRuns(tmp_path_factory.mktemp("background"))
    if suites:
        bake, venv = request.getfixturevalue("bake"), request.getfixturevalue("baked_venv")
        cluster = request.getfixturevalue("postgres_cluster")
        for name, context in suites.items():
            # The default bake's suite runs on PostgreSQL, as its own CI does; the others on SQLite.
            database = cluster.create_database("own_suite") if cluster is not None and not context else None
            runs.suite(name, bake(**context), venv, context, database)
    for name, argv in commands.items():
        runs.command(name, argv, REPO)
    yield runs
    runs.close()


@pytest.fixture
def report(request):
    """report(line): a figure the test measured, printed in the run's closing summary."""

    def add(line: str) -> None:
        request.config.stash[MEASUREMENTS].append(f"{request.node.name}: {line}")

    return add


@pytest.fixture(scope="session")
def measure(request):
    """measure(test, line): report's counterpart for module- and session-scoped fixtures."""

    def add(test: str, line: str) -> None:
        request.config.stash[MEASUREMENTS].append(f"{test}: {line}")

    return add


def pytest_terminal_summary(terminalreporter, config) -> None:
    lines = config.stash.get(MEASUREMENTS, [])
    if lines:
        terminalreporter.section("measured")
        for line in lines:
            terminalreporter.write_line(line)
