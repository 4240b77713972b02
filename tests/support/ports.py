"""Free loopback ports, picked at run time so parallel test runs never collide.

Only ports below the kernel's ephemeral range are picked: a port inside it can be
the local end of any outgoing connection, including our own readiness polls, and
a client socket in TIME_WAIT blocks a listener's bind on that port for a minute.
"""

import random
import socket
from pathlib import Path

LOWEST = 10000


def ephemeral_range() -> tuple[int, int]:
    path = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low, high = (int(part) for part in path.read_text().split()) if path.exists() else (32768, 60999)
    return low, high


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_block(size: int) -> range:
    """``size`` consecutive ports, below the ephemeral range, that nothing on loopback holds right now."""
    high = ephemeral_range()[0]
    for _ in range(500):
        start = random.randrange(LOWEST, high - size)
        block = range(start, start + size)
        if all(is_free(port) for port in block):
            return block
    raise RuntimeError(f"could not find {size} consecutive free ports in {LOWEST}..{high}")


def is_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
