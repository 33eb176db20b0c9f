"""With an administrator's token, once per realm (deployment step, dev stack, tests): the
fine-grained admin permission behind the staff console (docs/console.md). Idempotent."""

from __future__ import annotations

from bridge.domain.errors import Rejected
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import STAFF_ROLE, STUDENTS_GROUP

CONSOLE_PERMISSION = "Staff manage students"
CONSOLE_POLICY = "Has the staff role"


class RealmSetup(Gateway):
    async def ensure_console_permissions(self) -> None:
        with domain_errors():
            client = await self._admin.a_get_client_id("admin-permissions")
            if client is None:
                raise Rejected("admin permissions are not enabled on the realm")
            policies = {p["name"] for p in await self._admin.a_get_client_authz_policies(client)}
            if CONSOLE_POLICY not in policies:
                role = await self._admin.a_get_realm_role(STAFF_ROLE)
                await self._admin.a_create_client_authz_role_based_policy(
                    client,
                    {
                        "name": CONSOLE_POLICY,
                        "description": "Members of a group with the realm role staff",
                        "logic": "POSITIVE",
                        "roles": [{"id": role["id"], "required": True}],
                    },
                )
            permissions = {
                p["name"] for p in await self._admin.a_get_client_authz_permissions(client)
            }
            if CONSOLE_PERMISSION not in permissions:
                group = await self._admin.a_get_group_by_path(f"/{STUDENTS_GROUP}")
                await self._admin.a_create_client_authz_scope_permission(
                    {
                        "name": CONSOLE_PERMISSION,
                        "description": "The staff console: view and manage students only",
                        "resourceType": "Groups",
                        "resources": [group["id"]],
                        "scopes": ["view-members", "manage-members"],
                        "policies": [CONSOLE_POLICY],
                        "decisionStrategy": "UNANIMOUS",
                    },
                    client,
                )
