"""An example relying application ("portal", the ENT stand-in): OpenID Connect
authorization code + PKCE with Authlib. Students land here once activated.

It shows what a campus app receives: the claims of the ID token and userinfo.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import RequiredAction, mask_email
from bridge.domain.errors import NotAllowed, ServiceUnavailable
from bridge.gateway.keycloak import AuditReader
from bridge.gateway.keycloak.oidc import action_status, application_initiated
from bridge.gateway.keycloak.self_service import SelfService, Tokens, tokens_of
from bridge.i18n import N_, current_locale, gettext
from bridge.settings import Settings
from bridge.web.csrf import require_csrf
from bridge.web.oidc import oidc_client
from bridge.web.portal import tokens
from bridge.web.requests import settings_of
from bridge.web.templating import render

SESSION_KEY = "portal"


def make_oauth(settings: Settings) -> OAuth:
    return oidc_client(
        settings, "portal", "portal", settings.portal_client_secret, "openid profile email"
    )


def _client(request: Request) -> Any:
    return request.app.state.oauth.portal


NOTICES = {
    "password.success": N_(
        "Votre mot de passe a été modifié : le changement prend effet immédiatement."
    ),
    "password.cancelled": N_("Le changement de mot de passe a été annulé."),
    "password.error": N_("Le mot de passe n'a pas pu être modifié."),
}


async def portal(request: Request) -> Response:
    user = request.session.get(SESSION_KEY)
    code = request.session.pop("portal_notice", "")
    notice = gettext(NOTICES[code]) if code in NOTICES else ""
    return render(request, "portal.html", {"user": user, "notice": notice})


def locale_hints(request: Request) -> dict[str, str]:
    """Keycloak's pages in the language of the page the student came from: `ui_locales`
    (OpenID Connect's hint; below the account's own language once Keycloak knows it).
    Keycloak's own cookie lives on its host, which the bridge cannot write."""
    return {"ui_locales": current_locale()}


async def login(request: Request) -> Response:
    if declined_charter(request):
        # An action link's way back (UM_ACTION_REDIRECT_URI): not a new sign-in.
        return charter_declined(request)
    settings = settings_of(request)
    redirect_uri = f"{settings.public_url}/portal/callback"
    response: Response = await _client(request).authorize_redirect(
        request, redirect_uri, **locale_hints(request)
    )
    return response


async def change_password(request: Request) -> Response:
    """F4: the identity provider's application-initiated new password, themed; the new
    password takes effect at once, and the page offers to sign out the other sessions."""
    if not request.session.get(SESSION_KEY):
        return RedirectResponse("/portal", status_code=303)
    settings = settings_of(request)
    redirect_uri = f"{settings.public_url}/portal/callback"
    response: Response = await _client(request).authorize_redirect(
        request,
        redirect_uri,
        **application_initiated(RequiredAction.SET_PASSWORD),
        **locale_hints(request),
    )
    return response


CHARTER_DECLINED = "termsAndConditionsDeclined"
CHARTER_MESSAGE = N_(
    "Vous avez refusé la charte d'usage des ressources informatiques : votre compte ne peut "
    "pas être utilisé sans elle. Elle vous sera de nouveau proposée à votre prochaine "
    "connexion."
)


def declined_charter(request: Request) -> bool:
    """Keycloak's answer when the student refuses the IT charter (docs/keycloak.md)."""
    params = request.query_params
    return params.get("error") == "access_denied" and (
        params.get("error_description") == CHARTER_DECLINED
    )


def charter_declined(request: Request) -> Response:
    words = {"title": gettext("Charte non acceptée"), "message": gettext(CHARTER_MESSAGE)}
    return render(request, "error.html", words, status_code=403)


async def callback(request: Request) -> Response:
    status = action_status(request.query_params)
    back = _return_path(request)
    if status and "code" not in request.query_params:
        # Cancelled before Keycloak issued a code: the session is unchanged.
        request.session["portal_notice"] = f"password.{status}"
        return RedirectResponse(back, status_code=303)
    if declined_charter(request):
        return charter_declined(request)
    try:
        token = await _client(request).authorize_access_token(request)
    except OAuthError as error:
        message = error.description or error.error
        return render(
            request,
            "error.html",
            {"title": gettext("Connexion impossible"), "message": message},
            status_code=400,
        )
    claims = dict(token.get("userinfo") or {})
    request.session[SESSION_KEY] = {
        "claims": {k: v for k, v in claims.items() if k not in {"nonce", "at_hash"}},
        "id_token": token.get("id_token"),
    }
    if status:
        request.session["portal_notice"] = f"password.{status}"
    response = RedirectResponse(back, status_code=303)
    # The account page reads Keycloak's Account API with the student's own token.
    tokens.keep(request, response, tokens_of(dict(token), time.time()))
    return response


async def logout(request: Request) -> Response:  # POST, with the CSRF token
    """Ends the portal session, then the Keycloak session (RP-initiated logout)."""
    await require_csrf(request)
    settings = settings_of(request)
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
    response = RedirectResponse(f"{metadata['end_session_endpoint']}?{query}", status_code=303)
    tokens.drop(response)
    return response


# --- seed 000: "Espace personnel > Compte informatique > Changer votre mot de passe" --------

PERSONAL_SPACE = "/portal/espace-personnel"
IT_ACCOUNT = f"{PERSONAL_SPACE}/compte-informatique"
# Where the callback may send the student back to: a key in the session, never a URL
# from the request (no open redirect).
RETURN_PATHS = {"personal_space": PERSONAL_SPACE, "it_account": IT_ACCOUNT}
RETURN_KEY = "portal_return"


def _return_path(request: Request) -> str:
    return RETURN_PATHS.get(request.session.pop(RETURN_KEY, ""), "/portal")


def _sign_in_first(request: Request, page: str) -> Response | None:
    """The personal space is for a signed-in student: sign in, then come back here."""
    if request.session.get(SESSION_KEY):
        return None
    request.session[RETURN_KEY] = page
    return RedirectResponse("/portal/login", status_code=303)


async def personal_space(request: Request) -> Response:
    """Espace personnel: the sections of the student's own space."""
    refused = _sign_in_first(request, "personal_space")
    if refused:
        return refused
    return render(request, "portal_personal_space.html", {"user": request.session[SESSION_KEY]})


def self_service_of(request: Request) -> SelfService:
    """The gateway of the student's own token, made once per app from the portal client's
    settings (the same client that signed the student in)."""
    state = request.app.state
    if getattr(state, "self_service", None) is None:
        settings = settings_of(request)
        state.self_service = SelfService(
            settings.keycloak_backchannel_url,
            settings.realm,
            "portal",
            settings.portal_client_secret,
        )
    service: SelfService = state.self_service
    return service


# Refreshed this long before it lapses, so that a call never carries a dying token.
REFRESH_MARGIN = 30


async def _fresh_tokens(request: Request) -> Tokens | None:
    """The student's access token, refreshed when near its end; None when there is none or
    Keycloak ended the session (signed out elsewhere, expired): sign in again."""
    held = tokens.read(request)
    if held is None:
        return None
    if held.expires_at - REFRESH_MARGIN > time.time():
        return held
    try:
        return await self_service_of(request).refresh(held.refresh_token)
    except NotAllowed:
        return None


def _sign_in_again(request: Request) -> Response:
    request.session.pop(SESSION_KEY, None)
    request.session[RETURN_KEY] = "it_account"
    response = RedirectResponse("/portal/login", status_code=303)
    tokens.drop(response)
    return response


async def _previous_sign_in(
    request: Request, claims: dict[str, Any]
) -> tuple[bool, dt.datetime | None]:
    """(known, when): the last sign-in before this session, from Keycloak's LOGIN events.
    Only a holder of `view-events` reads them: the console's read-only service account,
    when this deployment runs the console (docs/account-page.md); otherwise unknown."""
    audit: AuditReader | None = getattr(request.app.state, "audit", None)
    user_id, session_id = str(claims.get("sub") or ""), str(claims.get("sid") or "")
    if audit is None or not user_id:
        return False, None
    try:
        return True, await audit.previous_login(user_id, session_id)
    except (NotAllowed, ServiceUnavailable):
        return False, None


async def it_account(request: Request) -> Response:
    """Espace personnel > Compte informatique: the student's account page. Everything about
    the account comes from Keycloak's Account API with the student's own token (Keycloak
    enforces what it may read); the last sign-in from Keycloak's events."""
    refused = _sign_in_first(request, "it_account")
    if refused:
        return refused
    held = await _fresh_tokens(request)
    if held is None:
        return _sign_in_again(request)
    user = request.session[SESSION_KEY]
    service = self_service_of(request)
    token = held.access_token
    try:
        profile, password_at, sessions, (sign_in_known, last_sign_in) = await asyncio.gather(
            service.profile(token),
            service.password_changed_at(token),
            service.sessions(token),
            _previous_sign_in(request, user.get("claims") or {}),
        )
    except NotAllowed:
        return _sign_in_again(request)
    code = request.session.pop("portal_notice", "")
    notice = gettext(NOTICES[code]) if code in NOTICES else ""
    context = {
        "user": user,
        "notice": notice,
        "profile": profile,
        "masked_email": mask_email(profile.rescue_email) if profile.rescue_email else "",
        "password_at": password_at,
        "sign_in_known": sign_in_known,
        "last_sign_in": last_sign_in,
        "sessions": sessions,
    }
    response = render(request, "portal_it_account.html", context)
    if held != tokens.read(request):  # refreshed: the browser keeps the new ones
        tokens.keep(request, response, held)
    return response


async def sign_out_everywhere(request: Request) -> Response:  # POST, with the CSRF token
    """Every Keycloak session of the student ends, this one included (Account API with the
    student's own token), then the portal's own session; the signed-out page follows."""
    await require_csrf(request)
    held = await _fresh_tokens(request)
    if held is not None:
        # NotAllowed: the session was already over, nothing left to end with this token.
        with contextlib.suppress(NotAllowed):
            await self_service_of(request).sign_out_everywhere(held.access_token)
    request.session.pop(SESSION_KEY, None)
    response = RedirectResponse(SIGNED_OUT, status_code=303)
    tokens.drop(response)
    return response


SIGNED_OUT = "/portal/deconnecte"


async def signed_out(request: Request) -> Response:
    return render(request, "portal_signed_out.html")


async def it_account_password(request: Request) -> Response:
    """ "Changer votre mot de passe": the same application-initiated action as the portal's
    own button (change_password), back to Compte informatique afterwards."""
    if request.session.get(SESSION_KEY):
        request.session[RETURN_KEY] = "it_account"
    return await change_password(request)
