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
- the members of `staff`, and every holder of a realm-management role (an administrator,
  a service account), are refused to all but realm administrators: a permission whose
  policy does not grant is what refuses a member of both `students` and `staff` (a
  Keycloak search still lists such an account: docs/security.md). Keycloak has no policy
  on the target's roles, so the holders are named one by one, as found at set-up: run it
  again after granting such a role in this realm.

And two rules the realm file cannot carry, since they come from the deployment's settings:
- the rescue address (the user profile's `email`) may not be on one of the university's
  domains (`UM_UNIVERSITY_DOMAINS`, the bridge's own rule): Keycloak's update-email page
  then refuses it as the bridge's pages do;
- the IT charter's version, read from the theme's charter files, recorded in the realm
  (charter.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from keycloak.exceptions import KeycloakGetError, KeycloakPutError, raise_error_from_response

from bridge.domain.errors import Rejected
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.charter import (
    CharterAcceptance,
    acceptance,
    ledger_json,
    parse_ledger,
    with_version,
)
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
ADMINISTRATORS_PERMISSION = "Administrators: administrators only"
USER_SCOPES = (
    "view",
    "manage",
    "map-roles",
    "manage-group-membership",
    "impersonate",
    "reset-password",
)
# What earlier set-ups created: the staff role once acted with its own token.
RETIRED = ("Staff manage students", "Has the staff role")

# The rescue-address rule: a `pattern` validator of `email`, its message a theme key.
UNIVERSITY_ADDRESS_MESSAGE = "um.error.rescueEmail.university"
# Where Keycloak's TERMS_AND_CONDITIONS writes the acceptance time (epoch seconds).
TERMS_ATTRIBUTE = "terms_and_conditions"
# The charter's versions and when each came into force (charter.py), a realm attribute.
CHARTER_LEDGER = "umCharterVersions"
# The version in force, for the terms page (a realm localization text, in each locale).
CHARTER_KEY = "um.charter.recordedVersion"
CHARTER_LOCALES = ("fr", "en")


def university_address_pattern(university_domains: Iterable[str]) -> str | None:
    """A Java regex (Keycloak matches it whole) that an address on one of these domains,
    or on one of their subdomains, fails: bridge.domain.rescue_email's rule. None when
    there is no domain."""
    domains = sorted({d.strip().strip(".").lower() for d in university_domains} - {""})
    if not domains:
        return None
    alternatives = "|".join(re.escape(d) for d in domains)
    return f"(?i)(?!.*@(?:[^@]*\\.)?(?:{alternatives})$).*"


class RealmSetup(Gateway):
    async def setup(
        self, *, university_domains: Iterable[str], charter_version: str, now: int
    ) -> None:
        """Every step, as `bridge realm setup` runs them (the dev stack, the tests)."""
        await self.ensure_permissions()
        await self.ensure_rescue_email_rule(university_domains)
        await self.ensure_charter(charter_version, now)

    async def ensure_rescue_email_rule(self, university_domains: Iterable[str]) -> bool:
        """The user profile's `email` refuses the university's domains (none: no rule).
        True when the profile changed. Keycloak validates the whole profile on every
        write, so an account already holding such an address can no longer be written
        until its address changes (universities_addresses() counts them)."""
        pattern = university_address_pattern(university_domains)
        with domain_errors():
            profile = await self._admin.a_get_realm_users_profile()
            [email] = [a for a in profile["attributes"] if a["name"] == "email"]
            validations = dict(email.get("validations") or {})
            if pattern is None:
                validations.pop("pattern", None)
            else:
                validations["pattern"] = {
                    "pattern": pattern,
                    "error-message": UNIVERSITY_ADDRESS_MESSAGE,
                }
            if validations == (email.get("validations") or {}):
                return False
            email["validations"] = validations
            await self._admin.a_update_realm_users_profile(profile)
            return True

    async def university_addresses(self, university_domains: Iterable[str]) -> int:
        """How many accounts hold a rescue address on one of these domains."""
        compiled = re.compile(university_address_pattern(university_domains) or ".*")
        found = 0
        for domain in {d.strip().strip(".").lower() for d in university_domains} - {""}:
            for user in await self._paged("users", page=500, extra={"email": domain}):
                if not compiled.fullmatch(user.get("email") or ""):
                    found += 1
        return found

    async def ensure_charter(self, version: str, now: int) -> bool:
        """Record `version` as the charter in force from `now` (epoch seconds), unless it
        already is; then tell the terms page. True when a new version was recorded."""
        name = str(self._admin.connection.realm_name)
        with domain_errors():
            realm = await self._admin.a_get_realm(name)
            attributes = dict(realm.get("attributes") or {})
            before = parse_ledger(attributes.get(CHARTER_LEDGER))
            ledger = with_version(before, version, now)
            # The ledger first: a page that shows the new version finds it recorded.
            if ledger != before:
                # The realm's attributes are written whole: the others are sent back as read.
                attributes[CHARTER_LEDGER] = ledger_json(ledger)
                await self._admin.a_update_realm(name, {"attributes": attributes})
            for locale in CHARTER_LOCALES:
                await self._put_text(f"localization/{locale}/{quote(CHARTER_KEY)}", version)
        return ledger != before

    async def charter_acceptance(self, user_id: str) -> CharterAcceptance | None:
        """When this account accepted the charter, and which version; None if never."""
        with domain_errors():
            user = await self._admin.a_get_user(user_id)
            realm = await self._admin.a_get_realm(str(self._admin.connection.realm_name))
        accepted = ((user.get("attributes") or {}).get(TERMS_ATTRIBUTE) or [None])[0]
        return acceptance(
            parse_ledger((realm.get("attributes") or {}).get(CHARTER_LEDGER)), accepted
        )

    async def _put_text(self, path: str, text: str) -> None:
        connection = self._admin.connection
        connection.add_param_headers("Content-Type", "text/plain; charset=utf-8")
        try:
            answer = await connection.a_raw_put(
                f"admin/realms/{connection.realm_name}/{path}", data=text
            )
        finally:
            connection.add_param_headers("Content-Type", "application/json")
        raise_error_from_response(answer, KeycloakPutError, expected_codes=[200, 204])

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
            await self._ensure_administrators_denied(server)

    async def administrators(self) -> set[str]:
        """The ids of every account holding a realm-management role, directly, through a
        group or through a composite realm role."""
        with domain_errors():
            management = await self._admin.a_get_client_id("realm-management")
            if management is None:
                raise Rejected("no realm-management client in the realm")
            found: set[str] = set()
            holders: list[tuple[str, str]] = []  # (roles path, role name)
            for role in await self._admin.a_get_client_roles(management):
                holders.append((f"clients/{management}/roles", role["name"]))
            for role in await self._admin.a_get_realm_roles():
                if role.get("composite") and await self._raw_list(
                    f"roles/{quote(role['name'])}/composites/clients/{management}"
                ):
                    holders.append(("roles", role["name"]))
            for path, name in holders:
                found |= {u["id"] for u in await self._paged(f"{path}/{quote(name)}/users")}
                for group in await self._paged(f"{path}/{quote(name)}/groups"):
                    found |= {u["id"] for u in await self._paged(f"groups/{group['id']}/members")}
            return found

    async def _ensure_administrators_denied(self, server: str) -> None:
        existing = {p["name"]: p for p in await self._admin.a_get_client_authz_permissions(server)}
        administrators = sorted(await self.administrators())
        current = existing.get(ADMINISTRATORS_PERMISSION)
        if not administrators:
            # A permission with no resource would cover every user: none at all instead.
            if current:
                await self._admin.a_delete_client_authz_policy(server, current["id"])
            return
        wanted: dict[str, Any] = {
            "name": ADMINISTRATORS_PERMISSION,
            "description": "Holders of a realm-management role, as found at set-up",
            "resourceType": "Users",
            "resources": administrators,
            "decisionStrategy": "UNANIMOUS",
        }
        if current is None:
            await self._admin.a_create_client_authz_scope_permission(
                {**wanted, "scopes": list(USER_SCOPES), "policies": ["Realm administrators"]},
                server,
            )
            return
        policies = {
            p["name"]: p["id"] for p in await self._admin.a_get_client_authz_policies(server)
        }
        scopes = {s["name"]: s["id"] for s in await self._admin.a_get_client_authz_scopes(server)}
        await self._admin.a_update_client_authz_scope_permission(
            {
                **wanted,
                "id": current["id"],
                "type": "scope",
                "scopes": [scopes[s] for s in USER_SCOPES],
                "policies": [policies["Realm administrators"]],
            },
            server,
            current["id"],
        )

    async def _raw_list(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        connection = self._admin.connection
        answer = await connection.a_raw_get(
            f"admin/realms/{connection.realm_name}/{path}", **(params or {})
        )
        found = raise_error_from_response(answer, KeycloakGetError)
        return list(found) if isinstance(found, list) else []

    async def _paged(
        self, path: str, page: int = 500, extra: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            batch = await self._raw_list(path, {**(extra or {}), "first": len(found), "max": page})
            found += batch
            if len(batch) < page:
                return found

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
