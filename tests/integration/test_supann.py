"""SupAnn / eduPerson claims, as a relying campus app reads them: written by the provisioning
job from the SIS row (tests/integration/test_provision.py covers the rest of the job), then
released by Keycloak's client scopes. The student number only to an app that asks for it
(scope `supann`); never the INE or the rescue address (test_realm.py walks every mapper)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.provision import provision
from tests.helpers.browserless import browser, submit_login
from tests.integration.test_provision import HEADER, ine, letters, number, user_by_number, write

pytestmark = pytest.mark.anyio
TODAY = dt.date(2026, 11, 23)
SCOPE = "univ-example.fr"


def _claims(stack: Any, username: str, password: str, scope: str) -> dict[str, Any]:
    """The ID token's and userinfo's claims of a code + PKCE sign-in by `portal`."""
    discovery = httpx.get(f"{stack.realm_url}/.well-known/openid-configuration").json()
    rp = OAuth2Session(
        client_id="portal",
        client_secret=stack.secrets["UM_PORTAL_CLIENT_SECRET"],
        scope=scope,
        redirect_uri=stack.portal_redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier
    )
    with browser() as client:
        answer = submit_login(client, client.get(url), username, password)
    assert answer.status_code == 302, answer.text[:300]
    token = rp.fetch_token(
        discovery["token_endpoint"],
        authorization_response=answer.headers["Location"],
        code_verifier=verifier,
    )
    keys = KeySet.import_key_set(httpx.get(discovery["jwks_uri"]).json())
    claims = dict(jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims)
    userinfo = rp.get(discovery["userinfo_endpoint"]).json()
    return {"id_token": claims, "userinfo": userinfo}


def _activate(admin: httpx.Client, user: dict[str, Any]) -> str:
    """Give the provisioned account a password of its own (what activation does)."""
    password = "Campus-" + secrets.token_urlsafe(12)
    admin.put(
        f"/users/{user['id']}/reset-password",
        json={"type": "password", "value": password, "temporary": False},
    ).raise_for_status()
    admin.put(f"/users/{user['id']}", json={**user, "requiredActions": []}).raise_for_status()
    return password


async def test_a_campus_app_reads_the_supann_claims(
    stack: Any, jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    student_number, student_ine = number(), ine()
    row = f"{student_number},Leroy{letters()},Inès,2026,{student_ine},,ines.perso@example.org,"
    csv = write(tmp_path, [HEADER, row])
    summary = await provision(jobs_gateway, csv, today=TODAY, principal_scope=SCOPE)
    assert (summary.created, summary.rejected) == (1, [])
    user = user_by_number(admin, student_number)
    username = user["username"]
    assert user["attributes"]["eduPersonPrincipalName"] == [f"{username}@{SCOPE}"]
    assert user["attributes"]["eduPersonPrimaryAffiliation"] == ["student"]
    password = _activate(admin, user)

    asked = _claims(stack, username, password, "openid profile email supann")
    for name, claims in asked.items():
        assert claims["eduPersonPrincipalName"] == f"{username}@{SCOPE}", name
        assert claims["supannEtuId"] == student_number, name
        assert claims["eduPersonPrimaryAffiliation"] == "student", name
        assert claims["eduPersonAffiliation"] == ["student"], name
        text = json.dumps(claims)
        assert student_ine not in text and "ines.perso@example.org" not in text, name

    # Without `supann`, the student number stays home; eduPerson comes by default.
    plain = _claims(stack, username, password, "openid profile email")
    assert "supannEtuId" not in plain["id_token"] and "supannEtuId" not in plain["userinfo"]
    assert plain["id_token"]["eduPersonPrincipalName"] == f"{username}@{SCOPE}"


async def test_existing_accounts_get_their_principal_name_from_the_next_run(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    student_number = number()
    csv = write(tmp_path, [HEADER, f"{student_number},Roux{letters()},Paul,2026,,,,"])
    await provision(jobs_gateway, csv, today=TODAY)
    # As an account created before the claims existed: neither attribute.
    before = user_by_number(admin, student_number)
    for name in ("eduPersonPrincipalName", "eduPersonPrimaryAffiliation"):
        before["attributes"].pop(name, None)
    admin.put(f"/users/{before['id']}", json=before).raise_for_status()
    assert set(user_by_number(admin, student_number)["attributes"]).isdisjoint(
        {"eduPersonPrincipalName", "eduPersonPrimaryAffiliation"}
    )

    summary = await provision(jobs_gateway, csv, today=TODAY, principal_scope=SCOPE)
    assert (summary.created, summary.updated) == (0, 1)
    after = user_by_number(admin, student_number)
    assert after["attributes"]["eduPersonPrincipalName"] == [f"{before['username']}@{SCOPE}"]
    assert after["attributes"]["eduPersonPrimaryAffiliation"] == ["student"]
    again = await provision(jobs_gateway, csv, today=TODAY, principal_scope=SCOPE)
    assert (again.updated, again.unchanged) == (0, 1)
