"""A Keycloak cluster on one machine: N nodes in production mode behind a proxy
(`KeycloakInstance.public_url`), one PostgreSQL, Infinispan over JGroups on loopback.

For the production-shape checks of node loss: every node is a `kc.sh start` as
docker-compose.yml runs it, with its own copy of the distribution, data, logs and ports;
they share the database (schema, realm, the JGroups discovery table and mTLS certificate),
the realm's environment, the bootstrap admin and the public hostname. The caller puts the
TLS-terminating proxy in front (its URL is `public_url`), and reaches each node directly at
`node.url` (its back channel) and `node.management_url` (health, metrics).

Nodes are numbered from 0 (`nodes[0]` is the first one started).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.keycloak import KeycloakInstance, KeycloakRunnerError
from devstack.ports import free_cluster_ports, free_ports
from devstack.postgres import PostgresInstance
from devstack.private import CLIENT_SECRETS

# Infinispan's view of the cluster, as Keycloak 26.5.6 exports it on the management port:
# `vendor_cluster_size{cache_manager="keycloak",...} 2.0`.
CLUSTER_SIZE_METRIC = "vendor_cluster_size"
# "ISPN000094: Received new cluster view for channel ISPN: [node-a-1234|1] (2) [...]"
VIEW_MESSAGE = "ISPN000094"
_SIZE_LINE = re.compile(
    rf"^{CLUSTER_SIZE_METRIC}(?:\{{[^}}]*\}})?\s+([0-9.eE+-]+)\s*$", re.MULTILINE
)
_VIEW_SIZE = re.compile(r"\((\d+)\)")


def cluster_size(metrics: str) -> int | None:
    """The cluster size a node's /metrics text reports, None if it has none."""
    match = _SIZE_LINE.search(metrics)
    return int(float(match.group(1))) if match else None


def view_lines(log: str) -> list[str]:
    """The ISPN000094 (new cluster view) lines of a log text."""
    return [line.strip() for line in log.splitlines() if VIEW_MESSAGE in line]


@dataclass(frozen=True)
class Formation:
    """What wait_formed saw: each running node's cluster size, its ISPN000094 lines since
    its last start, and how long the wait took."""

    sizes: dict[int, int | None]
    views: dict[int, list[str]]
    waited: float


class ClusterError(KeycloakRunnerError):
    pass


@dataclass
class KeycloakCluster:
    """Made by `KeycloakCluster.create`; `start()`, `wait_formed(n)`, `kill(i)`,
    `restart(i)`, `stop()`. `timings` records the seconds each step took."""

    base: Path
    public_url: str
    postgres: PostgresInstance
    nodes: list[KeycloakInstance]
    secrets: dict[str, str]
    # Build each node's copy once (`kc.sh build`), then `start --optimized`: the first
    # node builds, the others take its build (KeycloakInstance.adopt_build).
    prebuild: bool = True
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        base: Path,
        public_url: str,
        size: int = 2,
        env: Mapping[str, str] | None = None,
        admin_password: str | None = None,
        prebuild: bool = True,
        database_password: str | None = None,
    ) -> KeycloakCluster:
        """Install `size` nodes under `base` (node1/, node2/, ...; postgres/), with fresh
        data, not started. `env`: the realm's environment (UM_BRIDGE_URL, UM_SMTP_*, ...);
        client secrets it lacks (devstack.private.CLIENT_SECRETS) are made up, see
        `secrets`. Ports: free ones, distinct for every node."""
        if size < 1:
            raise ValueError("a cluster has at least one node")
        base = base.resolve()
        values = {name: secrets.token_urlsafe(24) for name in CLIENT_SECRETS}
        values.update({k: v for k, v in (env or {}).items() if k in CLIENT_SECRETS})
        node_env = {**(env or {}), **values}
        ports = free_ports(2 * size + 1)
        cluster_ports = free_cluster_ports(size)
        postgres = PostgresInstance(
            base / "postgres", ports[-1], database_password or secrets.token_urlsafe(16)
        )
        postgres.install(fresh=True)
        password = admin_password or secrets.token_urlsafe(16)
        nodes = []
        for i in range(size):
            node = KeycloakInstance(
                base / f"node{i + 1}",
                http_port=ports[2 * i],
                management_port=ports[2 * i + 1],
                env=node_env,
                admin_password=password,
                db_options=postgres.keycloak_options(),
                public_url=public_url,
                cluster_port=cluster_ports[i],
            )
            node.install(fresh=True)
            nodes.append(node)
        return cls(base, public_url, postgres, nodes, values, prebuild)

    @property
    def running(self) -> list[int]:
        return [i for i, node in enumerate(self.nodes) if node.running]

    def _prepare(self, i: int) -> None:
        """Node i's build: its own if made for its options, else the first built node's,
        else a build of its own (measured in timings["build"])."""
        node = self.nodes[i]
        if not self.prebuild or node.is_built():
            return
        if any(node.adopt_build(other) for other in self.nodes if other is not node):
            return
        started = time.monotonic()
        node.build()
        self.timings["build"] = time.monotonic() - started

    def start_node(self, i: int, timeout: float = 300.0) -> float:
        """Start node i and wait until it is ready; the seconds it took."""
        self._prepare(i)
        started = time.monotonic()
        self.nodes[i].start(timeout)
        return time.monotonic() - started

    def start(self, timeout: float = 300.0) -> None:
        """PostgreSQL; node 0 alone until ready (it creates the schema, imports the realm,
        the bootstrap admin and the JGroups certificate); then the others, one by one
        (their import finds the realm and skips it)."""
        started = time.monotonic()
        self.postgres.start()
        self.timings["postgres"] = time.monotonic() - started
        for i in range(len(self.nodes)):
            self.timings[f"start node{i + 1}"] = self.start_node(i, timeout)

    def metrics(self, i: int) -> str:
        response = httpx.get(f"{self.nodes[i].management_url}/metrics", timeout=10)
        response.raise_for_status()
        return response.text

    def sizes(self) -> dict[int, int | None]:
        """Each running node's cluster size (None: no answer, or no such metric)."""
        result: dict[int, int | None] = {}
        for i in self.running:
            try:
                result[i] = cluster_size(self.metrics(i))
            except httpx.HTTPError:
                result[i] = None
        return result

    def views(self) -> dict[int, list[str]]:
        """Each running node's ISPN000094 lines since its last start."""
        return {i: view_lines(self.nodes[i].log_since_start()) for i in self.running}

    def wait_formed(self, n: int | None = None, timeout: float = 120.0) -> Formation:
        """Until every running node reports a cluster of `n` (default: the running
        nodes' count) on /metrics; what they said and logged. ClusterError on timeout."""
        expected = len(self.running) if n is None else n
        started = time.monotonic()
        sizes: dict[int, int | None] = {}
        while True:
            sizes = self.sizes()
            if sizes and all(size == expected for size in sizes.values()):
                return Formation(sizes, self.views(), time.monotonic() - started)
            if time.monotonic() - started > timeout:
                raise ClusterError(
                    f"no cluster of {expected} after {timeout:.0f}s: sizes {sizes}, views "
                    f"{self.views()}"
                )
            time.sleep(0.5)

    def kill(self, i: int) -> None:
        """SIGKILL node i (its process group): lost without a word to the others."""
        self.nodes[i].kill()

    def restart(self, i: int, timeout: float = 300.0) -> float:
        """Start node i again on the same data (after kill or stop); seconds until ready
        (it joins the cluster before it is ready: wait_formed() then returns at once)."""
        elapsed = self.start_node(i, timeout)
        self.timings[f"restart node{i + 1}"] = elapsed
        return elapsed

    def stop(self) -> None:
        """Every node (last started first), then PostgreSQL, whose files go with it."""
        for node in reversed(self.nodes):
            node.stop()
        self.postgres.remove()
