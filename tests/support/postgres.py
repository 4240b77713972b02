"""A private PostgreSQL cluster for the tests: on a free loopback port, as an unprivileged user, removed afterwards.

The server binaries come from Debian's ``postgresql`` package (/usr/lib/postgresql/<version>/bin).
PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the
package's ``postgres`` user, in a directory of its own under the system temp
directory (pytest's temp directories are root's, 0700, out of its reach).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.ports import free_block

SUPERUSER = "postgres"


def server_binaries() -> Path | None:
    """The newest installed server's bin directory, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def skip_reason() -> str | None:
    if server_binaries() is None:
        return "PostgreSQL server is not installed (Debian package 'postgresql'; .ci/run installs it)"
    if os.geteuid() == 0 and not _user_exists(SUPERUSER):
        return "running as root and no 'postgres' user to run PostgreSQL as (Debian package 'postgresql' makes one)"
    return None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class Postgres:
    """``initdb`` and ``pg_ctl start`` on a free port; ``remove()`` stops it and deletes every file."""

    def __init__(self) -> None:
        self.bin = server_binaries()
        assert self.bin is not None, skip_reason()
        self.port = free_block(1)[0]
        self.root = Path(tempfile.mkdtemp(prefix="template-tests-pg-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.owner = pwd.getpwnam(SUPERUSER) if os.geteuid() == 0 else None
        if self.owner is not None:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        self._as_owner(self.bin / "initdb", "-D", self.data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()

    def _as_owner(self, *argv: object, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(arg) for arg in argv]
        if self.owner is not None:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        # Loopback TCP only, its socket in its own directory; no fsync: test data need not survive a crash.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._as_owner(self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session at once, as a database going away does."""
        self._as_owner(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def url(self, database: str) -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [self.bin / "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database]
            + ["-v", "ON_ERROR_STOP=1", "-Atc", statement],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr}")
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def client_connections(self, database: str) -> int:
        """Sessions of clients other than this query's own, connected to ``database``."""
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            f" AND datname = '{database}' AND pid <> pg_backend_pid()"
        )
        return int(self.sql(query))

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
