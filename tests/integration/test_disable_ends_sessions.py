"""What disabling an account alone does on the pinned Keycloak (26.5.6), the evidence
`bridge expire` is built on (docs/lifecycle.md, `bridge expire`): a PUT of
`{"enabled": false}` and nothing else, by the jobs' own credential, then what the
student's open session can still do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bridge.gateway.keycloak import ProvisioningGateway
from tests.integration.test_expire import expiring, tokens

pytestmark = pytest.mark.anyio


def _refresh(stack: Any, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{stack.realm_url}/protocol/openid-connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "portal",
            "client_secret": stack.secrets["UM_PORTAL_CLIENT_SECRET"],
        },
    )


def _introspect(stack: Any, token: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{stack.realm_url}/protocol/openid-connect/token/introspect",
        data={"token": token},
        auth=("portal", stack.secrets["UM_PORTAL_CLIENT_SECRET"]),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _userinfo(stack: Any, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{stack.realm_url}/protocol/openid-connect/userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
    )


async def test_disabling_alone_refuses_the_session_and_keeps_it_listed_and_the_account_whole(
    stack: Any, jobs_gateway: ProvisioningGateway, make_user: Any, admin: httpx.Client
) -> None:
    student = expiring(make_user)
    issued = tokens(stack, student["username"], student["password"])
    user = f"/users/{student['id']}"
    # A pending action, set after the sign-in (a required action would stop it).
    assert admin.put(user, json={"requiredActions": ["VERIFY_EMAIL"]}).status_code == 204
    before = admin.get(user).json()
    credentials = admin.get(f"{user}/credentials").json()
    assert admin.get(f"{user}/sessions").json() != []
    assert _introspect(stack, issued["access_token"])["active"] is True
    assert _userinfo(stack, issued["access_token"]).status_code == 200

    # What `bridge expire` sends, with the jobs' own credential: `enabled` and nothing else.
    await jobs_gateway._admin.a_update_user(student["id"], {"enabled": False})

    # (a) the refresh token of the open session is refused
    refreshed = _refresh(stack, issued["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    # (b) its access token is inactive to introspection, and refused by userinfo
    assert _introspect(stack, issued["access_token"])["active"] is False
    assert _userinfo(stack, issued["access_token"]).status_code == 401
    # (c) but the session is still there: disabling does not remove it
    assert [s["id"] for s in admin.get(f"{user}/sessions").json()] != []
    # The partial representation kept the rest of the account.
    after = admin.get(user).json()
    assert after["enabled"] is False
    for key in ("username", "firstName", "lastName", "email", "emailVerified", "attributes"):
        assert after[key] == before[key], key
    assert after["requiredActions"] == ["VERIFY_EMAIL"]
    assert admin.get(f"{user}/credentials").json() == credentials

    # Hence the logout: enabled again (a re-enrollment), the old session would come back.
    assert admin.put(user, json={"enabled": True}).status_code == 204
    assert _refresh(stack, issued["refresh_token"]).status_code == 200


async def test_the_expiry_write_ends_the_sessions_for_good(
    stack: Any, jobs_gateway: ProvisioningGateway, make_user: Any, admin: httpx.Client
) -> None:
    student = expiring(make_user)
    issued = tokens(stack, student["username"], student["password"])
    user = f"/users/{student['id']}"
    account = await jobs_gateway.get_account(student["id"])
    assert await jobs_gateway.disable_expired(account) is True
    assert admin.get(f"{user}/sessions").json() == []
    assert admin.put(user, json={"enabled": True}).status_code == 204
    assert _refresh(stack, issued["refresh_token"]).status_code == 400
