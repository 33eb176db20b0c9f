"""Staff sign-in for the console: OpenID Connect code + PKCE (Authlib, client
`bridge-console`), the staff member's tokens sealed in the console's own cookie
(session.py), and `StaffAuthentication`, the one middleware in front of every staff view:
it opens (and refreshes) the session, or sends to the login page, and gives the view the
console's gateway. That gateway acts with the console's own service account, which
Keycloak lets reach the members of `students` only; the staff member's token serves to
know who signed in and holds no administration right (docs/security.md, "Least
privilege"), so every read of an INE or address and every action goes through the
console's rules and records."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.domain.errors import AccountNotFound, NotAllowed
from bridge.gateway.keycloak import StaffGateway, StaffSignIn
from bridge.i18n import current_locale, gettext
from bridge.settings import Settings
from bridge.web.console.session import COOKIE, MAX_AGE, ConsoleSession, SessionBox
from bridge.web.console.words import REFUSALS
from bridge.web.csrf import require_csrf
from bridge.web.oidc import oidc_client
from bridge.web.requests import settings_of
from bridge.web.templating import render

log = logging.getLogger("bridge.console")


def make_oauth(settings: Settings) -> OAuth:
    return oidc_client(
        settings, "console", settings.console_client_id, settings.console_client_secret, "openid"
    )


def make_sign_in(settings: Settings) -> StaffSignIn:
    return StaffSignIn(
        settings.keycloak_backchannel_url,
        settings.realm,
        settings.console_client_id,
        settings.console_client_secret or "",
    )


def _client(request: Request) -> Any:
    return request.app.state.console_oauth.console


def _box(request: Request) -> SessionBox:
    box: SessionBox = request.app.state.console_box
    return box


def _sign_in(request: Request) -> StaffSignIn:
    sign_in: StaffSignIn = request.app.state.staff_sign_in
    return sign_in


def error_page(request: Request, status: int, code: str, **values: str) -> Response:
    title, message = REFUSALS[code]
    context = {"title": gettext(title), "message": gettext(message) % values}
    return render(request, "console/error.html", context, status_code=status)


def safe_next(raw: str | None) -> str:
    """Only a console path: anything else (another site, //host) is an open redirect."""
    if raw and raw.startswith("/console") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console"


async def login(request: Request) -> Response:
    if _box(request).open(request.cookies.get(COOKIE)):
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    request.session["console_next"] = safe_next(request.query_params.get("next"))
    settings = settings_of(request)
    # Keycloak's sign-in and one-time-code pages in the console's language.
    response: Response = await _client(request).authorize_redirect(
        request, f"{settings.public_url}/console/callback", ui_locales=current_locale()
    )
    return response


async def callback(request: Request) -> Response:
    try:
        token = await _client(request).authorize_access_token(request)
        identity = await _sign_in(request).identity(token.get("access_token", ""))
    except (OAuthError, NotAllowed) as error:
        detail = error.description or error.error if isinstance(error, OAuthError) else ""
        context = {"title": gettext("Connexion impossible"), "message": detail}
        return render(request, "console/error.html", context, status_code=400)
    if not identity.is_staff:
        # Signed in, but not staff: end that Keycloak session, keep nothing.
        await _end_keycloak_session(request, token.get("refresh_token"))
        return error_page(request, 403, "console.not_staff")
    next_url = safe_next(request.session.get("console_next"))
    # A new session for a new login (no fixation): nothing of the anonymous one is kept.
    request.session.clear()
    session = ConsoleSession(
        username=identity.username,
        user_id=identity.user_id,
        access_token=token["access_token"],
        access_expires_at=time.time() + int(token.get("expires_in") or 60),
        refresh_token=token.get("refresh_token") or "",
        started_at=time.time(),
    )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(**_cookie(request, session))
    return response


async def logout(request: Request) -> Response:  # POST, with the CSRF token
    await require_csrf(request)
    session = _box(request).open(request.cookies.get(COOKIE))
    if session is not None:
        await _end_keycloak_session(request, session.refresh_token)
    request.session.clear()
    response = render(request, "console/logged_out.html")
    response.delete_cookie(COOKIE, path="/console")
    return response


async def _end_keycloak_session(request: Request, refresh_token: str | None) -> None:
    """Back-channel logout: the staff member's Keycloak session ends with the console's."""
    if refresh_token and not await _sign_in(request).end_session(refresh_token):
        log.warning("could not end the Keycloak session of a console logout")


def _cookie(request: Request, session: ConsoleSession) -> dict[str, Any]:
    return {
        "key": COOKIE,
        "value": _box(request).seal(session),
        "max_age": MAX_AGE,
        "path": "/console",
        "httponly": True,
        "secure": settings_of(request).https,
        "samesite": "lax",
    }


async def _refreshed(request: Request, session: ConsoleSession) -> ConsoleSession | None:
    try:
        token = await _client(request).fetch_access_token(
            grant_type="refresh_token", refresh_token=session.refresh_token
        )
    except (OAuthError, httpx.HTTPError):
        return None
    if not token.get("access_token"):
        return None
    # Real time, not the app's clock: these are Keycloak's token lifetimes.
    return ConsoleSession(
        username=session.username,
        user_id=session.user_id,
        access_token=token["access_token"],
        access_expires_at=time.time() + int(token.get("expires_in") or 60),
        refresh_token=token.get("refresh_token") or session.refresh_token,
        started_at=session.started_at,
    )


def staff_of(request: Request) -> ConsoleSession:
    session: ConsoleSession = request.state.staff
    return session


async def is_administrator(request: Request) -> bool:
    """Whether the signed-in staff member holds `staff-admin`, read from their current
    access token (verified; refreshed every few minutes, so a role taken away counts at
    the next refresh, not at the next login). Keycloak cannot make this distinction for
    the console's writes, which go with the console's own service account: the console
    makes it (docs/console.md, "Administrators")."""
    try:
        identity = await _sign_in(request).identity(staff_of(request).access_token)
    except NotAllowed:
        return False
    return identity.is_staff and identity.is_admin


def staff_gateway_of(request: Request) -> StaffGateway:
    gateway: StaffGateway = request.state.staff_gateway
    return gateway


class StaffAuthentication:
    """In front of every staff view: the staff member's session (refreshed when the access
    token is about to expire) and a gateway acting with their token; the login page
    otherwise. Keycloak's refusals become the console's 403 and 404 pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        session = _box(request).open(request.cookies.get(COOKIE))
        refreshed = False
        if session is not None and session.access_seconds_left() < 30:
            session = await _refreshed(request, session)
            refreshed = True
        if session is None:
            target = request.url.path if request.method == "GET" else "/console"
            response: Response = RedirectResponse(
                "/console/login?" + urlencode({"next": target}), status_code=303
            )
            response.delete_cookie(COOKIE, path="/console")
            await response(scope, receive, send)
            return
        request.state.staff = session
        request.state.staff_gateway = request.app.state.staff_gateway
        cookie_headers: list[tuple[bytes, bytes]] = []
        if refreshed:
            carrier = Response()
            carrier.set_cookie(**_cookie(request, session))
            cookie_headers = [h for h in carrier.raw_headers if h[0] == b"set-cookie"]

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and cookie_headers:
                message["headers"] = [*message.get("headers", []), *cookie_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        except NotAllowed:
            await error_page(request, 403, "console.not_student")(scope, receive, send_with_cookie)
        except AccountNotFound:
            await error_page(request, 404, "console.not_found")(scope, receive, send_with_cookie)
