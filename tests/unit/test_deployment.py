"""docker-compose.yml stays in step with what the scripts and tests run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.keycloak import KEYCLOAK_VERSION

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
