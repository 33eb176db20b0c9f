"""The runner's command lines and process handling, without a Keycloak: the dev and TLS
production modes as the test session runs them, and the production mode behind a proxy,
alone or in a cluster, as the production-shape stage runs it (devstack.cluster)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from devstack.cluster import cluster_size, view_lines
from devstack.keycloak import BUILD_OUTPUT, KeycloakInstance
from devstack.ports import FAILURE_DETECTION_OFFSET, free_cluster_ports
from devstack.tls import LocalTls

DB = [
    "--db=postgres",
    "--db-url=jdbc:postgresql://127.0.0.1:5432/keycloak",
    "--db-username=keycloak",
    "--db-password=secret",
]
PUBLIC = "https://localhost:18443"


def kc(instance: KeycloakInstance) -> str:
    return str(instance.home / "bin" / "kc.sh")


def proxied(tmp_path: Path, cluster_port: int | None = 11800) -> KeycloakInstance:
    return KeycloakInstance(
        tmp_path / "node1",
        http_port=18080,
        management_port=19001,
        db_options=DB,
        public_url=PUBLIC,
        cluster_port=cluster_port,
    )


def test_the_dev_command_line_is_the_one_the_tests_run(tmp_path: Path) -> None:
    instance = KeycloakInstance(tmp_path, http_port=1234, management_port=5678)
    assert instance.command() == [
        kc(instance),
        "start-dev",
        "--import-realm",
        "--http-host=127.0.0.1",
        "--health-enabled=true",
        "--metrics-enabled=true",
        "--event-metrics-user-enabled=true",
        "--http-management-port=5678",
        "--proxy-headers=xforwarded",
        "--proxy-trusted-addresses=127.0.0.2",
        "--http-port=1234",
        "--hostname-strict=false",
        "--spi-theme--static-max-age=-1",
        "--spi-theme--cache-themes=false",
        "--spi-theme--cache-templates=false",
    ]
    assert instance.url == "http://localhost:1234"
    assert instance.mode == "development (start-dev)"


def test_the_tls_production_command_line_is_the_one_the_tests_run(tmp_path: Path) -> None:
    tls = LocalTls(tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key")
    instance = KeycloakInstance(
        tmp_path, http_port=8443, management_port=9000, db_options=DB, tls=tls
    )
    assert instance.command() == [
        kc(instance),
        "start",
        "--import-realm",
        "--http-host=127.0.0.1",
        "--health-enabled=true",
        "--metrics-enabled=true",
        "--event-metrics-user-enabled=true",
        "--http-management-port=9000",
        "--proxy-headers=xforwarded",
        "--proxy-trusted-addresses=127.0.0.2",
        *DB,
        "--https-port=8443",
        f"--https-certificate-file={tls.certificate}",
        f"--https-certificate-key-file={tls.key}",
        "--hostname=https://localhost:8443",
        "--http-enabled=false",
        "--http-management-scheme=http",
    ]
    assert instance.mode == "production (start, HTTPS)"


def test_behind_a_proxy_keycloak_runs_as_docker_compose_runs_it(tmp_path: Path) -> None:
    instance = proxied(tmp_path, cluster_port=None)
    argv = instance.command()
    assert argv[:2] == [kc(instance), "start"]
    for option in (
        "--import-realm",
        "--http-host=127.0.0.1",
        "--http-port=18080",
        "--http-enabled=true",
        f"--hostname={PUBLIC}",
        "--hostname-backchannel-dynamic=true",
        "--proxy-headers=xforwarded",
        "--proxy-trusted-addresses=127.0.0.1",
        "--health-enabled=true",
        "--metrics-enabled=true",
        "--event-metrics-user-enabled=true",
        "--http-management-port=19001",
        *DB,
    ):
        assert option in argv, option
    # TLS ends at the proxy; no dev-mode leniency; not clustered unless asked.
    assert not [arg for arg in argv if arg.startswith(("--https", "--cache"))]
    assert "--hostname-strict=false" not in argv and "--optimized" not in argv
    # The node's own listener, for the back channel; the public URL is the proxy's.
    assert instance.url == "http://localhost:18080"
    assert instance.management_url == "http://127.0.0.1:19001"


def test_a_cluster_node_binds_its_transport_to_loopback(tmp_path: Path) -> None:
    argv = proxied(tmp_path).command()
    assert argv[-3:] == [
        "--cache=ispn",
        "--cache-embedded-network-bind-address=127.0.0.1",
        "--cache-embedded-network-bind-port=11800",
    ]
    assert f"--hostname={PUBLIC}" in argv
    assert "cluster port 11800" in proxied(tmp_path).mode


def test_modes_that_make_no_sense_are_refused(tmp_path: Path) -> None:
    tls = LocalTls(tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key")
    with pytest.raises(ValueError, match="exclude"):
        KeycloakInstance(tmp_path, tls=tls, public_url=PUBLIC)
    with pytest.raises(ValueError, match="production"):
        KeycloakInstance(tmp_path, cluster_port=11800)
    with pytest.raises(ValueError, match="full URL"):
        KeycloakInstance(tmp_path, public_url="localhost:18443")


def test_the_build_takes_the_build_time_options_only(tmp_path: Path) -> None:
    assert proxied(tmp_path).build_options() == [
        "--health-enabled=true",
        "--metrics-enabled=true",
        "--event-metrics-user-enabled=true",
        "--db=postgres",
    ]


def fake_build(instance: KeycloakInstance) -> None:
    """What build() leaves behind, without running kc.sh build."""
    output = instance.home / BUILD_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(b"built for " + " ".join(instance.build_options()).encode())
    instance._build_stamp.write_text(instance._stamp_text(instance.build_options()))


def test_a_built_node_starts_optimized_and_lends_its_build(tmp_path: Path) -> None:
    first, second = proxied(tmp_path / "a"), proxied(tmp_path / "b", cluster_port=11801)
    fake_build(first)
    assert first.is_built() and first.command()[:3] == [kc(first), "start", "--optimized"]
    assert not second.is_built() and "--optimized" not in second.command()
    assert second.adopt_build(first)
    assert second.command()[:3] == [kc(second), "start", "--optimized"]
    # Re-augmented by something else since (a plain `start` with other options): not
    # optimized any more.
    (second.home / BUILD_OUTPUT).write_bytes(b"rebuilt")
    assert not second.is_built() and "--optimized" not in second.command()


def test_a_build_for_other_options_is_not_lent(tmp_path: Path) -> None:
    built = proxied(tmp_path / "a")
    fake_build(built)
    other = KeycloakInstance(tmp_path / "b", public_url=PUBLIC, db_options=())
    assert not other.adopt_build(built)
    assert not other.is_built()


def test_dev_mode_never_starts_optimized(tmp_path: Path) -> None:
    instance = KeycloakInstance(tmp_path)
    (instance.home / BUILD_OUTPUT).parent.mkdir(parents=True)
    (instance.home / BUILD_OUTPUT).write_bytes(b"x")
    instance._build_stamp.write_text(instance._stamp_text(instance.build_options()))
    assert not instance.is_built() and "--optimized" not in instance.command()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by its parent, init here) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_kill_takes_the_whole_process_group_without_a_word(tmp_path: Path) -> None:
    instance = KeycloakInstance(tmp_path)
    # kc.sh runs the JVM as its child and traps SIGTERM; so does this stand-in.
    pid_file = tmp_path / "child.pid"
    instance.process = subprocess.Popen(
        ["bash", "-c", f"trap '' TERM; sleep 300 & echo $! > {pid_file}; wait"],
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not (pid_file.is_file() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(pid_file.read_text())
    leader = instance.process.pid
    assert instance.running
    instance.kill()
    assert instance.process is None and not instance.running
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child) and not alive(leader)
    instance.kill()  # nothing left: no error


def test_kill_after_the_process_ended_is_quiet(tmp_path: Path) -> None:
    instance = KeycloakInstance(tmp_path)
    instance.process = subprocess.Popen(["true"], start_new_session=True)
    instance.process.wait()
    instance.kill()
    assert instance.process is None


def test_cluster_ports_leave_room_for_failure_detection() -> None:
    ports = free_cluster_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        assert port + FAILURE_DETECTION_OFFSET <= 65535
        for candidate in (port, port + FAILURE_DETECTION_OFFSET):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", candidate))


METRICS = """\
# TYPE vendor_cluster_size gauge
# HELP vendor_cluster_size Size of the cluster in number of nodes
vendor_cluster_size{cache_manager="keycloak",node="vm-13831"} 2.0
# TYPE vendor_jgroups_fd_sock2_get_actual_bind_port gauge
vendor_jgroups_fd_sock2_get_actual_bind_port{cache_manager="keycloak"} 64668.0
"""

LOG = """\
2026-11-23 02:38:03,313 INFO  [org.infinispan.CLUSTER] (main) ISPN000078: Starting JGroups \
channel `ISPN` with stack `jdbc-ping`
2026-11-23 02:38:15,336 INFO  [org.infinispan.CLUSTER] (jgroups-6,vm-13831) ISPN000094: \
Received new cluster view for channel ISPN: [vm-13831|1] (2) [vm-13831, vm-39316]
"""


def test_the_cluster_size_and_views_are_read_as_keycloak_writes_them() -> None:
    assert cluster_size(METRICS) == 2
    assert cluster_size("# nothing\nvendor_cluster_size_other 3.0\n") is None
    assert view_lines(LOG) == [LOG.splitlines()[1]]
