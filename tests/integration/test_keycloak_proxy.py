"""Keycloak believes X-Forwarded-For from the trusted proxy only (docs/security.md, "A
client choosing its own address"): its brute-force detection and its events count the
address the proxy saw, never one a client wrote. The dev and test Keycloak run with the
deployment's options (`--proxy-headers=xforwarded`, `--proxy-trusted-addresses`), the
proxy being a loopback address of its own; the test connects from it, and from another."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from devstack.keycloak import TRUSTED_PROXY
from tests.helpers.browserless import browser, submit_login

# A private address: Keycloak asks HTTPS of public ones (sslRequired "external"), and the
# dev Keycloak is plain HTTP.
FORGED = "10.77.0.9"


def failed_login_from(stack: Any, local_address: str, username: str) -> None:
    """A wrong password on the login form, connecting from `local_address` with a forged
    X-Forwarded-For."""
    query = urlencode(
        {
            "client_id": "portal",
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": stack.portal_redirect_uri,
            "code_challenge": create_s256_code_challenge(secrets.token_urlsafe(48)),
            "code_challenge_method": "S256",
        }
    )
    with browser(local_address=local_address) as client:
        # What deploy/nginx/bridge-proxy.conf sends, with the address forged.
        url = httpx.URL(stack.realm_url)
        client.headers.update(
            {
                "X-Forwarded-For": FORGED,
                "X-Forwarded-Proto": url.scheme,
                "X-Forwarded-Host": url.netloc.decode(),
            }
        )
        page = client.get(f"{stack.realm_url}/protocol/openid-connect/auth?{query}")
        answer = submit_login(client, page, username, "not-the-password-1")
    assert answer.status_code == 200  # the form again, with its error


def login_error_addresses(admin: httpx.Client, user_id: str) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        events = admin.get("/events", params={"type": "LOGIN_ERROR", "user": user_id}).json()
        if events or time.monotonic() > deadline:
            return [event.get("ipAddress") for event in events]
        time.sleep(0.2)


@pytest.mark.core
def test_a_forged_forwarded_for_is_believed_from_the_proxy_only(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    stranger, through_proxy = make_user(), make_user()
    failed_login_from(stack, "127.0.0.3", stranger["username"])
    failed_login_from(stack, TRUSTED_PROXY, through_proxy["username"])
    assert login_error_addresses(admin, stranger["id"]) == ["127.0.0.3"]
    assert login_error_addresses(admin, through_proxy["id"]) == [FORGED]
