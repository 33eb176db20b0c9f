"""The jobs refuse a credential that reaches beyond students (ProvisioningGateway.
ensure_scoped): its roles are read from its own access token."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bridge.domain.errors import Overprivileged, ServiceUnavailable
from bridge.gateway.keycloak import ProvisioningGateway

pytestmark = pytest.mark.anyio


def token(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"


class Issuer:
    def __init__(self, access_token: str) -> None:
        self.access_token = access_token

    async def a_token(self, grant_type: str) -> dict[str, str]:
        assert grant_type == "client_credentials"
        return {"access_token": self.access_token}


def gateway(realm_management: list[str], **claims: Any) -> ProvisioningGateway:
    claims.setdefault("resource_access", {"realm-management": {"roles": realm_management}})
    return ProvisioningGateway(None, Issuer(token(claims)))  # type: ignore[arg-type]


async def test_the_provisioning_clients_own_roles_pass() -> None:
    await gateway(["query-users", "query-groups"]).ensure_scoped()
    await gateway(["query-users"], realm_access={"roles": ["student-provisioning"]}).ensure_scoped()


@pytest.mark.parametrize(
    "extra", ["manage-realm", "manage-users", "view-users", "realm-admin", "view-events"]
)
async def test_any_other_realm_management_role_is_refused(extra: str) -> None:
    with pytest.raises(Overprivileged, match=extra):
        await gateway(["query-users", "query-groups", extra]).ensure_scoped()


async def test_an_unreadable_token_is_an_outage_not_a_pass() -> None:
    broken = ProvisioningGateway(None, Issuer("not-a-jwt"))  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable):
        await broken.ensure_scoped()
