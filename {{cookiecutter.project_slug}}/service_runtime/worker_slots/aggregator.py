"""The aggregated metrics mode's one port per pod: every slot's files, summed.

Run by gunicorn's master as a separate program (``python -m``), not as a
thread of the master and not as a forked child of it: a thread running in the
master while it forks workers can hold a lock (logging's, the import lock, an
allocator's) that the worker then inherits held and waits on forever, and a
forked child would inherit the master's listening sockets and lock files. A
fresh interpreter inherits none of that (``close_fds``), and it never
recycles, so its port is always served by the same long-lived process.

It imports neither Django nor gunicorn, and exits when the master is gone.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from service_runtime.worker_slots.durable import aggregated_registry
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
