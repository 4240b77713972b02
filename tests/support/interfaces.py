"""The interfaces a service can be baked for, as cookiecutter.json offers them: a guarantee's test
parametrized over INTERFACES runs against a bake of each (the ``interface`` fixture)."""

import json

from tests.support.paths import REPO

INTERFACES: tuple[str, ...] = tuple(json.loads((REPO / "cookiecutter.json").read_text())["interface"])
