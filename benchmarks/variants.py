"""The ways the benchmarks run the service: a bake, a settings module, and how its metrics are kept and read."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.support.paths import REPO

# Files the benchmark adds to the lean bake (real modules, under the repository's lint):
# settings without the metrics middlewares or with an empty one in their place, and the
# peer's gunicorn configuration.
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


def bake_variants(workdir: Path, collector: str) -> dict[str, Variant]:
    """Every setup; ``collector`` is the OTLP/HTTP endpoint the traced ones export to."""
    projects = {}
    for profile in ("lean", "full"):
        output = workdir / profile
        context = {"metrics_profile": profile, "metrics_mode": "per_worker"}
        projects[profile] = Path(cookiecutter(str(REPO), no_input=True, output_dir=str(output), extra_context=context))
    lean = projects["lean"]
    shutil.copytree(OVERLAY, lean, dirs_exist_ok=True)
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
    }
