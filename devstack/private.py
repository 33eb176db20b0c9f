"""A throw-away Keycloak for the test session and the benchmarks: its own directory under
var/, fresh data, random client secrets, and distinct free loopback ports for it, its SMTP
sink and the bridge that the theme links to. Its database is the dev-file H2 by default, or
a private PostgreSQL cluster (devstack.postgres) for figures that must hold in
production."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from devstack.keycloak import REPO_ROOT, KeycloakInstance, selected_version
from devstack.mailsink import DEV_BOUNCE_ADDRESS
from devstack.ports import free_ports
from devstack.postgres import PostgresInstance
from devstack.tls import make_local_tls

# The realm's ${...} placeholders without a default (realm/um-realm.json).
CLIENT_SECRETS = (
    "UM_BRIDGE_CLIENT_SECRET",
    "UM_PORTAL_CLIENT_SECRET",
    "UM_CONSOLE_CLIENT_SECRET",
    "UM_PROVISIONING_CLIENT_SECRET",
)
# The bridge's own cookie keys (never the realm's): README.md, "Configuration of the bridge".
COOKIE_SECRETS = ("UM_SESSION_SECRET", "UM_CONSOLE_SESSION_SECRET")


def cookie_secrets() -> dict[str, str]:
    """Fresh, distinct keys for a bridge's cookies, as strong as bridge.settings demands."""
    return {name: secrets.token_urlsafe(32) for name in COOKIE_SECRETS}


@dataclass(frozen=True)
class PrivateKeycloak:
    keycloak: KeycloakInstance
    secrets: dict[str, str]
    smtp_port: int
    bridge_port: int
    postgres: PostgresInstance | None = None

    @property
    def description(self) -> str:
        return f"{self.keycloak.version}, {self.keycloak.mode} on {self.database}"

    @property
    def database(self) -> str:
        return "PostgreSQL" if self.postgres else "H2 dev-file"

    def start(self) -> None:
        if self.postgres:
            self.postgres.start()
        self.keycloak.start()

    def stop(self) -> None:
        """Stop both; the database's files go with it (it is made fresh for every run, and
        may live outside the checkout: devstack.postgres)."""
        self.keycloak.stop()
        if self.postgres:
            self.postgres.remove()

    @property
    def bridge_url(self) -> str:
        return f"http://localhost:{self.bridge_port}"


def private_keycloak(
    name: str, database: str = "h2", production: bool = False, version: str | None = None
) -> PrivateKeycloak:
    """Installed with fresh data, not started. `database`: "h2" or "postgres".
    `production`: `kc.sh start` over HTTPS with a certificate of a fresh local CA, which the
    caller's clients must trust (`keycloak.tls.trust_environment()`). `version`: one of
    devstack.keycloak.KNOWN_VERSIONS (default: UM_KEYCLOAK_VERSION's, else the pin)."""
    smtp_port, bridge_port, http_port, management_port, db_port = free_ports(5)
    values = {name: secrets.token_urlsafe(24) for name in CLIENT_SECRETS}
    postgres = None
    if database == "postgres":
        postgres = PostgresInstance(
            REPO_ROOT / "var" / name / "postgres", db_port, secrets.token_urlsafe(16)
        )
        postgres.install(fresh=True)
    elif database != "h2":
        raise ValueError(f"unknown database {database!r}: h2 or postgres")
    keycloak = KeycloakInstance(
        REPO_ROOT / "var" / name,
        http_port=http_port,
        management_port=management_port,
        env={
            **values,
            "UM_SMTP_HOST": "127.0.0.1",
            "UM_SMTP_PORT": str(smtp_port),
            # Keycloak's envelope sender: the sink returns its DSNs there (devstack.mailsink).
            "UM_BOUNCE_ADDRESS": DEV_BOUNCE_ADDRESS,
            "UM_BRIDGE_URL": f"http://localhost:{bridge_port}",
            # The example portal is served by that bridge: its redirect URIs follow it.
            "UM_PORTAL_URL": f"http://localhost:{bridge_port}/portal",
        },
        admin_password=secrets.token_urlsafe(16),
        db_options=postgres.keycloak_options() if postgres else (),
        tls=make_local_tls(REPO_ROOT / "var" / name / "tls") if production else None,
        version=version or selected_version(),
    )
    keycloak.install(fresh=True)
    return PrivateKeycloak(keycloak, values, smtp_port, bridge_port, postgres)
