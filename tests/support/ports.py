"""Free loopback ports, picked at run time so parallel test runs never collide."""

import random
import socket


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_block(size: int, low: int = 20000, high: int = 60000) -> range:
    """``size`` consecutive ports that nothing on loopback holds right now."""
    for _ in range(500):
        start = random.randrange(low, high - size)
        block = range(start, start + size)
        if all(is_free(port) for port in block):
            return block
    raise RuntimeError(f"could not find {size} consecutive free ports in {low}..{high}")


def is_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
