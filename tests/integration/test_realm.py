"""The realm as Keycloak holds it after importing realm/um-realm.json, read back through
the admin API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

POLICY = (
    "length(10) and regexPattern((?=.*[^A-Za-z].*[^A-Za-z])[!#-&(-\\[\\]-_a-~]*) and notUsername"
)


@pytest.fixture(scope="module")
def realm(admin: httpx.Client) -> dict[str, Any]:
    response = admin.get("")
    assert response.status_code == 200
    return dict(response.json())


def test_realm_settings(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "um"
    assert realm["defaultLocale"] == "fr"
    assert realm["internationalizationEnabled"] is True
    assert set(realm["supportedLocales"]) == {"fr", "en"}
    assert realm["loginTheme"] == "um-activation"
    assert realm["emailTheme"] == "um-activation"
    assert realm["registrationAllowed"] is False
    assert realm["loginWithEmailAllowed"] is False
    assert realm["duplicateEmailsAllowed"] is True
    assert realm["resetPasswordAllowed"] is False
    assert realm["bruteForceProtected"] is True
    assert realm["eventsEnabled"] is True
    assert realm["adminEventsEnabled"] is True
    assert realm["adminEventsDetailsEnabled"] is True


def test_admin_events_are_kept_one_year(admin: httpx.Client) -> None:
    """docs/security.md, "Admin events": they hold the accounts' representations (the
    console's history reads its records there), so they are not kept for ever: the realm
    attribute Keycloak's expiry task reads (what its admin console sets under "Admin events
    settings", 26.x)."""
    config = admin.get("/events/config").json()
    assert config["adminEventsEnabled"] and config["adminEventsDetailsEnabled"]
    assert config["eventsExpiration"] == 90 * 24 * 3600
    attributes = admin.get("").json()["attributes"]
    assert int(attributes["adminEventsExpiration"]) == 365 * 24 * 3600


def test_password_policy_is_the_spec_one(realm: dict[str, Any]) -> None:
    assert realm["passwordPolicy"] == POLICY


def test_smtp_comes_from_the_environment(realm: dict[str, Any], stack: Any) -> None:
    smtp = realm["smtpServer"]
    assert smtp["host"] == "127.0.0.1"
    assert smtp["port"] == str(stack.smtp_port)


def test_user_profile_declares_the_account_data(admin: httpx.Client) -> None:
    profile = admin.get("/users/profile").json()
    attributes = {a["name"]: a for a in profile["attributes"]}
    assert {
        "username",
        "email",
        "firstName",
        "lastName",
        "ine",
        "supannEtuId",
        "institutionalEmail",
        "eduPersonAffiliation",
        "lastEnrollmentYear",
        "validUntil",
    } <= set(attributes)
    # The INE is admin-only: students can neither see nor edit it.
    assert attributes["ine"]["permissions"] == {"view": ["admin"], "edit": ["admin"]}
    for name in (
        "supannEtuId",
        "institutionalEmail",
        "lastEnrollmentYear",
        "validUntil",
        "eduPersonAffiliation",
    ):
        assert attributes[name]["permissions"]["edit"] == ["admin"], name
    assert attributes["eduPersonAffiliation"]["multivalued"] is True
    # Undeclared attributes are dropped, not stored: no unmanaged-attribute policy.
    assert "unmanagedAttributePolicy" not in profile


def test_undeclared_attribute_is_not_stored(admin: httpx.Client, make_user: Any) -> None:
    user = make_user(attributes={"ine": ["0123456789M"], "shoeSize": ["42"]})
    assert "shoeSize" not in (admin.get(f"/users/{user['id']}").json().get("attributes") or {})


def _client(admin: httpx.Client, client_id: str) -> dict[str, Any]:
    found = admin.get("/clients", params={"clientId": client_id}).json()
    assert len(found) == 1, client_id
    return dict(found[0])


def test_portal_is_a_confidential_pkce_client(admin: httpx.Client, stack: Any) -> None:
    portal = _client(admin, "portal")
    assert portal["publicClient"] is False
    assert portal["standardFlowEnabled"] is True
    assert portal["directAccessGrantsEnabled"] is False
    assert portal["implicitFlowEnabled"] is False
    assert portal["attributes"]["pkce.code.challenge.method"] == "S256"
    # Exactly the portal's URL: no wildcard host or port (docs/security.md, open redirects).
    assert portal["redirectUris"] == [f"http://localhost:{stack.bridge_port}/portal/*"]


# Each service account: its query roles (listing, no reading) and the one realm role that
# the fine-grained permissions name; what it may read and write is the members of
# `students` (bridge realm console-permissions; docs/security.md, "Least privilege").
SERVICE_ACCOUNTS = {
    "bridge": ({"query-groups", "query-users"}, "student-accounts"),
    # view-events, read-only: the staff history, last sign-in and last link sent.
    "bridge-console": ({"query-groups", "query-users", "view-events"}, "student-accounts"),
    "provisioning": ({"query-groups", "query-users"}, "student-provisioning"),
}


@pytest.mark.parametrize("client_id", sorted(SERVICE_ACCOUNTS))
def test_service_accounts_hold_query_roles_and_one_scoped_role(
    admin: httpx.Client, client_id: str
) -> None:
    client = _client(admin, client_id)
    assert client["serviceAccountsEnabled"] is True
    assert client["directAccessGrantsEnabled"] is False
    account = admin.get(f"/clients/{client['id']}/service-account-user").json()
    mappings = admin.get(f"/users/{account['id']}/role-mappings").json()
    client_roles = {
        name: {role["name"] for role in entry["mappings"]}
        for name, entry in (mappings.get("clientMappings") or {}).items()
    }
    management, realm_role = SERVICE_ACCOUNTS[client_id]
    assert client_roles == {"realm-management": management}
    realm_roles = {role["name"] for role in mappings.get("realmMappings", [])}
    assert realm_role in realm_roles
    assert realm_roles <= {realm_role, "default-roles-um", "offline_access", "uma_authorization"}


def test_bridge_signs_nobody_in(admin: httpx.Client) -> None:
    assert _client(admin, "bridge")["standardFlowEnabled"] is False


def test_console_client_and_staff_role(admin: httpx.Client) -> None:
    console = _client(admin, "bridge-console")
    assert console["standardFlowEnabled"] is True
    assert console["publicClient"] is False
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    assert admin.get("/roles/staff").status_code == 200
    groups = {g["name"]: g for g in admin.get("/groups", params={"max": 100}).json()}
    assert {"students", "staff"} <= set(groups)
    staff_roles = admin.get(f"/groups/{groups['staff']['id']}/role-mappings/realm").json()
    assert [r["name"] for r in staff_roles] == ["staff"]
    # No administration right at all: the console acts with its own service account, so
    # a staff member's token is worth nothing against the admin API (test_escalation.py).
    assert admin.get("/roles/staff/composites").json() == []
    assert admin.get("/").json()["adminPermissionsEnabled"] is True


def test_no_mapper_exposes_the_ine_or_the_rescue_email(admin: httpx.Client) -> None:
    """Every mapper of every client scope and client: none reads `ine` or the `email`
    user field (the rescue address); the `email` claim is the institutional address."""
    mappers: list[dict[str, Any]] = []
    for scope in admin.get("/client-scopes").json():
        mappers += [{**m, "_owner": scope["name"]} for m in scope.get("protocolMappers", [])]
    for client in admin.get("/clients", params={"max": 100}).json():
        mappers += [{**m, "_owner": client["clientId"]} for m in client.get("protocolMappers", [])]
    for mapper in mappers:
        config = mapper.get("config", {})
        assert config.get("user.attribute") not in {"ine", "email"}, mapper
        assert mapper["protocolMapper"] != "oidc-usermodel-property-mapper" or config.get(
            "user.attribute"
        ) not in {"email", "emailVerified"}, mapper
        assert "ine" not in json.dumps(config).lower().split('"'), mapper
    email_claims = [m for m in mappers if m.get("config", {}).get("claim.name") == "email"]
    assert [(m["_owner"], m["config"]["user.attribute"]) for m in email_claims] == [
        ("email", "institutionalEmail")
    ]
    affiliation = [
        m for m in mappers if m.get("config", {}).get("claim.name") == "eduPersonAffiliation"
    ]
    assert affiliation and affiliation[0]["config"]["multivalued"] == "true"
