"""A relying application's view: authorization code + PKCE for a student, through the
themed login form, with Authlib as the relying party; tokens verified against the JWKS."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.helpers.browserless import browser, submit_login


def _payload(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: to assert what is NOT in a token."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


@pytest.fixture(scope="module")
def discovery(stack: Any) -> dict[str, Any]:
    return dict(httpx.get(f"{stack.realm_url}/.well-known/openid-configuration").json())


def _rp(stack: Any) -> OAuth2Session:
    return OAuth2Session(
        client_id="portal",
        client_secret=stack.secrets["UM_PORTAL_CLIENT_SECRET"],
        scope="openid profile email",
        redirect_uri=stack.portal_redirect_uri,
        code_challenge_method="S256",
    )


@pytest.mark.core
def test_student_logs_in_with_code_and_pkce(
    stack: Any, make_user: Any, discovery: dict[str, Any]
) -> None:
    student = make_user()
    rp = _rp(stack)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(
        discovery["authorization_endpoint"],
        code_verifier=verifier,
        nonce=nonce,
        ui_locales="fr",
    )
    assert f"code_challenge={create_s256_code_challenge(verifier)}" in url

    with browser() as client:
        login_page = client.get(url)
        # The themed French page.
        assert '<html class="login-pf" lang="fr"' in login_page.text
        assert "Connexion à votre compte informatique" in login_page.text
        # Each of Keycloak's pages titled by its own heading (RGAA 8.6).
        assert "<title>Connexion à votre compte informatique \N{EN DASH} " in login_page.text
        assert "css/um.css" in login_page.text
        assert 'id="um-footer-activation"' in login_page.text
        answer = submit_login(client, login_page, student["username"], student["password"])
    # No second step for a student: the password's answer is the redirect to the portal
    # (staff get a one-time-code page here: test_staff_otp.py).
    assert answer.status_code == 302, answer.text[:500]
    location = answer.headers["Location"]
    assert location.startswith(stack.portal_redirect_uri)
    assert parse_qs(urlparse(location).query)["state"] == [state]

    token = rp.fetch_token(
        discovery["token_endpoint"], authorization_response=location, code_verifier=verifier
    )

    keys = KeySet.import_key_set(httpx.get(discovery["jwks_uri"]).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    claims_registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": discovery["issuer"]},
        aud={"essential": True, "value": "portal"},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True, "value": student["id"]},
    )
    claims_registry.validate(id_token.claims)
    claims = id_token.claims
    assert claims["preferred_username"] == student["username"]
    assert claims["email"] == student["attributes"]["institutionalEmail"][0]
    assert claims["email_verified"] is True
    assert claims["eduPersonAffiliation"] == ["student"]
    assert claims["given_name"] == "Jeanne"

    access = jwt.decode(token["access_token"], keys, algorithms=["RS256"]).claims
    userinfo = rp.get(discovery["userinfo_endpoint"]).json()
    assert userinfo["email"] == claims["email"]

    rescue = student["email"]
    ine = student["attributes"]["ine"][0]
    for name, document in (
        ("id token", claims),
        ("access token", access),
        ("userinfo", userinfo),
        ("raw id token", _payload(token["id_token"])),
    ):
        text = json.dumps(document)
        assert rescue not in text, f"rescue email leaked into the {name}"
        assert ine not in text, f"INE leaked into the {name}"
        assert "ine" not in document, name


def test_wrong_password_is_refused_in_french(
    stack: Any, make_user: Any, discovery: dict[str, Any]
) -> None:
    student = make_user()
    url, _ = _rp(stack).create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48)
    )
    with browser() as client:
        answer = submit_login(client, client.get(url), student["username"], "Not-the-1-pass")
    assert answer.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in answer.text


def test_disabled_student_gets_no_code_and_no_token(
    stack: Any, make_user: Any, discovery: dict[str, Any]
) -> None:
    student = make_user(enabled=False)
    rp = _rp(stack)
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier
    )
    with browser() as client:
        answer = submit_login(client, client.get(url), student["username"], student["password"])
    assert answer.status_code == 200, "a disabled account must not be redirected with a code"
    assert "code=" not in answer.headers.get("Location", "")
    assert "Votre compte est désactivé" in answer.text
    # Nor may it get a token any other way: the portal has no password grant.
    direct = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "password",
            "client_id": "portal",
            "client_secret": stack.secrets["UM_PORTAL_CLIENT_SECRET"],
            "username": student["username"],
            "password": student["password"],
        },
    )
    assert direct.status_code in (400, 401)
    assert "access_token" not in direct.json()
