"""Driving Keycloak's login form over plain HTTP, as a browser without JavaScript would."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.helpers.totp import fresh_code


class LocalhostIsSecure(httpx.BaseTransport):
    """Browsers treat http://localhost as a secure context and send it the cookies that
    Keycloak marks `Secure`; httpx would drop them over plain HTTP. This transport drops
    the flag from localhost's Set-Cookie headers, which has the browser's effect."""

    def __init__(self, **transport: Any) -> None:
        self._inner = httpx.HTTPTransport(**transport)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.url.host not in {"localhost", "127.0.0.1"}:
            return response
        headers = [
            (name, SECURE_FLAG.sub(b"", value) if name.lower() == b"set-cookie" else value)
            for name, value in response.headers.raw
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=response.stream,
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


def browser(**transport: Any) -> httpx.Client:
    """An HTTP client that keeps cookies like a browser and does not follow redirects,
    so that each hop can be asserted. `transport`: httpx.HTTPTransport's options (e.g.
    the local address to connect from)."""
    return httpx.Client(
        transport=LocalhostIsSecure(**transport),
        follow_redirects=False,
        timeout=30,
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )


SECURE_FLAG = re.compile(rb";\s*Secure(?=;|$)", re.I)
FORM_ACTION = re.compile(r'<form id="kc-form-login"[^>]*\baction="([^"]+)"', re.S)
OTP_FORM_ACTION = re.compile(r'<form id="kc-otp-login-form"[^>]*\baction="([^"]+)"', re.S)


def login_form_action(page: str) -> str:
    match = FORM_ACTION.search(page)
    assert match, "no Keycloak login form on the page"
    return html.unescape(match.group(1))


def is_otp_page(answer: httpx.Response) -> bool:
    """Keycloak's one-time-code page (staff, after their password: docs/security.md)."""
    return answer.status_code == 200 and OTP_FORM_ACTION.search(answer.text) is not None


def submit_otp(browser: httpx.Client, otp_page: httpx.Response, code: str) -> httpx.Response:
    """Post a one-time code to the form of `otp_page`; returns Keycloak's answer."""
    match = OTP_FORM_ACTION.search(otp_page.text)
    assert match, "no one-time-code form on the page: " + page_text(otp_page.text)[-1500:]
    return browser.post(html.unescape(match.group(1)), data={"otp": code})


def submit_login(
    browser: httpx.Client,
    login_page: httpx.Response,
    username: str,
    password: str,
    otp_secret: str | None = None,
) -> httpx.Response:
    """Post the credentials to the form of `login_page`; returns Keycloak's answer
    (a redirect to the client with a code, or the form again with an error). With
    `otp_secret` (a staff member's), the one-time-code page that follows the password is
    answered too, with a code computed from it; without, that page is the answer."""
    assert login_page.status_code == 200, page_text(login_page.text)[-1500:]
    answer = browser.post(
        login_form_action(login_page.text),
        data={"username": username, "password": password, "credentialId": ""},
    )
    if otp_secret is not None and is_otp_page(answer):
        answer = submit_otp(browser, answer, fresh_code(otp_secret))
    return answer


def page_text(page: str) -> str:
    """A page's words without its markup, for assertion messages."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
