"""An example relying application ("portal", the ENT stand-in): OpenID Connect
authorization code + PKCE with Authlib. Students land here once activated.

It shows what a campus app receives: the claims of the ID token and userinfo.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.settings import Settings
from bridge.web.csrf import require_csrf
from bridge.web.templating import render

SESSION_KEY = "portal"


def make_oauth(settings: Settings) -> OAuth:
    oauth = OAuth()
    oauth.register(
        "portal",
        client_id="portal",
        client_secret=settings.portal_client_secret,
        server_metadata_url=(
            f"{settings.keycloak_url}/realms/{settings.realm}/.well-known/openid-configuration"
        ),
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )
    return oauth


def _client(request: Request) -> Any:
    return request.app.state.oauth.portal


async def portal(request: Request) -> Response:
    user = request.session.get(SESSION_KEY)
    return render(request, "portal.html", {"user": user})


async def login(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    redirect_uri = f"{settings.public_url}/portal/callback"
    response: Response = await _client(request).authorize_redirect(request, redirect_uri)
    return response


async def callback(request: Request) -> Response:
    try:
        token = await _client(request).authorize_access_token(request)
    except OAuthError as error:
        message = error.description or error.error
        return render(
            request,
            "error.html",
            {"title": "Connexion impossible", "message": message},
            status_code=400,
        )
    claims = dict(token.get("userinfo") or {})
    request.session[SESSION_KEY] = {
        "claims": {k: v for k, v in claims.items() if k not in {"nonce", "at_hash"}},
        "id_token": token.get("id_token"),
    }
    return RedirectResponse("/portal", status_code=303)


async def logout(request: Request) -> Response:  # POST, with the CSRF token
    """Ends the portal session, then the Keycloak session (RP-initiated logout)."""
    await require_csrf(request)
    settings: Settings = request.app.state.settings
    user = request.session.pop(SESSION_KEY, None)
    if not user:
        return RedirectResponse("/portal", status_code=303)
    metadata = await _client(request).load_server_metadata()
    query = urlencode(
        {
            "id_token_hint": user.get("id_token") or "",
            "post_logout_redirect_uri": f"{settings.public_url}/portal",
        }
    )
    return RedirectResponse(f"{metadata['end_session_endpoint']}?{query}", status_code=303)
