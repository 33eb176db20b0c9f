"""Security headers on every kind of bridge answer (pages, redirects, errors, console), the
cookies' flags in dev and outside it, and Keycloak's own headers on the themed pages."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

import httpx
import pytest

from bridge.app import create_app
from bridge.web.console.session import COOKIE, SessionBox
from tests.helpers.browserless import browser, submit_login
from tests.helpers.console import console_login
from tests.helpers.forms import csrf_token

STUDENT_PAGES = (
    "/",
    "/help",
    "/activation",
    "/activation/mail-sent",  # a redirect
    "/lost-password",
    "/portal",
    "/no-such-page",  # 404
    "/console",  # a redirect to the login
    "/healthz",
)


def assert_bridge_headers(answer: httpx.Response, where: str) -> None:
    csp = answer.headers.get("content-security-policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in csp.split(";"))):
        name, _, value = part.partition(" ")
        directives[name] = value
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert directives.get("default-src") == "'self'", where
    assert directives.get("script-src") == "'self'", where
    assert directives.get("style-src") == "'self'", where
    assert directives.get("frame-ancestors") == "'none'", where
    assert directives.get("object-src") == "'none'", where
    assert directives.get("base-uri") == "'none'", where
    assert answer.headers.get("x-frame-options") == "DENY", where
    assert answer.headers.get("x-content-type-options") == "nosniff", where
    assert answer.headers.get("referrer-policy") == "no-referrer", where


def cookie_flags(answer: httpx.Response, name: str) -> dict[str, str]:
    for header in answer.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            parts = [p.strip() for p in header.split(";")[1:]]
            return {p.partition("=")[0].lower(): p.partition("=")[2] for p in parts}
    raise AssertionError(f"no {name} cookie set: {answer.headers.get_list('set-cookie')}")


def test_every_kind_of_bridge_answer_carries_the_headers(bridge: Any, make_user: Any) -> None:
    with browser() as client:
        for path in STUDENT_PAGES:
            assert_bridge_headers(client.get(f"{bridge.url}{path}"), path)
        page = client.get(f"{bridge.url}/activation")
        posted = client.post(
            f"{bridge.url}/activation",
            data={"csrf_token": csrf_token(page.text), "identifier": "x!"},
        )
        assert posted.status_code == 400
        assert_bridge_headers(posted, "a refused form")
        forged = client.post(f"{bridge.url}/activation", data={"identifier": "jmartin001"})
        assert forged.status_code == 403
        assert_bridge_headers(forged, "a CSRF refusal")
        huge = client.post(
            f"{bridge.url}/activation",
            content=b"x" * 100_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert huge.status_code == 413
        assert_bridge_headers(huge, "413")
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    with browser() as console:
        console_login(
            console, bridge.url, staff["username"], staff["password"], staff["otp_secret"]
        )
        for path in ("/console", "/console?q=a", "/console/accounts/nope"):
            answer = console.get(f"{bridge.url}{path}")
            assert_bridge_headers(answer, path)
            assert answer.headers["cache-control"] == "no-store", path


def assert_no_store(answer: httpx.Response, where: str) -> None:
    assert answer.headers.get("cache-control") == "no-store", where
    assert answer.headers.get("pragma") == "no-cache", where


def test_every_student_page_is_no_store(bridge: Any, make_user: Any) -> None:
    """Student pages echo what was typed (an INE, an address) and show a masked rescue
    address: no browser or proxy cache may keep them. The stylesheet and the probes may."""
    student = make_user(password=None, email=None, emailVerified=False)
    with browser() as client:
        for path in STUDENT_PAGES:
            if path != "/healthz":
                assert_no_store(client.get(f"{bridge.url}{path}"), path)
        step_1 = client.get(f"{bridge.url}/activation")
        token = csrf_token(step_1.text)
        step_4 = client.post(
            f"{bridge.url}/activation",
            data={"csrf_token": token, "identifier": student["username"]},
        )
        assert_no_store(step_4, "step 2's redirect")
        assert_no_store(client.get(f"{bridge.url}/activation/ine"), "step 4")
        typed = client.post(
            f"{bridge.url}/activation/ine", data={"csrf_token": token, "ine": "12345ABCDEF"}
        )
        assert typed.status_code == 400 and "12345ABCDEF" in typed.text  # echoed: not cached
        assert_no_store(typed, "step 4 refused")
        assert_no_store(client.get(f"{bridge.url}/activation/rescue-email"), "step 4-1")
        lost = client.post(
            f"{bridge.url}/lost-password", data={"csrf_token": token, "identifier": "x!"}
        )
        assert_no_store(lost, "lost password refused")
        assert_no_store(client.post(f"{bridge.url}/activation", data={}), "a CSRF refusal")
    for path in ("/healthz", "/static/theme/css/um.css"):
        answer = httpx.get(f"{bridge.url}{path}")
        assert answer.status_code == 200, path
        assert "no-store" not in answer.headers.get("cache-control", ""), path


def test_cookies_in_dev(bridge: Any, make_user: Any) -> None:
    """Dev serves http://localhost: no Secure flag (the browser would drop the cookie from
    plain HTTP), everything else as in production."""
    with browser() as client:
        session = cookie_flags(client.get(f"{bridge.url}/activation"), "um_session")
    assert "httponly" in session and session["samesite"].lower() == "lax"
    assert session["path"] == "/" and "secure" not in session
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    with browser() as console:
        start = console.get(f"{bridge.url}/console/login")
        answer = submit_login(
            console,
            console.get(start.headers["Location"]),
            staff["username"],
            staff["password"],
            staff["otp_secret"],
        )
        callback = console.get(answer.headers["Location"])
    flags = cookie_flags(callback, COOKIE)
    assert "httponly" in flags and flags["samesite"].lower() == "lax"
    assert flags["path"] == "/console" and int(flags["max-age"]) == 8 * 3600


@pytest.mark.anyio
async def test_cookies_are_secure_outside_dev(bridge: Any, make_user: Any) -> None:
    """The same bridge published at an https URL, not in dev mode: both cookies `Secure`,
    HSTS on. The console cookie is re-issued when the staff member's access token is
    refreshed: a real session from the test bridge, its access token made stale."""
    settings = dataclasses.replace(
        bridge.app.state.settings, public_url="https://comptes.umontpellier.example", dev_mode=False
    )
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    with browser() as console:
        console_login(
            console, bridge.url, staff["username"], staff["password"], staff["otp_secret"]
        )
        sealed = console.cookies.get(COOKIE, path="/console")
    box = SessionBox(settings.console_session_secret)
    session = box.open(sealed)
    assert session is not None
    stale = box.seal(dataclasses.replace(session, access_expires_at=time.time() - 1))

    transport = httpx.ASGITransport(app=create_app(settings))
    base = "https://comptes.umontpellier.example"
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        page = await client.get("/activation")
        flags = cookie_flags(page, "um_session")
        assert "secure" in flags and "httponly" in flags and flags["samesite"].lower() == "lax"
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "/dev/mail" not in page.text  # dev-only pages are gone
        assert (await client.get("/dev/mail")).status_code == 404
        refreshed = await client.get("/console", headers={"cookie": f"{COOKIE}={stale}"})
    assert refreshed.status_code == 200, refreshed.text[:300]
    flags = cookie_flags(refreshed, COOKIE)
    assert "secure" in flags and "httponly" in flags and flags["samesite"].lower() == "lax"
    assert flags["path"] == "/console"


def test_keycloak_themed_pages_keep_keycloaks_headers(bridge: Any, stack: Any) -> None:
    """Keycloak's pages (login, required actions) are framed by nobody but Keycloak itself
    (its silent SSO iframe); its defaults, checked here so that a realm edit cannot drop
    them unnoticed."""
    with browser() as client:
        start = client.get(f"{bridge.url}/portal/login")
        login = client.get(start.headers["Location"])
    assert login.status_code == 200
    assert re.search(r"frame-ancestors 'self'", login.headers["content-security-policy"])
    assert login.headers["x-frame-options"] == "SAMEORIGIN"
    assert login.headers["x-content-type-options"] == "nosniff"
    assert login.headers["referrer-policy"] == "no-referrer"
    keycloak_cookies = login.headers.get_list("set-cookie")
    assert keycloak_cookies and all("httponly" in c.lower() for c in keycloak_cookies
                                    if c.startswith(("AUTH_SESSION_ID", "KC_RESTART")))  # fmt: skip


class BrokenGateway:
    """Any call fails in a way nobody planned for: what the 500 page is for."""

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("unplanned")

        return fail


@pytest.mark.anyio
async def test_the_500_page_carries_the_headers_and_no_trace(bridge: Any) -> None:
    settings = bridge.app.state.settings
    app = create_app(settings, gateway=BrokenGateway())  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
        page = await client.get("/activation")
        token = csrf_token(page.text)
        answer = await client.post(
            "/activation",
            data={"csrf_token": token, "identifier": "jmartin001"},
            headers={"accept": "text/html"},
        )
    assert answer.status_code == 500
    assert "Erreur interne" in answer.text and "RuntimeError" not in answer.text
    assert_bridge_headers(answer, "500")
