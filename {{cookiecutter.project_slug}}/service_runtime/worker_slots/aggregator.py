"""The aggregated metrics mode's one port per pod: every slot's files, summed.

Run by gunicorn's master as a separate program (``python -m``), neither a thread
of the master (a thread may hold a lock that every forked worker then inherits
held) nor a forked child (it would inherit the master's sockets and lock files).
A fresh interpreter inherits none of that and never recycles. It imports neither
Django nor gunicorn, and exits when the master is gone.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from service_runtime.worker_slots.collectors import aggregated_registry
from service_runtime.worker_slots.exporter import MetricsServer

EXPORTER_NAME = "aggregated"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path, help="the instance's slot directory")
    parser.add_argument("port", type=int)
    parser.add_argument("address")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(process)d %(message)s")

    master = os.getppid()
    registry = aggregated_registry(args.directory)
    MetricsServer(registry, args.port, args.address, directory=args.directory, name=EXPORTER_NAME).start()
    while os.getppid() == master:  # reparented: the master died without stopping us
        time.sleep(1)


if __name__ == "__main__":
    main()
