"""Local stand-ins for the third-party images the baked compose.yaml names: no registry is reachable here.

Each is built once on the local python base (tests/support/image.py) under the very
name compose.yaml pulls, and labelled with its recipe, so a later run reuses it and a
changed recipe rebuilds it. Prometheus and Alertmanager are this machine's Debian
binaries (Go, linked to libc only); PostgreSQL is Debian's package, with an entry point
that does what the official image's does with POSTGRES_USER, POSTGRES_PASSWORD and
POSTGRES_DB on an empty data directory.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from tests.support import image

RECIPE = 1  # raise when a recipe below changes
RECIPE_LABEL = "template.stand-in.recipe"

POSTGRES_ENTRYPOINT = r"""#!/bin/sh
# What the official postgres image's entry point does for the stack: initialise an empty data
# directory for POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, then serve on every address.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/password
    initdb --username="$POSTGRES_USER" --pwfile=/tmp/password --auth-local=trust --auth-host=scram-sha-256 \
        "$PGDATA" >/dev/null
    rm /tmp/password
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" \
        | postgres --single -D "$PGDATA" postgres >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
"""

PROMETHEUS = """FROM {base}
COPY prometheus /bin/prometheus
RUN mkdir -p /prometheus /etc/prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
"""

ALERTMANAGER = """FROM {base}
COPY prometheus-alertmanager /bin/alertmanager
COPY default.tmpl email.tmpl /usr/share/prometheus/alertmanager/
RUN mkdir -p /alertmanager /etc/alertmanager && chown nobody:nogroup /alertmanager
USER nobody
WORKDIR /alertmanager
ENTRYPOINT ["/bin/alertmanager"]
"""

POSTGRES = """FROM {base}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/*
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /var/lib/postgresql/data \
    && chown -R postgres:postgres /var/lib/postgresql && chmod 700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data PGHOST=/tmp
USER postgres
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
"""

# An image's repository, as compose.yaml names it -> its Containerfile and the host files it copies.
RECIPES = {
    "docker.io/prom/prometheus": (PROMETHEUS, {"prometheus": Path("/usr/bin/prometheus")}),
    "docker.io/prom/alertmanager": (
        ALERTMANAGER,
        {
            "prometheus-alertmanager": Path("/usr/bin/prometheus-alertmanager"),
            # Debian's build reads its notification templates from here.
            "default.tmpl": Path("/usr/share/prometheus/alertmanager/default.tmpl"),
            "email.tmpl": Path("/usr/share/prometheus/alertmanager/email.tmpl"),
        },
    ),
    "docker.io/library/postgres": (POSTGRES, {"docker-entrypoint.sh": POSTGRES_ENTRYPOINT}),
}


def unavailable() -> str | None:
    missing = [
        str(path)
        for _, files in RECIPES.values()
        for path in files.values()
        if isinstance(path, Path) and not path.exists()
    ]
    if missing:
        return f"needs {', '.join(missing)} (Debian packages prometheus and prometheus-alertmanager) for the stand-ins"
    return image.unavailable()


def stand_in(name: str, base: str) -> str:
    """Build (or reuse) the stand-in for ``name`` (repository:tag, as compose.yaml writes it)."""
    repository = name.rsplit(":", 1)[0]
    if repository not in RECIPES:
        raise LookupError(f"{name}: no stand-in recipe for this image (known: {', '.join(sorted(RECIPES))})")
    containerfile, files = RECIPES[repository]
    digest = hashlib.sha256(json.dumps([RECIPE, base, containerfile]).encode())
    for file_name, source in sorted(files.items()):
        digest.update(file_name.encode() + (source.read_bytes() if isinstance(source, Path) else source.encode()))
    recipe = digest.hexdigest()[:16]
    if image.podman("image", "exists", name, check=False).returncode == 0:
        labels = image.image_config(name).get("Labels") or {}
        if labels.get(RECIPE_LABEL) == recipe:
            return name
    with tempfile.TemporaryDirectory() as scratch:
        context = Path(scratch)
        (context / "Containerfile").write_text(containerfile.format(base=base) + f'LABEL {RECIPE_LABEL}="{recipe}"\n')
        for file_name, source in files.items():
            if isinstance(source, Path):
                shutil.copy2(source, context / file_name)
            else:
                (context / file_name).write_text(source)
        image.run("buildah", "bud", "--isolation", "chroot", "--tag", name, str(context), timeout=900)
    return name
