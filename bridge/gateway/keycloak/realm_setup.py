"""With an administrator's token, once per realm (deployment step, dev stack, tests): the
fine-grained admin permission (v2) the realm file cannot carry, since Keycloak creates its
client (`admin-permissions`) at import. One permission on the members of `students`, for
the staff console (docs/console.md) and the web bridge (docs/security.md, "Least
privilege"), through one role policy: the realm role `staff`, or `student-accounts` (the
bridge's service account). Idempotent; it brings an older realm's console-only permission
up to date.

Measured on 26.5.6, and why it is this shape:
- several permissions on one group are all required (a second permission for the bridge
  made every staff read a 403): one permission;
- the bridge's searches are evaluated for its service account's user, its by-id reads
  and writes for its client: a user policy let it search but not read, a client policy
  the reverse, and both in one AFFIRMATIVE permission beside the staff role policy broke
  its searches again. A realm role travels in the token of both: a role policy serves
  the bridge's every call and the staff's alike."""

from __future__ import annotations

from typing import Any

from bridge.domain.errors import Rejected
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import STAFF_ROLE, STUDENTS_GROUP

PERMISSION = "Staff and the bridge manage students"
OLD_PERMISSIONS = ("Staff manage students",)  # what earlier set-ups created
POLICY = "Manages students"
BRIDGE_ROLE = "student-accounts"
SCOPES = ("view-members", "manage-members")


class RealmSetup(Gateway):
    async def ensure_permissions(self) -> None:
        with domain_errors():
            server = await self._admin.a_get_client_id("admin-permissions")
            if server is None:
                raise Rejected("admin permissions are not enabled on the realm")
            policies = {p["name"] for p in await self._admin.a_get_client_authz_policies(server)}
            if POLICY not in policies:
                roles = [await self._admin.a_get_realm_role(r) for r in (STAFF_ROLE, BRIDGE_ROLE)]
                await self._admin.a_create_client_authz_role_based_policy(
                    server,
                    {
                        "name": POLICY,
                        "description": "The realm role staff (the console), or student-accounts "
                        "(the web bridge's service account)",
                        "logic": "POSITIVE",
                        "roles": [{"id": role["id"], "required": False} for role in roles],
                    },
                )
            await self._ensure_permission(server)

    async def _ensure_permission(self, server: str) -> None:
        group = await self._admin.a_get_group_by_path(f"/{STUDENTS_GROUP}")
        wanted: dict[str, Any] = {
            "name": PERMISSION,
            "description": "The staff console and the web bridge: the members of students only",
            "resourceType": "Groups",
            "resources": [group["id"]],
            "scopes": list(SCOPES),
            "policies": [POLICY],
            "decisionStrategy": "UNANIMOUS",
        }
        existing = {p["name"]: p for p in await self._admin.a_get_client_authz_permissions(server)}
        for name in (PERMISSION, *OLD_PERMISSIONS):
            if name in existing:
                # An update takes ids where a creation took names.
                admin = self._admin
                policies = {
                    p["name"]: p["id"] for p in await admin.a_get_client_authz_policies(server)
                }
                scopes = {s["name"]: s["id"] for s in await admin.a_get_client_authz_scopes(server)}
                await admin.a_update_client_authz_scope_permission(
                    {
                        **wanted,
                        "id": existing[name]["id"],
                        "type": "scope",
                        "policies": [policies[POLICY]],
                        "scopes": [scopes[s] for s in SCOPES],
                    },
                    server,
                    existing[name]["id"],
                )
                return
        await self._admin.a_create_client_authz_scope_permission(wanted, server)
