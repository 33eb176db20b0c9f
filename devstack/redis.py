"""A private Redis server from Debian's packages (`redis-server`), for the limits' shared
counters in `make dev`, the test session and the benchmarks: loopback only, nothing saved
to disk, a child of this process (it dies with it). It runs as us: Redis does not need
another user, so the checkout's permissions are never in the way."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.keycloak import _die_with_parent


class RedisRunnerError(RuntimeError):
    pass


def redis_server() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None
    )
    if not found:
        raise RedisRunnerError("Redis is not installed: scripts/bootstrap installs `redis-server`")
    return found


@dataclass
class RedisInstance:
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def start(self, timeout: float = 30.0) -> None:
        if self.process and self.process.poll() is None:
            return
        if self._pong():
            # Debian's package starts a system Redis on 6379 where systemd runs: answering
            # in our place, it would keep counters across `make dev --fresh` unnoticed.
            raise RedisRunnerError(
                f"something already answers on port {self.port} (a system Redis?): stop it "
                "or choose another port (UM_REDIS_PORT)"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                redis_server(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisRunnerError(f"redis-server exited; see {self.log_path}")
            if self._pong() and self.process.poll() is None:
                return
            time.sleep(0.1)
        self.stop()
        raise RedisRunnerError(f"Redis was not ready after {timeout:.0f}s")

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if not process or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
