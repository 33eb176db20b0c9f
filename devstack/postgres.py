"""A private PostgreSQL server from Debian's packages, for Keycloak's database when the
benchmarks or the production-mode checks need the real thing instead of H2.

One cluster per directory, on a loopback port, password authentication, started as a child
of this process (it dies with it). When this process is root, the server runs as the
`postgres` system user: PostgreSQL refuses to run as root.

That user must reach its data directory, which a checkout under a private directory (root's
home is mode 700 on Debian, a `mktemp -d` workspace, a CI runner's home) does not allow, and
loosening the checkout's permissions is not ours to do. So the server's files then live in a
private directory owned by that user under a world-traversable temporary root; the instance
directory in the checkout records its path (`runtime-dir`), so that `remove()`, or the next
fresh install after a crash, deletes it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.keycloak import _die_with_parent


class PostgresRunnerError(RuntimeError):
    pass


RUNTIME_PREFIX = "um-accounts-postgres-"
RUNTIME_RECORD = "runtime-dir"


def _traversable_by_all(path: Path) -> bool:
    """Every directory from / down to `path` lets any user through (o+x)."""
    path = path.resolve()
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in (path, *path.parents))


def runtime_root() -> Path:
    """Where another user's private directory can go: $TMPDIR if every user can traverse
    it, else /tmp or /var/tmp (a CI runner may point TMPDIR into its private home)."""
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp"):  # noqa: S108 - system temp roots
        path = Path(candidate)
        if path.is_dir() and _traversable_by_all(path):
            return path.resolve()
    raise PostgresRunnerError("no temporary directory that every user can traverse")


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin (Debian's layout), or where initdb is."""
    majors = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if majors:
        return majors[-1]
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresRunnerError(
        "PostgreSQL is not installed: scripts/bootstrap installs Debian's `postgresql`"
    )


@dataclass
class PostgresInstance:
    directory: Path
    port: int
    password: str
    user: str = "keycloak"
    database: str = "keycloak"
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.directory = self.directory.resolve()

    @property
    def _record(self) -> Path:
        return self.directory / RUNTIME_RECORD

    @property
    def runtime(self) -> Path:
        """Where the server's own files live: the instance directory when the server runs as
        us, else the private directory recorded for it (see the module's docstring)."""
        if not self._system_user():
            return self.directory
        recorded = self._recorded_runtime()
        if recorded is None:
            raise PostgresRunnerError(f"not installed: {self.directory} records no runtime-dir")
        return recorded

    @property
    def data(self) -> Path:
        return self.runtime / "pgdata"

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{self.database}"

    def keycloak_options(self) -> list[str]:
        return [
            "--db=postgres",
            f"--db-url={self.jdbc_url}",
            f"--db-username={self.user}",
            f"--db-password={self.password}",
        ]

    @staticmethod
    def _system_user() -> str | None:
        """Who runs the server: `postgres` when we are root, else ourselves (None)."""
        return "postgres" if os.getuid() == 0 else None

    def _recorded_runtime(self) -> Path | None:
        """The recorded private directory, if the record names one of ours: a record edited
        by hand must not make `remove()` delete anything else."""
        try:
            path = Path(self._record.read_text().strip())
        except FileNotFoundError:
            return None
        if not path.is_absolute() or not path.name.startswith(RUNTIME_PREFIX) or ".." in path.parts:
            raise PostgresRunnerError(f"{self._record} names {path}, not a runtime directory")
        return path

    def _make_runtime(self, owner: str) -> None:
        entry = pwd.getpwnam(owner)
        # mkdtemp: mode 700, a name nobody can predict; then handed over to the server's user.
        path = Path(tempfile.mkdtemp(prefix=RUNTIME_PREFIX, dir=runtime_root()))
        os.chown(path, entry.pw_uid, entry.pw_gid)
        self._record.write_text(f"{path}\n")

    def remove(self) -> None:
        """Stop the server and delete its files, the private directory included."""
        self.stop()
        with contextlib.suppress(PostgresRunnerError):
            recorded = self._recorded_runtime()
            if recorded is not None:
                shutil.rmtree(recorded, ignore_errors=True)
        self._record.unlink(missing_ok=True)
        shutil.rmtree(self.directory / "pgdata", ignore_errors=True)

    def install(self, fresh: bool = False) -> None:
        if fresh:
            self.remove()
        owner = self._system_user()
        if owner:
            recorded = self._recorded_runtime()
            if recorded is None or not recorded.is_dir():  # never made, or a reboot emptied /tmp
                self.directory.mkdir(parents=True, exist_ok=True)
                self._make_runtime(owner)
        if (self.data / "PG_VERSION").is_file():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.data.mkdir()
        if owner:
            entry = pwd.getpwnam(owner)
            os.chown(self.data, entry.pw_uid, entry.pw_gid)
        # The password file sits beside the data: the server's user must read it.
        with tempfile.NamedTemporaryFile("w", dir=self.runtime, delete=False) as pwfile:
            pwfile.write(self.password + "\n")
        if owner:
            os.chown(pwfile.name, pwd.getpwnam(owner).pw_uid, -1)
        try:
            subprocess.run(  # noqa: S603 - fixed argv
                [
                    str(find_bin_dir() / "initdb"),
                    f"--pgdata={self.data}",
                    f"--username={self.user}",
                    f"--pwfile={pwfile.name}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
                user=owner,
                group=owner,
                cwd=self.runtime,  # the checkout may be out of that user's reach
            )
        except subprocess.CalledProcessError as error:
            shutil.rmtree(self.data, ignore_errors=True)
            detail = error.stderr.decode(errors="replace")
            raise PostgresRunnerError(f"initdb failed: {detail}") from error
        finally:
            os.unlink(pwfile.name)

    def start(self, timeout: float = 60.0) -> None:
        if self.process and self.process.poll() is None:
            return
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                str(find_bin_dir() / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.data}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            cwd=self.runtime,
            user=self._system_user(),
            group=self._system_user(),
        )
        log.close()
        self._wait_ready(timeout)
        self._create_database()

    def _psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(  # noqa: S603 - fixed argv
            [
                str(find_bin_dir() / "psql"),
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--username={self.user}",
                f"--dbname={database}",
                "--no-psqlrc",
                "--tuples-only",
                "--no-align",
                "--command",
                sql,
            ],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise PostgresRunnerError(f"psql: {result.stderr.strip()}")
        return result.stdout.strip()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise PostgresRunnerError(
                    f"PostgreSQL exited with code {self.process.returncode}; see {self.log_path}"
                )
            with contextlib.suppress(PostgresRunnerError):
                self._psql("SELECT 1")
                return
            time.sleep(0.3)
        self.stop()
        raise PostgresRunnerError(f"PostgreSQL was not ready after {timeout:.0f}s")

    def _create_database(self) -> None:
        if not self.database.isidentifier():
            raise PostgresRunnerError(f"not a database name: {self.database!r}")
        # The name is checked just above and is ours, never input.
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'")  # noqa: S608
        if not exists:
            self._psql(f'CREATE DATABASE "{self.database}"')

    def stop(self, timeout: float = 30.0) -> None:
        """SIGINT: PostgreSQL's fast shutdown."""
        process, self.process = self.process, None
        if not process or process.poll() is not None:
            return
        process.send_signal(2)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
