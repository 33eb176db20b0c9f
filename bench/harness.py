"""A private stack for benchmarks: Keycloak (fresh data), the SMTP sink, Redis, the bridge
in its own process, all on free loopback ports. Nothing else runs against it. More bridges
can join it (`bridge_process`): another tree's (`source_tree`, e.g. an earlier commit), or
one that reaches Keycloak through the counting proxy (`count_proxy`, bench/countproxy.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bridge.gateway.keycloak.realm_setup import RealmSetup
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
    started in its own session (Keycloak's JVM, PostgreSQL and its backends), and of the
    leader's children that left the group (PostgreSQL's backends each call setsid(): before
    they count only once they have exited)."""
    if group_leader is None:
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if group_leader in (int(fields[2]), int(fields[1])):  # pgrp, or parent
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


REPO = Path(__file__).resolve().parents[1]


@dataclass
class BenchStack:
    keycloak: KeycloakInstance
    bridge_url: str
    secrets: dict[str, str]
    mail_dir: Path
    database: str
    postgres_pid: int | None = None
    bridge_pid: int | None = None
    # What every bridge of the stack is started with (bridge_process adds its own).
    bridge_env: dict[str, str] = field(default_factory=dict)

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
    bridge_env: dict[str, str] | None = None,
    database: str = "h2",
    theme_cache: bool = False,
    name: str = "bench-keycloak",
    version: str | None = None,
) -> Iterator[BenchStack]:
    """`name`: the instance's directory under var/ (stacks that run at once need their
    own); `version`: a Keycloak of devstack.keycloak.KNOWN_VERSIONS (default: the selected
    one, UM_KEYCLOAK_VERSION or the pin)."""
    mail_dir = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    private = private_keycloak(name, database, version=version)
    keycloak, values, bridge_url = private.keycloak, private.secrets, private.bridge_url
    bridge_port = private.bridge_port
    # Production caches the theme's templates; start-dev does not unless told.
    private.keycloak.dev_theme_caching = theme_cache
    sink = start_mail_sink(mail_dir, port=private.smtp_port)
    counters = RedisInstance(private.keycloak.directory / "redis", free_ports(1)[0])
    env = {
        **os.environ,
        **values,
        "UM_KEYCLOAK_URL": keycloak.url,
        # The public URL the realm registered (redirect URIs): every bridge of the stack
        # says it, whatever port it listens on.
        "UM_BRIDGE_URL": bridge_url,
        **cookie_secrets(),
        # Capacity is measured, not the limits: the per-network limit and the realm's mail
        # budget (600 a minute by default, hit within the first 20 s of load) are lifted.
        "UM_ADDRESS_LIMIT": "1000000/60",
        "UM_CHALLENGE_AFTER": "1000000",
        "UM_MAILS_PER_MINUTE": "1000000",
        "UM_REDIS_URL": counters.url,
        "UM_SMTP_HOST": "127.0.0.1",
        "UM_SMTP_PORT": str(private.smtp_port),
        "UM_SMTP_STARTTLS": "false",
        **(bridge_env or {}),
    }
    try:
        counters.start()
        private.start()
        # The permissions the realm file cannot carry (the bridge's among them), as in
        # `make dev` and the tests.
        setup = RealmSetup.administrator(
            keycloak.url, "um", keycloak.admin_user, keycloak.admin_password
        )
        asyncio.run(setup.ensure_permissions())
        with bridge_process(env, bridge_port) as bridge:
            pg = private.postgres
            pg_pid = pg.process.pid if pg and pg.process else None
            yield BenchStack(
                keycloak, bridge_url, values, mail_dir, private.database, pg_pid, bridge.pid, env
            )
    finally:
        private.stop()
        counters.stop()
        sink.stop()
        shutil.rmtree(mail_dir, ignore_errors=True)  # thousands of mails: nothing left behind


@dataclass
class Bridge:
    url: str
    pid: int


@contextlib.contextmanager
def bridge_process(
    env: dict[str, str], port: int, source: Path = REPO, **overrides: str
) -> Iterator[Bridge]:
    """`bridge serve` on `port`, from the tree `source` (its `bridge` package first on the
    path, with this checkout's virtualenv), in its own process group; ready when its
    /readyz answers (Keycloak grants its service token)."""
    url = f"http://127.0.0.1:{port}"
    process_env = {**env, **overrides, "PYTHONPATH": str(source)}
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bridge", "serve", "--port", str(port)],
        env=process_env,
        cwd=source,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: cpu_seconds() can count it
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bridge from {source} did not become ready")
            time.sleep(0.2)
        yield Bridge(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextlib.contextmanager
def source_tree(commit: str) -> Iterator[Path]:
    """The repository's files as of `commit` (git archive) in a temporary directory."""
    directory = Path(tempfile.mkdtemp(prefix=f"bench-{commit[:7]}-"))
    try:
        archive = subprocess.run(  # noqa: S603
            ["git", "-C", str(REPO), "archive", commit],  # noqa: S607
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)  # noqa: S603, S607
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


Row = list[float]  # [requests, seconds until Keycloak's first byte, request body bytes]


@dataclass
class CountProxy:
    """bench/countproxy.py in its own process: one listening port per name."""

    urls: dict[str, str]
    control: str
    pid: int

    def counts(self) -> dict[str, dict[str, Row]]:
        table: dict[str, dict[str, Row]] = httpx.get(f"{self.control}/counts", timeout=10).json()
        return table

    def reset(self) -> None:
        httpx.post(f"{self.control}/reset", timeout=10)


@contextlib.contextmanager
def count_proxy(upstream: str, names: list[str]) -> Iterator[CountProxy]:
    """A counting proxy in front of `upstream` (http://host:port), one port per name."""
    host_port = upstream.removeprefix("http://").rstrip("/")
    _, _, port = host_port.rpartition(":")
    *ports, control = free_ports(len(names) + 1)
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            str(Path(__file__).with_name("countproxy.py")),
            "--upstream",
            f"127.0.0.1:{port}",
            "--host-header",
            host_port,
            "--control",
            str(control),
            *(f"--listen={name}={p}" for name, p in zip(names, ports, strict=True)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the counting proxy did not start")
        urls = {name: f"http://127.0.0.1:{p}" for name, p in zip(names, ports, strict=True)}
        yield CountProxy(urls, f"http://127.0.0.1:{control}", process.pid)
    finally:
        process.terminate()
        process.wait(10)
