"""A private stack for benchmarks: Keycloak (fresh data), the SMTP sink, the bridge in its
own process, all on free loopback ports. Nothing else runs against it."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.keycloak import KeycloakInstance
from devstack.mailsink import start_mail_sink
from devstack.ports import free_ports
from devstack.private import cookie_secrets, private_keycloak
from devstack.redis import RedisInstance


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:7.1f} ms   p95 {percentile(values, 95) * 1000:7.1f} ms"
        f"   mean {statistics.fmean(values) * 1000:7.1f} ms   n={len(values)}"
    )


def cpu_seconds(group_leader: int | None) -> float:
    """CPU time (user + system, reaped children included) of a process group: a server
    started in its own session (Keycloak's JVM, PostgreSQL and its backends)."""
    if group_leader is None:
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == group_leader:  # pgrp
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class BenchStack:
    keycloak: KeycloakInstance
    bridge_url: str
    secrets: dict[str, str]
    mail_dir: Path
    database: str
    postgres_pid: int | None = None
    bridge_pid: int | None = None

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each server: the bridge, Keycloak's JVM, PostgreSQL."""
        process = self.keycloak.process
        return {
            "bridge": cpu_seconds(self.bridge_pid),
            "Keycloak": cpu_seconds(process.pid if process else None),
            "PostgreSQL": cpu_seconds(self.postgres_pid),
        }

    def admin(self) -> httpx.Client:
        token = self.keycloak.admin_token()
        return httpx.Client(
            base_url=f"{self.keycloak.url}/admin/realms/um",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )


@contextlib.contextmanager
def bench_stack(
    bridge_env: dict[str, str] | None = None, database: str = "h2"
) -> Iterator[BenchStack]:
    mail_dir = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    private = private_keycloak("bench-keycloak", database)
    keycloak, values, bridge_url = private.keycloak, private.secrets, private.bridge_url
    bridge_port = private.bridge_port
    sink = start_mail_sink(mail_dir, port=private.smtp_port)
    counters = RedisInstance(private.keycloak.directory / "redis", free_ports(1)[0])
    counters.start()
    private.start()
    env = {
        **os.environ,
        **values,
        "UM_KEYCLOAK_URL": keycloak.url,
        "UM_BRIDGE_URL": bridge_url,
        **cookie_secrets(),
        "UM_ADDRESS_LIMIT": "1000000/60",
        "UM_CHALLENGE_AFTER": "1000000",
        "UM_REDIS_URL": counters.url,
        "UM_SMTP_HOST": "127.0.0.1",
        "UM_SMTP_PORT": str(private.smtp_port),
        "UM_SMTP_STARTTLS": "false",
        **(bridge_env or {}),
    }
    bridge = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bridge", "serve", "--port", str(bridge_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: cpu_seconds() can count it
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{bridge_url}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the bridge did not become ready")
            time.sleep(0.2)
        pg_pid = (
            private.postgres.process.pid if private.postgres and private.postgres.process else None
        )
        yield BenchStack(
            keycloak, bridge_url, values, mail_dir, private.database, pg_pid, bridge.pid
        )
    finally:
        bridge.terminate()
        bridge.wait(10)
        private.stop()
        counters.stop()
        sink.stop()
