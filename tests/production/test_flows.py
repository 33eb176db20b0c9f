"""The flows through nginx, as deployed: a student activates and signs in to the portal, a
student who lost the password gets a new one, staff reset an account in the console, a
campus application logs a student in with code + PKCE and refreshes the tokens. Every
request goes to a public host over HTTPS; nothing here speaks to a replica or a node."""

from __future__ import annotations

import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from devstack.shape import ProductionShape
from tests.helpers.activation import follow, start
from tests.helpers.browserless import browser, page_text, submit_login
from tests.helpers.console import console_login, post_action
from tests.helpers.keycloak_pages import NEW_PASSWORD, use_link_in
from tests.helpers.lost_password import ask
from tests.helpers.mailbox import action_link, wait_for_mails
from tests.helpers.report import report


def test_the_bridge_runs_from_its_wheel_not_the_checkout(shape: ProductionShape) -> None:
    assert shape.installed
    installed = shape.installed.module_file()
    assert installed.is_relative_to(shape.installed.venv), installed
    assert not installed.is_relative_to(shape.directory.parent.parent / "bridge")


def test_the_console_exists_and_the_admin_api_is_not_public(shape: ProductionShape) -> None:
    with httpx.Client(timeout=30) as client:
        login = client.get(f"{shape.bridge_url}/console/login")
        assert login.status_code in (302, 303), login.text[:300]
        assert login.headers["Location"].startswith(f"{shape.keycloak_url}/realms/um/")
        # The admin API answers on the internal route only.
        assert client.get(f"{shape.keycloak_url}/admin/realms/um/users").status_code == 404
        assert client.get(f"{shape.bridge_url}/metrics").status_code == 404
        discovery = client.get(f"{shape.keycloak_url}/realms/um/.well-known/openid-configuration")
    assert discovery.json()["issuer"] == f"{shape.keycloak_url}/realms/um"


def test_activation_end_to_end_through_nginx(
    shape: ProductionShape, bridge: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user(password=None, emailVerified=False)
    with browser() as client:
        page = follow(client, bridge, start(client, bridge, student["username"]))
        assert "Consultez votre messagerie" in page_text(page.text), page_text(page.text)[-800:]
    link = action_link(wait_for_mails(shape.mail_dir, student["email"])[0])
    assert link.startswith(f"{shape.keycloak_url}/realms/um/login-actions/action-token?")

    with browser() as client:
        done = use_link_in(client, link, NEW_PASSWORD)
        assert "votre mot de passe est enregistré" in page_text(done.text), done.text[-1500:]
        back = re.search(r'href="([^"]+)"[^>]*>\s*» Se connecter au portail', done.text)
        assert back, done.text[-1500:]
        portal_login = client.get(html.unescape(back.group(1)))
        answer = submit_login(
            client, client.get(portal_login.headers["Location"]), student["username"], NEW_PASSWORD
        )
        callback = client.get(answer.headers["Location"])
        assert callback.status_code == 303, (callback.status_code, callback.text[-500:])
        portal = client.get(urljoin(bridge.url, callback.headers["Location"]))
        # The account page: the student's own token against Keycloak's Account API, on the
        # bridge's back-channel (nginx's internal route) with a token issued on the public
        # host.
        account = client.get(f"{bridge.url}/portal/espace-personnel/compte-informatique")
        # Browsers keep a cookie of at most 4096 bytes (RFC 6265, 6.1): the sealed tokens
        # must fit, with the real issuer's URL in them.
        sealed = next(c for c in client.cookies.jar if c.name == "um_portal_tokens")
        tokens_cookie = len(sealed.name) + len(sealed.value or "")
    assert f'id="um-portal-username">{student["username"]}<' in portal.text
    assert account.status_code == 200, account.text[:500]
    report(f"production shape: the account page's sealed tokens, {tokens_cookie} bytes of 4096")
    assert tokens_cookie < 4096, tokens_cookie
    assert f'id="um-it-account-username">{student["username"]}<' in account.text
    assert 'id="um-it-account-password-changed">' in account.text
    assert len(re.findall(r'<tr class="um-session', account.text)) == 1
    assert admin.get(f"/users/{student['id']}").json()["emailVerified"] is True


def test_lost_password_through_nginx(shape: ProductionShape, bridge: Any, make_user: Any) -> None:
    student = make_user()
    with browser() as client:
        answer = ask(client, bridge, student["username"])
        assert answer.status_code == 303, answer.text[:500]
    link = action_link(wait_for_mails(shape.mail_dir, student["email"], timeout=60)[0])
    with browser() as client:
        done = use_link_in(client, link, "Oublie-mdp-2026")
    assert "votre mot de passe est enregistré" in page_text(done.text), done.text[-1500:]


def test_staff_reset_an_account_in_the_console(
    bridge: Any, make_user: Any, admin: httpx.Client
) -> None:
    """Staff sign in with password and one-time code through Keycloak's public host; the
    console acts with its service account on the internal route."""
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    student = make_user()
    with browser() as client:
        landed = console_login(
            client, bridge.url, staff["username"], staff["password"], staff["otp_secret"]
        )
        assert landed.status_code == 303 and landed.headers["Location"] == "/console"
        done = post_action(client, bridge.url, student["id"], "reset", reason="mot de passe perdu")
        assert done.status_code == 303, page_text(done.text)[-800:]
        page = client.get(urljoin(bridge.url, done.headers["Location"]))
        assert 'data-state="reset"' in page.text
    assert admin.get(f"/users/{student['id']}/credentials").json() == []


def test_a_campus_application_logs_in_with_pkce_and_refreshes(
    shape: ProductionShape, make_user: Any
) -> None:
    student = make_user()
    discovery = httpx.get(
        f"{shape.keycloak_url}/realms/um/.well-known/openid-configuration", timeout=30
    ).json()
    # Seen from outside, every endpoint is on the public host.
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert discovery[endpoint].startswith(f"{shape.keycloak_url}/realms/um/"), endpoint
    redirect_uri = f"{shape.values['UM_PORTAL_URL']}/test-callback"
    rp = OAuth2Session(
        client_id="portal",
        client_secret=shape.values["UM_PORTAL_CLIENT_SECRET"],
        scope="openid profile email",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier
    )
    assert f"code_challenge={create_s256_code_challenge(verifier)}" in url
    with browser() as client:
        answer = submit_login(client, client.get(url), student["username"], student["password"])
    assert answer.status_code == 302, answer.text[:500]
    location = answer.headers["Location"]
    assert location.startswith(redirect_uri)
    assert parse_qs(urlparse(location).query)["state"] == [state]
    token = rp.fetch_token(
        discovery["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert (
        rp.get(discovery["userinfo_endpoint"]).json()["preferred_username"] == (student["username"])
    )
    refreshed = rp.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
