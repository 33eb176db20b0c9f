"""The PostgreSQL runner from a checkout that only its owner can enter (root's home on
Debian, a `mktemp -d` workspace): a real server from Debian's packages, started, queried,
removed, and nothing of it left outside the checkout."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from devstack.ports import free_ports
from devstack.postgres import RUNTIME_PREFIX, PostgresInstance, runtime_root


def _runtime_dirs() -> set[Path]:
    return set(runtime_root().glob(f"{RUNTIME_PREFIX}*"))


def test_runner_in_a_private_directory(tmp_path: Path) -> None:
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    private.chmod(0o700)  # whatever the umask
    before = _runtime_dirs()
    (port,) = free_ports(1)
    instance = PostgresInstance(
        private / "checkout" / "var" / "postgres", port, "pw-" + secrets.token_hex(8)
    )
    try:
        instance.install(fresh=True)
        instance.start()
        assert instance._psql("SELECT current_database()", "keycloak") == "keycloak"
        if os.getuid() == 0:
            # The server runs as `postgres`, which cannot enter `private`: its files moved out.
            assert not instance.data.is_relative_to(private)
            assert instance.data.parent.stat().st_mode & 0o777 == 0o700
            assert instance.data.parent.stat().st_uid != 0
            assert instance.data.parent in _runtime_dirs() - before
        assert private.stat().st_mode & 0o777 == 0o700  # the checkout was not opened up
    finally:
        instance.remove()
    assert instance.process is None
    assert _runtime_dirs() == before
    assert not (private / "checkout" / "var" / "postgres" / "runtime-dir").exists()


def test_fresh_install_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    """A run killed with -9 never calls remove(); the record in the checkout lets the next
    fresh install delete the orphaned directory."""
    (port,) = free_ports(1)
    first = PostgresInstance(tmp_path / "pg", port, "one")
    first.install(fresh=True)
    orphan = first.data
    second = PostgresInstance(tmp_path / "pg", port, "two")
    try:
        second.install(fresh=True)
        data = second.data
        assert (data / "PG_VERSION").is_file()
        if os.getuid() == 0:
            assert not orphan.exists()
            assert data != orphan
    finally:
        second.remove()
    assert not data.exists()
