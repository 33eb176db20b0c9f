"""The nginx files in deploy/ stay in step with what the scripts and tests run
(docker-compose.yml: tests/unit/test_compose.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.helpers.processes import nginx_binary, nginx_conf

ROOT = Path(__file__).resolve().parents[2]


# --- The nginx files (deploy/nginx/) -----------------------------------------------------

NGINX_DIR = ROOT / "deploy" / "nginx"


def nginx_check(directory: Path, servers: str) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a configuration holding `servers` (binds nothing, starts nothing)."""
    conf = nginx_conf(directory, servers)
    return subprocess.run(
        [nginx_binary(), "-t", "-p", str(directory), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_shipped_nginx_files_parse(tmp_path: Path) -> None:
    """A deployment's http block as keycloak-public.conf's header describes it: the public
    server block for Keycloak, and the bridge's, with the shipped files unchanged."""
    result = nginx_check(
        tmp_path,
        f"""
  upstream um_keycloak {{ server 127.0.0.1:8080; }}
  server {{
    listen 127.0.0.1:8443;
    server_name idp.univ.example;
    include {NGINX_DIR}/keycloak-proxy.conf;
    include {NGINX_DIR}/keycloak-public.conf;
  }}
  server {{
    listen 127.0.0.1:8444;
    server_name comptes.univ.example;
    location / {{
      include {NGINX_DIR}/bridge-proxy.conf;
      proxy_pass http://127.0.0.1:8000;
    }}
  }}""",
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_public_side_refuses_to_start_without_its_upstream(tmp_path: Path) -> None:
    result = nginx_check(
        tmp_path,
        f"""
  server {{
    listen 127.0.0.1:8443;
    include {NGINX_DIR}/keycloak-proxy.conf;
    include {NGINX_DIR}/keycloak-public.conf;
  }}""",
    )
    assert result.returncode != 0
    assert 'host not found in upstream "um_keycloak"' in result.stderr


def directives(path: Path) -> str:
    return "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())


def test_the_public_side_is_an_allow_list_of_normalised_paths() -> None:
    """What reaches Keycloak from outside, pinned; each proxy_pass names a URI (so Keycloak
    gets the path nginx matched, normalised); no location sets its own headers (it would
    inherit none of keycloak-proxy.conf's)."""
    public = directives(NGINX_DIR / "keycloak-public.conf")
    assert "proxy_set_header" not in public
    passed = dict(
        re.findall(r"location\s+([^{]+?)\s*\{\s*proxy_pass\s+http://um_keycloak(/[^;\s]*);", public)
    )
    assert passed == {
        "/realms/um/": "/realms/um/",
        "/resources/": "/resources/",
        "= /.well-known/oauth-authorization-server/realms/um": (
            "/.well-known/oauth-authorization-server/realms/um"
        ),
    }
    assert public.count("proxy_pass") == len(passed)
    assert re.search(r"location\s+/\s*\{\s*return 404;\s*\}", public)
    headers = directives(NGINX_DIR / "keycloak-proxy.conf")
    # Replaced, not appended: Keycloak believes the left-most address of a list.
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;", headers)
    assert "proxy_add_x_forwarded_for" not in headers
