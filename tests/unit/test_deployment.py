"""docker-compose.yml and the nginx files in deploy/ stay in step with what the scripts and
tests run."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.keycloak import KEYCLOAK_VERSION
from tests.helpers.processes import nginx_binary, nginx_conf

ROOT = Path(__file__).resolve().parents[2]


class StrictLoader(yaml.SafeLoader):
    """Refuses a key given twice in one mapping, as Docker Compose does (PyYAML would keep
    the last one silently)."""


def _no_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
    twice = {key for key in keys if keys.count(key) > 1 and key != "<<"}
    if twice:
        raise yaml.constructor.ConstructorError(None, None, f"keys given twice: {twice}")
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.load((ROOT / "docker-compose.yml").read_text(), Loader=StrictLoader))  # noqa: S506 - a SafeLoader


def test_keycloak_is_the_pinned_version_in_production_mode(compose: dict[str, Any]) -> None:
    keycloak = compose["services"]["keycloak"]
    assert keycloak["image"] == f"quay.io/keycloak/keycloak:{KEYCLOAK_VERSION}"
    assert keycloak["command"][0] == "start"
    assert keycloak["environment"]["KC_DB"] == "postgres"
    assert "postgres" in compose["services"]


def test_keycloak_and_bridge_mount_the_same_realm_and_theme(compose: dict[str, Any]) -> None:
    keycloak = compose["services"]["keycloak"]["volumes"]
    bridge = compose["services"]["bridge"]["volumes"]
    assert "./realm:/opt/keycloak/data/import:ro" in keycloak
    assert "./themes/um-activation:/opt/keycloak/themes/um-activation:ro" in keycloak
    assert "./themes/um-activation:/app/themes/um-activation:ro" in bridge
    assert compose["services"]["bridge"]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


def test_every_realm_placeholder_reaches_keycloak(compose: dict[str, Any]) -> None:
    """A placeholder without a default in the realm must be set in Keycloak's environment,
    or the import would keep the literal `${...}` (e.g. as a client secret)."""
    realm = (ROOT / "realm" / "um-realm.json").read_text()
    required = set(re.findall(r"\$\{(UM_[A-Z_]+)\}", realm))
    assert required, "the realm has secret placeholders"
    env = compose["services"]["keycloak"]["environment"]
    assert required <= set(env), required - set(env)


def test_secrets_have_no_default(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in (
        "KC_DB_PASSWORD",
        "KC_BOOTSTRAP_ADMIN_PASSWORD",
        "UM_BRIDGE_CLIENT_SECRET",
        "UM_PORTAL_CLIENT_SECRET",
        "UM_CONSOLE_CLIENT_SECRET",
        "UM_SESSION_SECRET",
        "UM_CONSOLE_SESSION_SECRET",
    ):
        assert re.search(r"\$\{" + name + r":\?", text), name
        assert not re.search(r"\$\{" + name + r":-", text), name


def test_replicas_share_the_limits_and_trust_only_the_proxy(compose: dict[str, Any]) -> None:
    bridge = compose["services"]["bridge"]
    assert bridge["environment"]["UM_REDIS_URL"].startswith("redis://redis:")
    assert "redis" in compose["services"] and "redis" in bridge["depends_on"]
    # The jobs take turns with the bridge on each account's writes: the same store.
    jobs = compose["services"]["jobs"]
    assert jobs["environment"]["UM_REDIS_URL"] == bridge["environment"]["UM_REDIS_URL"]
    assert "redis" in jobs["depends_on"]
    trusted = bridge["environment"]["UM_TRUSTED_PROXIES"]
    assert trusted.startswith("${UM_TRUSTED_PROXIES:?"), trusted  # no default, never "*"
    keycloak = compose["services"]["keycloak"]["environment"]
    assert keycloak["KC_PROXY_TRUSTED_ADDRESSES"].startswith("${UM_TRUSTED_PROXIES:?")
    command = [
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    ]
    assert command and "forwarded-allow-ips" not in command[0] and "*" not in command[0]


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
