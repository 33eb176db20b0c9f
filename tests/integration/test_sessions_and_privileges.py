"""Open redirects, session fixation on the console, and the password grant refused by
every client of the realm. What each credential can do against the admin API: the
escalation matrix, test_escalation.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.web.console.session import COOKIE, SessionBox
from tests.helpers.browserless import browser, submit_login
from tests.helpers.console import console_login
from tests.helpers.forms import csrf_token
from tests.helpers.tokens import service_admin

HOSTILE_NEXT = (
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "/activation",  # ours, but not the console's
    "",
)


def test_console_next_never_leaves_the_console(bridge_url: str, make_user: Any) -> None:
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    with browser() as client:
        # Before login: the target is remembered in the session, then used after the login.
        start = client.get(f"{bridge_url}/console/login", params={"next": "https://evil.example/"})
        answer = submit_login(
            client,
            client.get(start.headers["Location"]),
            staff["username"],
            staff["password"],
            staff["otp_secret"],
        )
        landed = client.get(answer.headers["Location"])
        assert landed.headers["Location"] == "/console"
        # Signed in: /console/login?next= redirects at once; each hostile target is refused.
        for target in HOSTILE_NEXT:
            again = client.get(f"{bridge_url}/console/login", params={"next": target})
            assert again.status_code == 303
            assert again.headers["Location"] == "/console", target
        kept = client.get(f"{bridge_url}/console/login", params={"next": "/console?q=martin"})
        assert kept.headers["Location"] == "/console?q=martin"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/portal/callback",
        "http://localhost:1/portal/callback",
        "http://127.0.0.1:1/",
        "{portal}.evil.example/callback",
        "{portal}/../../evil",
    ],
)
def test_keycloak_refuses_redirects_outside_the_registered_apps(
    stack: Any, bridge: Any, redirect_uri: str
) -> None:
    """No wildcard host or port in the realm's redirect URIs (dev and tests pass the real
    URLs): an authorization request that names another target gets Keycloak's error page,
    not a redirect carrying a code."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    target = redirect_uri.format(portal=f"{bridge.url}/portal")
    with browser() as client:
        answer = client.get(
            f"{stack.realm_url}/protocol/openid-connect/auth",
            params={
                "client_id": "portal",
                "response_type": "code",
                "scope": "openid",
                "redirect_uri": target,
                "code_challenge": challenge.decode(),
                "code_challenge_method": "S256",
            },
        )
    assert answer.status_code == 400, (target, answer.status_code, answer.headers)
    assert "location" not in answer.headers


def test_realm_redirect_uris_have_no_wildcard_host() -> None:
    realm = json.loads((Path(__file__).parents[2] / "realm" / "um-realm.json").read_text())
    for client in realm["clients"]:
        uris = list(client.get("redirectUris") or [])
        logout = (client.get("attributes") or {}).get("post.logout.redirect.uris", "")
        uris += [u for u in logout.split("##") if u]
        for uri in uris:
            assert re.fullmatch(r"\$\{UM_[A-Z_]+:[^}]+\}/[^*]*\*?", uri), (client["clientId"], uri)


def test_a_planted_session_does_not_survive_the_console_login(
    bridge_url: str, make_user: Any
) -> None:
    """Session fixation: an attacker plants their session cookie (and knows its CSRF token)
    in the staff member's browser. The login starts a new session: the planted token is
    worth nothing afterwards."""
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    student = make_user(password=None)
    with browser() as attacker:
        planted_page = attacker.get(f"{bridge_url}/activation")
        planted_cookie = attacker.cookies["um_session"]
        planted_jar = httpx.Cookies(attacker.cookies)  # as stored: same domain and path
        planted_token = csrf_token(planted_page.text)
    with browser() as victim:
        victim.cookies.update(planted_jar)
        assert victim.cookies["um_session"] == planted_cookie
        console_login(victim, bridge_url, staff["username"], staff["password"], staff["otp_secret"])
        # The login dropped the planted session; the next form starts a new one.
        assert "um_session" not in victim.cookies
        page = victim.get(f"{bridge_url}/console/accounts/{student['id']}")
        assert victim.cookies["um_session"] != planted_cookie
        assert csrf_token(page.text) != planted_token
        forged = victim.post(
            f"{bridge_url}/console/accounts/{student['id']}/actions/reset",
            data={"csrf_token": planted_token, "reason": "planted"},
        )
        assert forged.status_code == 403


def staff_token(bridge: Any, client: httpx.Client) -> str:
    box = SessionBox(bridge.app.state.settings.console_session_secret)
    session = box.open(client.cookies.get(COOKIE, path="/console"))
    assert session is not None
    return session.access_token


@pytest.mark.core
def test_no_client_of_the_realm_takes_a_password(stack: Any, make_user: Any) -> None:
    """A staff member's password gets no token by the password grant, from any client of
    realm `um` (admin-cli included: it would have opened the admin API to staff without the
    console), and the realm's own admin console is disabled (issue 15)."""
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    secrets_of = {
        "portal": stack.secrets["UM_PORTAL_CLIENT_SECRET"],
        "bridge-console": stack.secrets["UM_CONSOLE_CLIENT_SECRET"],
        "bridge": stack.secrets["UM_BRIDGE_CLIENT_SECRET"],
        "provisioning": stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
        "admin-cli": None,
        "security-admin-console": None,
        "account-console": None,
    }
    for client_id, secret in secrets_of.items():
        answer = httpx.post(
            f"{stack.realm_url}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": client_id,
                **({"client_secret": secret} if secret else {}),
                "username": staff["username"],
                "password": staff["password"],
                "scope": "openid",
            },
        )
        assert answer.status_code in (400, 401), (client_id, answer.status_code)
        assert "access_token" not in answer.json(), client_id
    console = httpx.get(
        f"{stack.realm_url}/protocol/openid-connect/auth",
        params={
            "client_id": "security-admin-console",
            "redirect_uri": f"{stack.url}/admin/um/console/",
            "response_type": "code",
        },
    )
    assert console.status_code == 400 and 'id="kc-form-login"' not in console.text


@pytest.mark.core
def test_the_bridge_secret_reaches_students_only(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """What a leaked UM_BRIDGE_CLIENT_SECRET can do, asked of Keycloak itself with the
    bridge's client-credentials token: find, read and update students; nothing about
    anyone else, no group or role, no realm setting (issue 15)."""
    bridge = service_admin(stack, "bridge", "UM_BRIDGE_CLIENT_SECRET")
    student = make_user(password=None)
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    staff_group = admin.get("/group-by-path/staff").json()["id"]
    found = bridge.get("/users", params={"username": student["username"], "exact": "true"})
    assert [u["id"] for u in found.json()] == [student["id"]]
    assert bridge.get(f"/users/{student['id']}").status_code == 200
    assert bridge.put(f"/users/{student['id']}", json={"firstName": "Ok"}).status_code == 204
    # A staff account does not exist for it: not found by name, refused by id.
    staff_found = bridge.get("/users", params={"username": staff["username"], "exact": "true"})
    assert staff_found.json() == []
    password = {"type": "password", "value": "Pris-en-main-2026!", "temporary": False}
    refused = {
        "read a staff account": bridge.get(f"/users/{staff['id']}"),
        "reset a staff password": bridge.put(f"/users/{staff['id']}/reset-password", json=password),
        "disable a staff account": bridge.put(f"/users/{staff['id']}", json={"enabled": False}),
        "put a student in staff": bridge.put(f"/users/{student['id']}/groups/{staff_group}"),
        "map a realm role": bridge.post(
            f"/users/{student['id']}/role-mappings/realm",
            json=[admin.get("/roles/staff").json()],
        ),
        "change the realm's SMTP": bridge.put("", json={"smtpServer": {"host": "evil.example"}}),
        "list the clients": bridge.get("/clients"),
        "create a user": bridge.post("/users", json={"username": "intrus001", "enabled": True}),
    }
    report = {what: answer.status_code for what, answer in refused.items()}
    assert all(status == 403 for status in report.values()), report
    assert admin.get(f"/users/{staff['id']}").json()["enabled"] is True
