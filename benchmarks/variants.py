"""The ways the benchmarks run the service: a bake, a settings module, and how its metrics are kept and read."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.support.paths import REPO

# Files the benchmark adds to every bake (real modules, under the repository's lint):
# settings without the metrics middlewares or with an empty one in their place, the
# peer's gunicorn configuration, and an async home page for the ASGI instruction counts.
OVERLAY = Path(__file__).resolve().parent / "overlay"


@dataclass(frozen=True)
class Variant:
    """One way of running the service: a bake, a settings module, and how its metrics are kept and read."""

    name: str
    project: Path
    settings_module: str
    env: dict = field(default_factory=dict)
    durable: bool = True  # metric values in a durable slot's files (in-process: claim one first)
    peer: bool = False  # prometheus_client's multiprocess mode under its own gunicorn config

    @property
    def aggregated(self) -> bool:
        return self.env.get("METRICS_MODE") == "aggregated"

    @property
    def asgi(self) -> bool:
        return self.env.get("BENCH_INTERFACE") == "asgi"

    @property
    def baseline(self) -> str:
        """The variant its overhead is measured against: bare under the same interface."""
        return "asgi-bare" if self.asgi else "bare"


def bake_variants(workdir: Path, collector: str) -> dict[str, Variant]:
    """Every setup; ``collector`` is the OTLP/HTTP endpoint the traced ones export to."""
    projects = {}
    for interface in ("wsgi", "asgi"):
        for profile in ("lean", "full"):
            name = profile if interface == "wsgi" else f"{profile}-asgi"
            context = {"metrics_profile": profile, "metrics_mode": "per_worker", "interface": interface}
            output = str(workdir / name)
            projects[name] = Path(cookiecutter(str(REPO), no_input=True, output_dir=output, extra_context=context))
    lean, lean_asgi = projects["lean"], projects["lean-asgi"]
    for project in projects.values():
        shutil.copytree(OVERLAY, project, dirs_exist_ok=True)
    asgi = {"BENCH_INTERFACE": "asgi"}
    production = "config.settings.production"
    peer_env = {"METRICS_URL_EXPORTER": "true"}
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector}
    return {
        "bare": Variant("bare", lean, "config.settings.bench_bare", {"BENCH_BUILD_METRICS_MIDDLEWARE": "1"}),
        # Any middleware where lean's sits, doing nothing: what lean pays before its own work.
        "floor": Variant("floor", lean, "config.settings.bench_floor", {"BENCH_BUILD_METRICS_MIDDLEWARE": "1"}),
        "lean-memory": Variant("lean-memory", lean, production, durable=False),
        "lean": Variant("lean", lean, production),
        "lean-aggregated": Variant("lean-aggregated", lean, production, {"METRICS_MODE": "aggregated"}),
        "lean-traced": Variant("lean-traced", lean, production, traced | {"OTEL_TRACES_SAMPLER": "always_on"}),
        "lean-unsampled": Variant("lean-unsampled", lean, production, traced | {"OTEL_TRACES_SAMPLER": "always_off"}),
        "full": Variant("full", projects["full"], production),
        "multiprocess": Variant("multiprocess", lean, production, peer_env, durable=False, peer=True),
        # The asgi interface's, each against asgi-bare: under uvicorn's worker, through Django's ASGI handler.
        "asgi-bare": Variant(
            "asgi-bare", lean_asgi, "config.settings.bench_bare", asgi | {"BENCH_BUILD_METRICS_MIDDLEWARE": "1"}
        ),
        # Any async middleware where lean's sits, doing nothing: what lean pays under ASGI before its own work.
        "asgi-floor": Variant(
            "asgi-floor", lean_asgi, "config.settings.bench_async_floor", asgi | {"BENCH_BUILD_METRICS_MIDDLEWARE": "1"}
        ),
        "asgi-lean": Variant("asgi-lean", lean_asgi, production, asgi),
        "asgi-full": Variant("asgi-full", projects["full-asgi"], production, asgi),
    }
