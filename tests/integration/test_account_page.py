"""The student's account page (issue 18, point 1) against the real Keycloak: what it says,
"sign out everywhere", and what a student's own token may reach in Keycloak's Account API.
Also the activation mail-sent page's time of the last mail."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import secrets
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session

from bridge.domain.accounts import mask_email
from bridge.domain.deadlines import PARIS
from bridge.gateway.keycloak.self_service import Tokens
from bridge.web.portal.tokens import COOKIE, sealer
from tests.helpers.activation import follow, start
from tests.helpers.browserless import browser, submit_login
from tests.helpers.forms import csrf_token
from tests.helpers.keycloak_pages import portal_sign_in
from tests.helpers.pages import text

PAGE = "/portal/espace-personnel/compte-informatique"
SIGN_OUT_EVERYWHERE = f"{PAGE}/deconnexion-partout"
DATETIME = r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}"


def _ine(student: dict[str, Any]) -> str:
    return str(student["attributes"]["ine"][0])


def _signed_in(client: httpx.Client, bridge_url: str, student: dict[str, Any]) -> None:
    page = portal_sign_in(client, bridge_url, student["username"], student["password"])
    assert f'id="um-portal-username">{student["username"]}<' in page.text, text(page)[:800]


def _account_page(client: httpx.Client, bridge_url: str, lang: str = "fr") -> httpx.Response:
    page = client.get(f"{bridge_url}{PAGE}?lang={lang}")
    assert page.status_code == 200, (page.status_code, text(page)[:800])
    return page


def _rp_tokens(stack: Any, student: dict[str, Any]) -> dict[str, Any]:
    """A second "browser client": another user agent signed in to the portal client
    directly (its own Keycloak session), holding its own tokens."""
    discovery = httpx.get(f"{stack.realm_url}/.well-known/openid-configuration").json()
    rp = OAuth2Session(
        client_id="portal",
        client_secret=stack.secrets["UM_PORTAL_CLIENT_SECRET"],
        scope="openid profile email",
        redirect_uri=stack.portal_redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce="n"
    )
    with browser() as other:
        other.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"
        answer = submit_login(other, other.get(url), student["username"], student["password"])
    assert answer.status_code == 302, text(answer)[:500]
    token: dict[str, Any] = rp.fetch_token(
        discovery["token_endpoint"],
        authorization_response=answer.headers["Location"],
        code_verifier=verifier,
    )
    token["token_endpoint"] = discovery["token_endpoint"]
    return token


def _refreshes(stack: Any, token: dict[str, Any]) -> bool:
    answer = httpx.post(
        token["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": "portal",
            "client_secret": stack.secrets["UM_PORTAL_CLIENT_SECRET"],
        },
    )
    return answer.status_code == 200


def test_the_account_page_says_the_accounts_facts(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user()
    rescue = student["email"]
    with browser() as client:
        _signed_in(client, bridge.url, student)
        page = _account_page(client, bridge.url)
        words = text(page)
        assert f'id="um-it-account-username">{student["username"]}<' in page.text
        assert 'id="um-it-account-first-name">Jeanne<' in page.text
        assert f'id="um-it-account-last-name">{student["lastName"]}<' in page.text
        assert "Votre compte est actif." in words
        assert "Il est valable jusqu'au 31/12/2099." in words
        assert "rien n'est supprimé" in words and "dès votre réinscription" in words
        assert f'id="um-it-account-rescue-email">{mask_email(rescue)}<' in page.text
        assert "un lien de vérification est envoyé à la nouvelle adresse" in words
        # The password made with the account: its credential's creation date.
        changed = re.search(r'id="um-it-account-password-changed">([^<]*)<', page.text)
        assert changed and re.fullmatch(DATETIME, changed.group(1)), changed
        # The first sign-in of this account: none before it.
        assert "Aucune connexion précédente" in words
        sessions = re.findall(r'<tr class="um-session[^"]*">', page.text)
        assert len(sessions) == 1 and "um-session-current" in sessions[0]
        assert "(cette session)" in words
        assert 'href="/portal/espace-personnel/compte-informatique/mot-de-passe"' in page.text
        assert f'action="{SIGN_OUT_EVERYWHERE}"' in page.text
        # Never the INE, never the whole rescue address.
        assert _ine(student) not in page.text
        assert rescue not in page.text and rescue.split("@")[0] not in page.text

        # A second session, elsewhere: listed, and it is the last sign-in before this one.
        other = _rp_tokens(stack, student)
        again = _account_page(client, bridge.url)
        assert len(re.findall(r'<tr class="um-session', again.text)) == 2
        last = re.search(r'id="um-it-account-last-sign-in">([^<]*)<', again.text)
        assert last and re.fullmatch(DATETIME, last.group(1)), last
        assert "Firefox" in text(again)

        english = text(_account_page(client, bridge.url, "en"))
        assert "Your account is active." in english
        assert "December 31, 2099" in english
        assert "nothing is deleted" in english
        assert "(this session)" in english
    assert _refreshes(stack, other)


def test_sign_out_everywhere_ends_every_session(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user()
    with browser() as client:
        _signed_in(client, bridge.url, student)
        other = _rp_tokens(stack, student)
        assert _refreshes(stack, other)
        page = _account_page(client, bridge.url)
        answer = client.post(
            f"{bridge.url}{SIGN_OUT_EVERYWHERE}", data={"csrf_token": csrf_token(page.text)}
        )
        assert answer.status_code == 303
        signed_out = client.get(urljoin(bridge.url, answer.headers["Location"]))
        assert "Toutes vos sessions sont fermées, y compris celle-ci" in text(signed_out)
        # This browser's portal session is over: the page asks for a sign-in again, and
        # Keycloak's session too (its login form, not a silent return).
        back = client.get(f"{bridge.url}{PAGE}")
        assert back.status_code == 303 and back.headers["Location"] == "/portal/login"
        login = client.get(client.get(f"{bridge.url}/portal/login").headers["Location"])
        assert 'id="kc-form-login"' in login.text
    # The other browser's session ended too.
    assert not _refreshes(stack, other)


def test_sign_out_everywhere_needs_the_csrf_token(bridge: Any, make_user: Any) -> None:
    student = make_user()
    with browser() as client:
        _signed_in(client, bridge.url, student)
        refused = client.post(f"{bridge.url}{SIGN_OUT_EVERYWHERE}", data={})
        assert refused.status_code in (400, 403)
        assert _account_page(client, bridge.url).status_code == 200


def _held(client: httpx.Client, bridge: Any) -> Tokens:
    sealed = next((c.value for c in client.cookies.jar if c.name == COOKIE), None)
    assert sealed
    secret = bridge.app.state.settings.session_secret
    return Tokens(**json.loads(sealer(secret).decrypt(sealed.encode())))


def _hold(client: httpx.Client, bridge: Any, tokens: Tokens) -> None:
    secret = bridge.app.state.settings.session_secret
    sealed = sealer(secret).encrypt(json.dumps(dataclasses.asdict(tokens)).encode()).decode()
    # In place of the bridge's own cookie (same domain as the jar stored it, same path).
    (kept,) = [c for c in client.cookies.jar if c.name == COOKIE]
    client.cookies.jar.clear(kept.domain, kept.path, kept.name)
    client.cookies.set(COOKIE, sealed, domain=kept.domain, path=kept.path)


def test_a_lapsing_token_is_refreshed_and_a_refused_one_asks_for_a_sign_in(
    bridge: Any, make_user: Any
) -> None:
    student = make_user()
    with browser() as client:
        _signed_in(client, bridge.url, student)
        held = _held(client, bridge)
        _hold(client, bridge, dataclasses.replace(held, expires_at=0))
        page = _account_page(client, bridge.url)
        assert f'id="um-it-account-username">{student["username"]}<' in page.text
        fresh = _held(client, bridge)
        assert fresh.access_token != held.access_token and fresh.expires_at > 0

        # Keycloak refuses the refresh (a token it never issued): sign in again, come back.
        _hold(client, bridge, dataclasses.replace(fresh, expires_at=0, refresh_token="x.y.z"))
        again = client.get(f"{bridge.url}{PAGE}")
        assert again.status_code == 303 and again.headers["Location"] == "/portal/login"


def test_a_students_token_reaches_their_own_account_only(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student, someone_else = make_user(), make_user()
    token = _rp_tokens(stack, student)["access_token"]
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    account = f"{stack.realm_url}/account"

    own = httpx.get(f"{account}/", headers=bearer)
    assert own.status_code == 200, own.text
    assert own.json()["username"] == student["username"]
    # The user profile's `user` view: no INE (admin-only) among what the student reads.
    assert "ine" not in (own.json().get("attributes") or {})
    assert _ine(student) not in own.text

    # The Account API names no user: the token's subject is the account. The admin API,
    # where another account can be named, refuses the student's token.
    other_id = someone_else["id"]
    base = stack.url.rstrip("/")
    for url in (
        f"{base}/admin/realms/um/users/{other_id}",
        f"{base}/admin/realms/um/users/{other_id}/sessions",
        f"{base}/admin/realms/um/users",
    ):
        answer = httpx.get(url, headers=bearer)
        assert answer.status_code in (401, 403), (url, answer.status_code)
    ended = httpx.post(f"{base}/admin/realms/um/users/{other_id}/logout", headers=bearer)
    assert ended.status_code in (401, 403)
    sessions = httpx.get(f"{account}/sessions", headers=bearer).json()
    assert sessions and all(s.get("id") for s in sessions)
    # someone_else signs in; the student's token still lists the student's sessions only.
    theirs = _rp_tokens(stack, someone_else)
    mine = {s["id"] for s in httpx.get(f"{account}/sessions", headers=bearer).json()}
    assert theirs["session_state"] not in mine
    assert _refreshes(stack, theirs)
    # And without a token, nothing.
    assert httpx.get(f"{account}/", headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.parametrize(("lang", "expected"), [("fr", "10h07"), ("en", "10:07 AM")])
def test_the_mail_sent_page_says_when_the_last_mail_left(
    bridge: Any, make_user: Any, clock: Any, lang: str, expected: str
) -> None:
    student = make_user(password=None)
    now = dt.datetime.now(PARIS).replace(hour=10, minute=7, second=0, microsecond=0)
    clock(now)
    with browser() as client:
        client.get(f"{bridge.url}/activation?lang={lang}")
        page = follow(client, bridge, start(client, bridge, student["username"]))
    last = re.search(r'id="um-last-mail">([^<]*)<', page.text)
    # Babel writes "10:07 AM" with a narrow no-break space.
    assert last and expected in last.group(1).replace("\u202f", " "), text(page)[:800]
