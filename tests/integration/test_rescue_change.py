"""Changing the rescue address from the account page (issue 18, point 1) against the real
Keycloak, SMTP sink and Redis."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.test_account_page import _rp_tokens


def test_the_students_own_token_cannot_change_the_rescue_address(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """The Account API with the portal's token: Keycloak's user profile keeps `email`
    read-only there, so the verification link is the only way in."""
    student = make_user()
    token = _rp_tokens(stack, student)["access_token"]
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    account = f"{stack.realm_url}/account/"
    own = httpx.get(account, headers=bearer, params={"userProfileMetadata": "true"}).json()
    print(own)
    changed = {**own, "email": "hijacked@example.net"}
    changed.pop("userProfileMetadata", None)
    answer = httpx.post(account, headers=bearer, json=changed)
    print(answer.status_code, answer.text)
    stored = admin.get(f"/users/{student['id']}").json()
    assert stored["email"] == student["email"]
    assert stored["emailVerified"] is True
