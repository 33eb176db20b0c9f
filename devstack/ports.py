"""Free loopback ports for private stacks (tests, benchmarks)."""

from __future__ import annotations

import random
import socket
from pathlib import Path


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


# JGroups' failure detection (FD_SOCK2) listens on the transport's port + 50000.
FAILURE_DETECTION_OFFSET = 50000


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_cluster_ports(count: int, offset: int = FAILURE_DETECTION_OFFSET) -> list[int]:
    """Distinct ports p, free on 127.0.0.1 together with p + offset, for Keycloak's cluster
    transport (`--cache-embedded-network-bind-port`). An ephemeral port (free_ports) would
    put p + offset past 65535; p is taken below the ephemeral range, and where possible so
    that p + offset lies above it too, where no outgoing connection takes it meanwhile."""
    low, high = _ephemeral_range()
    preferred = range(max(1024, high + 1 - offset), min(low, 65536 - offset))
    fallback = range(7800, min(low, 65536 - offset))
    for candidates in (preferred, fallback):
        chosen: list[int] = []
        sockets: list[socket.socket] = []
        try:
            for port in random.sample(candidates, len(candidates)):
                pair = [socket.socket(), socket.socket()]
                try:
                    pair[0].bind(("127.0.0.1", port))
                    pair[1].bind(("127.0.0.1", port + offset))
                except OSError:
                    for sock in pair:
                        sock.close()
                    continue
                sockets += pair
                chosen.append(port)
                if len(chosen) == count:
                    return chosen
        finally:
            for sock in sockets:
                sock.close()
    raise OSError(f"no {count} free port pairs (p, p + {offset}) on 127.0.0.1")
