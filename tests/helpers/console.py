"""The staff console, over plain HTTP: signing in through Keycloak, posting an action."""

from __future__ import annotations

import httpx

from tests.helpers.browserless import submit_login
from tests.helpers.forms import csrf_token


def console_login(
    client: httpx.Client,
    bridge_url: str,
    username: str,
    password: str,
    otp_secret: str | None = None,
) -> httpx.Response:
    """Through Keycloak's login form, then its one-time-code page with a code computed from
    `otp_secret` (staff: make_user's `otp_secret`); returns the bridge's answer to the
    callback."""
    start = client.get(f"{bridge_url}/console/login")
    assert start.status_code in (302, 303), start.text[:300]
    answer = submit_login(
        client, client.get(start.headers["Location"]), username, password, otp_secret
    )
    assert answer.status_code == 302, answer.text[:500]
    return client.get(answer.headers["Location"])


def post_action(
    client: httpx.Client, bridge_url: str, user_id: str, action: str, **fields: str
) -> httpx.Response:
    """Post `action` on an account with the CSRF token of its confirmation page (or of the
    console's home page when the bridge refuses to show that page)."""
    confirm = client.get(f"{bridge_url}/console/accounts/{user_id}/actions/{action}")
    token = (
        csrf_token(confirm.text)
        if confirm.status_code == 200
        else csrf_token(client.get(f"{bridge_url}/console").text)
    )
    return client.post(
        f"{bridge_url}/console/accounts/{user_id}/actions/{action}",
        data={"csrf_token": token, **fields},
    )
