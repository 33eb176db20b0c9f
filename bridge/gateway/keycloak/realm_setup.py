"""With an administrator's token, once per realm (deployment step, dev stack, tests): the
fine-grained admin permissions (v2) the realm file cannot carry, since Keycloak creates
their client (`admin-permissions`) at import. Idempotent: run again, it brings an older
realm's permissions up to date (docs/security.md, "Least privilege").

What they grant, to the realm roles the service accounts hold (realm file):
- `student-accounts` (the web bridge, the staff console) and `student-provisioning` (the
  jobs): view and manage the members of `students`, no one else;
- `student-provisioning` alone: put accounts into `students`, which is also the only way
  it may create one (Keycloak then refuses a creation in any other group, or in none);
- the members of `staff`: only a realm administrator, so that an account in both groups is
  out of every service account's reach.

Measured on 26.5.6, and why it is this shape:
- the permissions on one group's scope are all required, so each scope of a group has one
  permission, and one role policy lists every role it serves;
- the service accounts' searches are evaluated for their user, their by-id calls for their
  client: a realm role travels in the token of both, where a user or client policy served
  only one of the two;
- a permission on `staff` whose policy does not grant is what refuses a member of both
  groups (a Keycloak search still lists such an account: docs/security.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bridge.domain.errors import Rejected
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import STAFF_GROUP, STUDENTS_GROUP

ACCOUNTS_ROLE = "student-accounts"
PROVISIONING_ROLE = "student-provisioning"
REALM_ADMIN = ("realm-management", "realm-admin")


@dataclass(frozen=True)
class RolePolicy:
    name: str
    description: str
    realm_roles: tuple[str, ...] = ()
    client_roles: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GroupPermission:
    name: str
    description: str
    group: str
    scopes: tuple[str, ...]
    policy: str


POLICIES = (
    RolePolicy(
        "Serves students",
        "The service accounts of the web bridge, the staff console and the jobs",
        realm_roles=(ACCOUNTS_ROLE, PROVISIONING_ROLE),
    ),
    RolePolicy(
        "Provisions students",
        "The provisioning jobs' service account",
        realm_roles=(PROVISIONING_ROLE,),
    ),
    RolePolicy(
        "Realm administrators",
        "Holders of realm-management's realm-admin",
        client_roles=(REALM_ADMIN,),
    ),
)
PERMISSIONS = (
    GroupPermission(
        "Students: find, read and update",
        "The members of students, for the bridge, the console and the jobs",
        STUDENTS_GROUP,
        ("view-members", "manage-members"),
        "Serves students",
    ),
    GroupPermission(
        "Students: enrol",
        "Accounts created in (or put into) students, by the jobs only",
        STUDENTS_GROUP,
        ("manage-membership",),
        "Provisions students",
    ),
    GroupPermission(
        "Staff: administrators only",
        "No service account reaches a member of staff, even one who is also a student",
        STAFF_GROUP,
        ("view-members", "manage-members", "manage-membership"),
        "Realm administrators",
    ),
)
# What earlier set-ups created: the staff role once acted with its own token.
RETIRED = ("Staff manage students", "Has the staff role")


class RealmSetup(Gateway):
    async def ensure_permissions(self) -> None:
        with domain_errors():
            server = await self._admin.a_get_client_id("admin-permissions")
            if server is None:
                raise Rejected("admin permissions are not enabled on the realm")
            await self._retire(server)
            for policy in POLICIES:
                await self._ensure_policy(server, policy)
            for permission in PERMISSIONS:
                await self._ensure_permission(server, permission)

    async def _retire(self, server: str) -> None:
        # Permissions first: Keycloak refuses to leave a permission without its policy.
        for kind in ("permissions", "policies"):
            listed = (
                await self._admin.a_get_client_authz_permissions(server)
                if kind == "permissions"
                else await self._admin.a_get_client_authz_policies(server)
            )
            for item in listed:
                if item["name"] in RETIRED:
                    await self._admin.a_delete_client_authz_policy(server, item["id"])

    async def _ensure_policy(self, server: str, policy: RolePolicy) -> None:
        roles = [await self._admin.a_get_realm_role(name) for name in policy.realm_roles]
        for client_id, name in policy.client_roles:
            client = await self._admin.a_get_client_id(client_id)
            if client is None:
                raise Rejected(f"no client {client_id} in the realm")
            roles.append(await self._admin.a_get_client_role(client, name))
        wanted: dict[str, Any] = {
            "name": policy.name,
            "description": policy.description,
            "type": "role",
            "logic": "POSITIVE",
            "decisionStrategy": "UNANIMOUS",
            # Any one of the roles grants.
            "roles": [{"id": role["id"], "required": False} for role in roles],
        }
        existing = {p["name"]: p for p in await self._admin.a_get_client_authz_policies(server)}
        if policy.name not in existing:
            await self._admin.a_create_client_authz_role_based_policy(server, wanted)
            return
        policy_id = existing[policy.name]["id"]
        await self._admin.connection.a_raw_put(
            f"admin/realms/{self._admin.connection.realm_name}/clients/{server}"
            f"/authz/resource-server/policy/role/{policy_id}",
            data=json.dumps({**wanted, "id": policy_id}),
        )

    async def _ensure_permission(self, server: str, permission: GroupPermission) -> None:
        group = await self._admin.a_get_group_by_path(f"/{permission.group}")
        existing = {p["name"]: p for p in await self._admin.a_get_client_authz_permissions(server)}
        wanted: dict[str, Any] = {
            "name": permission.name,
            "description": permission.description,
            "resourceType": "Groups",
            "resources": [group["id"]],
            "decisionStrategy": "UNANIMOUS",
        }
        if permission.name not in existing:
            await self._admin.a_create_client_authz_scope_permission(
                {**wanted, "scopes": list(permission.scopes), "policies": [permission.policy]},
                server,
            )
            return
        # An update takes ids where a creation took names.
        policies = {
            p["name"]: p["id"] for p in await self._admin.a_get_client_authz_policies(server)
        }
        scopes = {s["name"]: s["id"] for s in await self._admin.a_get_client_authz_scopes(server)}
        permission_id = existing[permission.name]["id"]
        await self._admin.a_update_client_authz_scope_permission(
            {
                **wanted,
                "id": permission_id,
                "type": "scope",
                "scopes": [scopes[s] for s in permission.scopes],
                "policies": [policies[permission.policy]],
            },
            server,
            permission_id,
        )
