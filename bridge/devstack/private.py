"""A throw-away Keycloak for the test session and the benchmarks: its own directory under
var/, fresh data, random client secrets, and distinct free loopback ports for it, its SMTP
sink and the bridge that the theme links to."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bridge.devstack.keycloak import REPO_ROOT, KeycloakInstance
from bridge.devstack.ports import free_ports

# The realm's ${...} placeholders without a default (realm/um-realm.json).
CLIENT_SECRETS = (
    "UM_BRIDGE_CLIENT_SECRET",
    "UM_PORTAL_CLIENT_SECRET",
    "UM_CONSOLE_CLIENT_SECRET",
    "UM_PROVISIONING_CLIENT_SECRET",
)


@dataclass(frozen=True)
class PrivateKeycloak:
    keycloak: KeycloakInstance
    secrets: dict[str, str]
    smtp_port: int
    bridge_port: int

    @property
    def bridge_url(self) -> str:
        return f"http://localhost:{self.bridge_port}"


def private_keycloak(name: str) -> PrivateKeycloak:
    """Installed with fresh data, not started."""
    smtp_port, bridge_port, http_port, management_port = free_ports(4)
    values = {name: secrets.token_urlsafe(24) for name in CLIENT_SECRETS}
    keycloak = KeycloakInstance(
        REPO_ROOT / "var" / name,
        http_port=http_port,
        management_port=management_port,
        env={
            **values,
            "UM_SMTP_HOST": "127.0.0.1",
            "UM_SMTP_PORT": str(smtp_port),
            "UM_BRIDGE_URL": f"http://localhost:{bridge_port}",
        },
        admin_password=secrets.token_urlsafe(16),
    )
    keycloak.install(fresh=True)
    return PrivateKeycloak(keycloak, values, smtp_port, bridge_port)
