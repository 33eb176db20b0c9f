"""A client's service-account token from the session's realm, and the admin API as that
account: what a leaked client secret gives (the escalation and privilege tests)."""

from __future__ import annotations

from typing import Any

import httpx


def service_token(stack: Any, client_id: str, secret_name: str) -> str:
    """The client-credentials token of `client_id`, whose secret is `stack.secrets[secret_name]`."""
    answer = httpx.post(
        f"{stack.realm_url}/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": stack.secrets[secret_name],
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def service_admin(stack: Any, client_id: str, secret_name: str) -> httpx.Client:
    """The realm's admin API with that token."""
    token = service_token(stack, client_id, secret_name)
    return httpx.Client(
        base_url=f"{stack.url}/admin/realms/um", headers={"Authorization": f"Bearer {token}"}
    )
