"""Wait until the default database accepts a connection, so a migration started with it does not fail.

A container started beside its database (the local stack's compose.yaml, where podman
before 4.6 starts services without waiting for their health) runs this before
``migrate``. Exit 0 once connected; exit 1 after ``--timeout`` seconds, naming the last
error (never the database URL, which holds the password).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connection

RETRY_SECONDS = 1.0


class Command(BaseCommand):
    help = "Wait until the default database accepts a connection (exit 1 after --timeout seconds)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait at most (default 60)")

    def handle(self, *args: Any, **options: Any) -> None:
        timeout: float = options["timeout"]
        if not timeout > 0:
            raise CommandError(f"--timeout={timeout}: give a number of seconds above 0")
        deadline = time.monotonic() + timeout
        while True:
            try:
                connection.ensure_connection()
            except OperationalError as error:
                if time.monotonic() >= deadline:
                    cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    raise CommandError(f"the database refused connections for {timeout:g} s; last: {cause}") from None
                time.sleep(RETRY_SECONDS)
                continue
            connection.close()
            self.stdout.write(f"The database ({connection.vendor}) accepts connections.")
            return
