"""Real server processes beside the test session's: bridge replicas (`python -m bridge
serve`, as the Dockerfile runs it), an nginx in front of them, and an nginx as the public
side of the session's Keycloak."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from devstack.keycloak import TRUSTED_PROXY, KeycloakInstance

ROOT = Path(__file__).resolve().parents[2]


def _wait_ready(
    url: str, process: subprocess.Popen[bytes], timeout: float = 60, path: str = "/healthz"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def bridge_replicas(stack: Any, ports: list[int], **env: str) -> Iterator[list[str]]:
    """`python -m bridge serve` on each port, sharing the session's Keycloak, Redis and
    SMTP sink, and one session secret (replicas must)."""
    common = {
        **os.environ,
        "UM_KEYCLOAK_URL": stack.url,
        "UM_BRIDGE_CLIENT_SECRET": stack.secrets["UM_BRIDGE_CLIENT_SECRET"],
        "UM_SESSION_SECRET": secrets.token_urlsafe(32),
        "UM_REDIS_URL": stack.redis_url,
        "UM_SMTP_HOST": "127.0.0.1",
        "UM_SMTP_PORT": str(stack.smtp_port),
        "UM_SMTP_STARTTLS": "false",
        "UM_ADDRESS_LIMIT": "100000/600",
        "UM_CHALLENGE_AFTER": "100000",
        # The realm registers the session bridge's portal: links land there.
        "UM_PORTAL_URL": f"http://localhost:{stack.bridge_port}/portal",
        "UM_ACTION_REDIRECT_URI": f"http://localhost:{stack.bridge_port}/portal/login",
        **env,
    }
    processes = []
    try:
        for port in ports:
            # Its log beside Keycloak's, for when a test fails.
            log = (stack.keycloak.directory / f"bridge-{port}.log").open("ab")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bridge", "serve", "--port", str(port)],
                    env={**common, "UM_BRIDGE_URL": f"http://localhost:{port}"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, process in zip(urls, processes, strict=True):
            _wait_ready(url, process)
        yield urls
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None
    )
    assert found, "nginx is not installed: scripts/bootstrap installs Debian's nginx"
    return found


def nginx_conf(directory: Path, servers: str) -> Path:
    """An nginx.conf for an unprivileged nginx with everything under `directory`, and
    `servers` (server and upstream blocks) in its http block."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {directory}/body;
  proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi;
  uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
{servers}
}}
"""
    )
    return conf


@contextlib.contextmanager
def nginx(directory: Path, servers: str, ready_url: str, ready_path: str) -> Iterator[None]:
    """Debian's nginx with `nginx_conf(directory, servers)`; ready once
    `ready_url + ready_path` answers 200."""
    conf = nginx_conf(directory, servers)
    process = subprocess.Popen(
        [nginx_binary(), "-c", str(conf), "-p", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        try:
            _wait_ready(ready_url, process, timeout=30, path=ready_path)
        except RuntimeError as error:
            log = directory / "error.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else "(no log)"
            raise RuntimeError(f"nginx: {error}\n{tail}") from error
        yield
    finally:
        process.send_signal(signal.SIGQUIT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)


@contextlib.contextmanager
def nginx_in_front(directory: Path, port: int, upstream: str) -> Iterator[str]:
    """Debian's nginx on `port`, proxying to `upstream` with the repository's proxy
    settings (deploy/nginx/bridge-proxy.conf)."""
    url = f"http://127.0.0.1:{port}"
    servers = f"""
  server {{
    listen 127.0.0.1:{port};
    location / {{
      include {ROOT}/deploy/nginx/bridge-proxy.conf;
      proxy_pass {upstream};
    }}
  }}
"""
    with nginx(directory, servers, url, "/healthz"):
        yield url


@contextlib.contextmanager
def nginx_public_keycloak(
    directory: Path, ports: list[int], keycloak: KeycloakInstance
) -> Iterator[str]:
    """Debian's nginx on `ports[0]` as the deployment's public server block for Keycloak:
    the repository's deploy/nginx/keycloak-proxy.conf and keycloak-public.conf included
    unchanged, upstream `um_keycloak`. That upstream is a hop of the test's own on
    `ports[1]` standing for the internal network: it passes each request on as it got it
    (path, X-Forwarded-* headers) to the session's Keycloak, over HTTPS with the run's local
    CA in production mode, connecting from the address Keycloak trusts as its proxy."""
    public, hop = ports
    target = f"127.0.0.1:{keycloak.http_port}"
    tls = ""
    if keycloak.tls:
        target = f"https://{target}"
        tls = f"""
      proxy_ssl_trusted_certificate {keycloak.tls.ca};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;"""
    else:
        target = f"http://{target}"
    servers = f"""
  upstream um_keycloak {{ server 127.0.0.1:{hop}; }}
  server {{
    listen 127.0.0.1:{public};
    include {ROOT}/deploy/nginx/keycloak-proxy.conf;
    include {ROOT}/deploy/nginx/keycloak-public.conf;
  }}
  server {{
    listen 127.0.0.1:{hop};
    location / {{
      proxy_pass {target};
      proxy_bind {TRUSTED_PROXY};
      proxy_set_header Host $http_host;
      proxy_http_version 1.1;
      proxy_buffer_size 32k;
      proxy_buffers 8 32k;
      proxy_busy_buffers_size 64k;{tls}
    }}
  }}
"""
    url = f"http://127.0.0.1:{public}"
    with nginx(directory, servers, url, "/realms/um/.well-known/openid-configuration"):
        yield url
