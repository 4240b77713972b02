"""Instructions a whole command executes, counted by valgrind's callgrind.

The figure other tenants of a shared machine cannot disturb.
"""

import re
import subprocess
from pathlib import Path


def instructions(command: list[str], cwd: Path, env: dict[str, str], what: str) -> int:
    """Run ``command`` under callgrind and return the instructions it counted.

    ``what`` names the run in a failure.
    """
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"callgrind run of {what} failed:\n{result.stderr[-3000:]}")
    return int(found.group(1))
