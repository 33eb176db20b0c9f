"""The production deployment on this machine, without containers: docker-compose.yml's
services as native processes, each given the environment compose gives it (devstack.compose),
for the production-shape stage of `make test` (tests/production/) and the benchmarks.

- nginx (Debian's) with deploy/nginx/um-accounts.conf.template rendered as the nginx image
  renders it, and deploy/nginx/upstreams.conf: TLS with a local CA on both public hosts,
  the internal route to Keycloak, both upstreams balanced;
- the bridge replicas: the wheel built from the checkout, installed into a fresh virtualenv
  (devstack.package), run as the image's CMD; never the source tree;
- Keycloak as a cluster (devstack.cluster) on one PostgreSQL, Redis, an SMTP sink standing
  for the university's relay; `bridge realm setup` as the `realm-setup` service runs
  it.

What differs from compose, and only that: addresses (each `service:port` is a loopback port
here), container paths (the volumes' host paths), the public hosts (`localhost` on two
ports, the stage's .env says so), and what the containers' own system gives (PATH, HOME,
the CA that signed nginx's certificate as the trust store).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devstack import compose
from devstack.cluster import Formation, KeycloakCluster
from devstack.keycloak import REPO_ROOT, _die_with_parent
from devstack.mailsink import start_mail_sink
from devstack.package import InstalledBridge, build_and_install
from devstack.ports import free_ports
from devstack.redis import RedisInstance
from devstack.tls import LocalTls, make_local_tls


class ShapeError(RuntimeError):
    pass


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).is_file():
        raise ShapeError("nginx is not installed: scripts/bootstrap installs Debian's nginx")
    return found


def _wait_http(
    url: str, process: subprocess.Popen[bytes] | None, timeout: float, **kw: Any
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ShapeError(f"{url}: the process exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2, **kw).status_code == 200:
                return
        time.sleep(0.2)
    raise ShapeError(f"{url} did not answer 200 within {timeout:.0f}s")


@dataclass
class Ports:
    bridge_public: int
    keycloak_public: int
    internal: int
    redis: int
    smtp: int
    bridges: list[int]


@dataclass
class ProductionShape:
    directory: Path
    replicas: int = 2
    nodes: int = 2
    # The operator's knobs this run sets in its .env (e.g. the limits under test).
    settings: Mapping[str, str] = field(default_factory=dict)
    ports: Ports = field(init=False)
    values: dict[str, str] = field(init=False)
    tls: LocalTls = field(init=False)
    native: compose.Native = field(init=False)
    installed: InstalledBridge | None = None
    cluster: KeycloakCluster | None = None
    redis: RedisInstance | None = None
    sink: Any = None
    nginx: subprocess.Popen[bytes] | None = None
    bridges: dict[int, subprocess.Popen[bytes] | None] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    formation: Formation | None = None
    # Lines added to the shipped crontab (a test's every-minute run of a shipped command).
    extra_crontab: str = ""
    scheduler: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.directory = self.directory.resolve()
        shutil.rmtree(self.directory / "run", ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        found = free_ports(5 + self.replicas)
        bridge_public, keycloak_public, internal, redis, smtp = found[:5]
        self.ports = Ports(bridge_public, keycloak_public, internal, redis, smtp, found[5:])
        self.tls = make_local_tls(self.run_dir / "tls")
        # The file names the compose file's nginx mounts (UM_TLS_DIR).
        shutil.copy(self.tls.certificate, self.tls.certificate.parent / "fullchain.pem")
        shutil.copy(self.tls.key, self.tls.key.parent / "privkey.pem")
        self.values = self.env_file_values()
        env_file = compose.write_env_file(self.run_dir / ".env", self.values)
        project = compose.load(env_file, profiles=("jobs",))
        self.native = compose.Native(
            project,
            addresses=self.addresses(),
            volumes={"jobstate": self.run_dir / "jobstate", "pgdata": self.run_dir / "pgdata"},
        )
        (self.run_dir / "jobstate").mkdir()
        (self.run_dir / "exports").mkdir()

    # --- What the deployment is given -------------------------------------------------

    @property
    def run_dir(self) -> Path:
        return self.directory / "run"

    def env_file_values(self) -> dict[str, str]:
        """The .env an operator writes (.env.example), with this machine's hosts and ports."""
        p = self.ports

        def key() -> str:
            return secrets.token_urlsafe(32)

        return {
            "KC_HOST": "localhost",
            "KC_HOSTNAME": f"https://localhost:{p.keycloak_public}",
            "UM_BRIDGE_HOST": "localhost",
            "UM_TLS_DIR": str(self.run_dir / "tls"),
            "KC_DB_PASSWORD": key(),
            "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
            "KC_BOOTSTRAP_ADMIN_PASSWORD": key(),
            "UM_BRIDGE_URL": f"https://localhost:{p.bridge_public}",
            # The example portal of the bridge stands for the ENT.
            "UM_PORTAL_URL": f"https://localhost:{p.bridge_public}/portal",
            "UM_BRIDGE_CLIENT_SECRET": key(),
            "UM_PORTAL_CLIENT_SECRET": key(),
            "UM_CONSOLE_CLIENT_SECRET": key(),
            "UM_PROVISIONING_CLIENT_SECRET": key(),
            "UM_SESSION_SECRET": key(),
            "UM_CONSOLE_SESSION_SECRET": key(),
            "UM_SUBNET": "127.0.0.0/8",
            "UM_PROXY_ADDRESS": "127.0.0.1",
            "UM_EXPORTS_DIR": str(self.run_dir / "exports"),
            "UM_SMTP_HOST": "127.0.0.1",
            "UM_SMTP_PORT": str(p.smtp),
            "UM_SMTP_FROM": "ne-pas-repondre@umontpellier.example",
            "UM_SMTP_STARTTLS": "false",
            "UM_SMTP_AUTH": "false",
            "UM_UNIVERSITY_DOMAINS": "umontpellier.fr,umontpellier.example",
            "UM_BRIDGE_LISTEN": f"127.0.0.1:{p.bridge_public}",
            "UM_KEYCLOAK_LISTEN": f"127.0.0.1:{p.keycloak_public}",
            "UM_INTERNAL_LISTEN": f"127.0.0.1:{p.internal}",
            **self.settings,
        }

    def addresses(self) -> dict[str, str]:
        """What stands here for each `service:port` of the compose file (Keycloak's nodes
        are added once the cluster has its ports)."""
        p = self.ports
        found = {
            "redis:6379": f"127.0.0.1:{p.redis}",
            "nginx:8080": f"127.0.0.1:{p.internal}",
        }
        for i, port in enumerate(p.bridges, start=1):
            found[f"bridge-{i}:8000"] = f"127.0.0.1:{port}"
        return found

    def environment(self, service: str) -> dict[str, str]:
        """The service's environment from compose, plus what a container's system gives."""
        return {
            **self.native.environment(service),
            "PATH": f"{self.installed.bin if self.installed else ''}:/usr/bin:/bin",
            "HOME": str(self.run_dir),
            "SSL_CERT_FILE": str(self.tls.ca),
            "LANG": "C.UTF-8",
        }

    # --- URLs -------------------------------------------------------------------------

    @property
    def bridge_url(self) -> str:
        return self.values["UM_BRIDGE_URL"]

    @property
    def keycloak_url(self) -> str:
        return self.values["KC_HOSTNAME"]

    @property
    def internal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.internal}"

    def admin_token(self) -> str:
        """The bootstrap administrator's token (master realm), on the internal route."""
        answer = httpx.post(
            f"{self.internal_url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": self.values["KC_BOOTSTRAP_ADMIN_USERNAME"],
                "password": self.values["KC_BOOTSTRAP_ADMIN_PASSWORD"],
            },
            timeout=30,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def replica_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports.bridges[i]}"

    @property
    def mail_dir(self) -> Path:
        return self.run_dir / "mail"

    # --- Start and stop ----------------------------------------------------------------

    def start(self) -> None:
        started = time.monotonic()
        if self.installed is None:  # given: another deployment's (one image, two deployments)
            self.installed = build_and_install(self.directory / "bridge")
            self.timings["bridge wheel + fresh venv"] = self.installed.seconds
        self.redis = RedisInstance(self.run_dir / "redis", self.ports.redis)
        self.redis.start()
        self.sink = start_mail_sink(self.mail_dir, port=self.ports.smtp)
        self.start_keycloak()
        self.realm_setup()
        for i in range(self.replicas):
            self.start_bridge(i)
        self.start_nginx()
        self.start_scheduler()
        self.timings["whole start"] = time.monotonic() - started

    def start_keycloak(self) -> None:
        started = time.monotonic()
        node_env = self.native.environment("keycloak-1")
        if node_env != self.native.environment("keycloak-2"):
            raise ShapeError("keycloak-1 and keycloak-2 are given different environments")
        self.cluster = KeycloakCluster.create(
            self.run_dir / "keycloak",
            self.keycloak_url,
            size=self.nodes,
            env=node_env,
            admin_password=self.values["KC_BOOTSTRAP_ADMIN_PASSWORD"],
            # The `postgres` service's: POSTGRES_USER/DB keycloak, POSTGRES_PASSWORD.
            database_password=self.native.environment("postgres")["POSTGRES_PASSWORD"],
        )
        for i, node in enumerate(self.cluster.nodes, start=1):
            self.native.addresses[f"keycloak-{i}:8080"] = f"127.0.0.1:{node.http_port}"
        self.native.addresses["postgres:5432"] = f"127.0.0.1:{self.cluster.postgres.port}"
        self.cluster.start()
        self.formation = self.cluster.wait_formed(self.nodes)
        self.timings["keycloak cluster formed"] = time.monotonic() - started

    def realm_setup(self) -> None:
        """The `realm-setup` service: the permissions, the rescue-address rule and the IT
        charter's version, as an administrator."""
        assert self.installed
        result = subprocess.run(  # noqa: S603 - fixed argv
            self.installed.command("realm", "setup"),
            env=self.environment("realm-setup"),
            cwd=self.run_dir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise ShapeError(f"realm-setup failed: {result.stdout}{result.stderr}")

    def start_bridge(self, i: int) -> None:
        assert self.installed
        argv = self.installed.dockerfile_command()
        # The image listens on 0.0.0.0:8000 in its own network namespace; here, loopback.
        argv[argv.index("--host") + 1] = "127.0.0.1"
        argv[argv.index("--port") + 1] = str(self.ports.bridges[i])
        process = self._spawn(argv, f"bridge-{i + 1}")
        self.bridges[i] = process
        _wait_http(f"{self.replica_url(i)}/healthz", process, 60)

    def _spawn(self, argv: list[str], service: str) -> subprocess.Popen[bytes]:
        """A service's process in its compose environment, its output in run/SERVICE.log,
        in a process group of its own (killed whole), ended if this process dies."""
        with (self.run_dir / f"{service}.log").open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - fixed argv
                argv,
                env=self.environment(service),
                cwd=self.run_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def kill_bridge(self, i: int) -> None:
        """`kill -9` of a replica (no graceful shutdown)."""
        process = self.bridges.get(i)
        if process and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        self.bridges[i] = None

    def start_nginx(self) -> None:
        directory = self.run_dir / "nginx"
        (directory / "conf.d").mkdir(parents=True)
        env = self.native.environment("nginx")
        for name, container in (
            ("um-accounts.conf", "/etc/nginx/templates/um-accounts.conf.template"),
            ("upstreams.conf", "/etc/nginx/conf.d/upstreams.conf"),
        ):
            text = self.native.render("nginx", container, env)
            # A smaller deployment than compose's (the benchmarks' one replica, one node):
            # the upstreams lose the servers that do not run here, and nothing else.
            text = re.sub(r"\n\s*server (?:bridge|keycloak)-\d+:\d+[^;]*;", "", text)
            (directory / "conf.d" / name).write_text(text)
        # The image's own nginx.conf, reduced to what these server blocks need.
        conf = directory / "nginx.conf"
        conf.write_text(
            f"""daemon off;
worker_processes 2;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log {directory}/access.log;
  client_body_temp_path {directory}/body;
  proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi;
  uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
  include {directory}/conf.d/upstreams.conf;
  include {directory}/conf.d/um-accounts.conf;
}}
"""
        )
        check = subprocess.run(  # noqa: S603 - fixed argv
            [nginx_binary(), "-t", "-c", str(conf), "-p", str(directory)],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise ShapeError(f"nginx refuses the configuration:\n{check.stderr}")
        self.nginx = subprocess.Popen(  # noqa: S603 - fixed argv
            [nginx_binary(), "-c", str(conf), "-p", str(directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        _wait_http(
            f"{self.bridge_url}/healthz",
            self.nginx,
            30,
            verify=ssl.create_default_context(cafile=str(self.tls.ca)),
        )

    def start_scheduler(self) -> None:
        """The `scheduler` service: busybox crond with the shipped crontab (the image copies
        it to /etc/crontabs/bridge; here it is root's, since this machine has no `bridge`
        user), in the service's environment."""
        busybox = shutil.which("busybox")
        if not busybox:
            raise ShapeError("busybox is missing: scripts/bootstrap installs busybox-static")
        if os.geteuid() != 0:
            raise ShapeError("busybox crond runs a crontab's lines as its user: run as root")
        tabs = self.run_dir / "crontabs"
        tabs.mkdir()
        shipped = (REPO_ROOT / "deploy" / "cron" / "crontab").read_text()
        (tabs / "root").write_text(shipped + self.extra_crontab)
        argv = [busybox, "crond", "-f", "-L", "/dev/stderr", "-c", str(tabs)]
        self.scheduler = self._spawn(argv, "scheduler")

    def stop(self) -> None:
        if self.scheduler and self.scheduler.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.scheduler.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.scheduler.wait(10)
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.nginx.wait(10)
        for i in list(self.bridges):
            process = self.bridges[i]
            if process and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(15)
            self.kill_bridge(i)
        if self.cluster:
            self.cluster.stop()
        if self.redis:
            self.redis.stop()
        if self.sink:
            with contextlib.suppress(Exception):
                self.sink.stop()
