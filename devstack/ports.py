"""Free loopback ports for private stacks (tests, benchmarks)."""

from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    """Distinct free ports: all bound at once, so that no two calls in a row hand out the
    same one (a port handed out twice once failed a whole test run)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
