"""The staff console (F7): registrar and help-desk staff find a student and reset the
account, set the rescue email after an in-person check, send the activation mail, issue an
activation key (with a printable letter), re-enable an enrolled student.

Authority (SPEC "Staff console authority", docs/console.md): every call that reads or
changes a student goes out with the staff member's own access token. Keycloak's
fine-grained admin permission lets the staff role view and manage the members of
`students`, nothing else, and its admin events name the staff member as the actor. The
console adds its own refusal of staff accounts (a staff member who is also a student) on
top. Only the history and the last login are read with the bridge's service account
(view-events), for an account the staff member could open.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account, mask_email
from bridge.domain.activation_keys import generate_activation_key
from bridge.domain.console import (
    ACTION_LABELS,
    ACTION_WORDS,
    STATE_WORDS,
    Action,
    StaffRecord,
    allowed_actions,
    can_reenable,
    clean_reason,
    state_of,
)
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import AccountNotFound, InvalidInput, NotAllowed
from bridge.domain.ine import InvalidIne, parse_ine
from bridge.domain.lifecycle import is_expired
from bridge.domain.ratelimits import count_on
from bridge.domain.rescue_email import validate_rescue_email
from bridge.gateway.keycloak import STAFF_ROLE, KeycloakGateway
from bridge.settings import Settings
from bridge.web.console_session import COOKIE, MAX_AGE, ConsoleSession, SessionBox
from bridge.web.csrf import require_csrf
from bridge.web.mailing import field, gateway_of, now_of, send_day_bounded_mail, settings_of
from bridge.web.oidc import oidc_client
from bridge.web.templating import render

log = logging.getLogger("bridge.console")

PAGE_SIZE = 20
SEARCH_KINDS = {
    "name": "Identifiant ou nom",
    "ine": "INE",
    "student_number": "Numéro d'étudiant",
}
_USER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STUDENT_NUMBER = re.compile(r"[0-9A-Za-z]{1,32}")
REQUIRED_ACTION_WORDS = {
    "UPDATE_PASSWORD": "choisir un mot de passe",
    "UPDATE_EMAIL": "vérifier l'adresse de secours",
    "TERMS_AND_CONDITIONS": "accepter la charte",
    "VERIFY_EMAIL": "vérifier l'adresse mail",
}
ERRORS = {
    "console.reason": "Le motif doit tenir sur une ligne de 200 caractères au plus.",
    "email.required": "Saisissez l'adresse mail de secours.",
    "email.format": "Cette adresse mail n'est pas valide.",
    "email.university": "L'adresse de secours doit être personnelle, pas une adresse de "
    "l'université.",
    "email.mismatch": "Les deux adresses ne sont pas identiques.",
}
NOTICES = {
    Action.RESET: "Le compte a été réinitialisé : l'étudiant doit l'activer de nouveau. "
    "Rien d'autre n'a changé.",
    Action.SET_RESCUE_EMAIL: "L'adresse de secours a été enregistrée.",
    Action.SEND_ACTIVATION_MAIL: "Le mail d'activation est parti vers l'adresse de secours.",
    Action.REENABLE: "Le compte a été réactivé.",
}


# --- OIDC login ------------------------------------------------------------------------


def make_oauth(settings: Settings) -> OAuth:
    return oidc_client(
        settings, "console", settings.console_client_id, settings.console_client_secret, "openid"
    )


def _client(request: Request) -> Any:
    return request.app.state.console_oauth.console


def _box(request: Request) -> SessionBox:
    box: SessionBox = request.app.state.console_box
    return box


def _claims(access_token: str) -> dict[str, Any]:
    """The access token's payload. Not verified here: it came straight from Keycloak's
    token endpoint over the back channel, and Keycloak verifies it on every admin call."""
    try:
        payload = access_token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _safe_next(raw: str | None) -> str:
    """Only a console path: anything else (another site, //host) is an open redirect."""
    if raw and raw.startswith("/console") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console"


async def login(request: Request) -> Response:
    if _box(request).open(request.cookies.get(COOKIE)):
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    request.session["console_next"] = _safe_next(request.query_params.get("next"))
    settings = settings_of(request)
    response: Response = await _client(request).authorize_redirect(
        request, f"{settings.public_url}/console/callback"
    )
    return response


async def callback(request: Request) -> Response:
    try:
        token = await _client(request).authorize_access_token(request)
    except OAuthError as error:
        return _error(request, 400, "Connexion impossible", error.description or error.error)
    claims = _claims(token.get("access_token", ""))
    roles = (claims.get("realm_access") or {}).get("roles") or []
    if STAFF_ROLE not in roles:
        # Signed in, but not staff: end that Keycloak session, keep nothing.
        await _end_keycloak_session(request, token.get("refresh_token"))
        return _error(
            request,
            403,
            "Accès réservé au personnel",
            "Cette console est réservée au service de scolarité et à l'assistance.",
        )
    next_url = _safe_next(request.session.get("console_next"))
    # A new session for a new login (no fixation): nothing of the anonymous one is kept.
    request.session.clear()
    session = ConsoleSession(
        username=str(claims.get("preferred_username") or ""),
        user_id=str(claims.get("sub") or ""),
        access_token=token["access_token"],
        access_expires_at=time.time() + int(token.get("expires_in") or 60),
        refresh_token=token.get("refresh_token") or "",
        started_at=time.time(),
    )
    response = RedirectResponse(next_url, status_code=303)
    _set_cookie(request, response, session)
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
    if not refresh_token:
        return
    settings = settings_of(request)
    metadata = await _client(request).load_server_metadata()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            await http.post(
                metadata["end_session_endpoint"],
                data={
                    "client_id": settings.console_client_id,
                    "client_secret": settings.console_client_secret or "",
                    "refresh_token": refresh_token,
                },
            )
    except httpx.HTTPError:
        log.warning("could not end the Keycloak session of a console logout")


def _set_cookie(request: Request, response: Response, session: ConsoleSession) -> None:
    response.set_cookie(
        COOKIE,
        _box(request).seal(session),
        max_age=MAX_AGE,
        path="/console",
        httponly=True,
        secure=settings_of(request).https,
        samesite="lax",
    )


async def _refreshed(request: Request, session: ConsoleSession) -> ConsoleSession | None:
    try:
        token = await _client(request).fetch_access_token(
            grant_type="refresh_token", refresh_token=session.refresh_token
        )
    except (OAuthError, httpx.HTTPError):
        return None
    if not token.get("access_token"):
        return None
    return ConsoleSession(
        username=session.username,
        user_id=session.user_id,
        access_token=token["access_token"],
        access_expires_at=time.time() + int(token.get("expires_in") or 60),
        refresh_token=token.get("refresh_token") or session.refresh_token,
        started_at=session.started_at,
    )


View = Callable[[Request], Awaitable[Response]]


def staff_only(view: View) -> View:
    """The staff member's session (refreshed when the access token is about to expire)
    and a gateway that acts with their token; the login page otherwise."""

    async def wrapper(request: Request) -> Response:
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
            return response
        settings = settings_of(request)
        request.state.staff = session
        request.state.staff_gateway = KeycloakGateway.for_token(
            settings.keycloak_url,
            settings.realm,
            session.access_token,
            session.access_seconds_left(),
        )
        try:
            response = await view(request)
        except NotAllowed:
            response = _error(
                request,
                403,
                "Action refusée",
                "Ce compte n'est pas un compte étudiant : la console ne peut ni l'afficher ni "
                "le modifier.",
            )
        except AccountNotFound:
            response = _error(request, 404, "Compte introuvable", "Ce compte n'existe pas.")
        if refreshed:
            _set_cookie(request, response, session)
        return response

    return wrapper


def _staff_gateway(request: Request) -> KeycloakGateway:
    gateway: KeycloakGateway = request.state.staff_gateway
    return gateway


def _error(request: Request, status: int, title: str, message: str) -> Response:
    return render(
        request, "console/error.html", {"title": title, "message": message}, status_code=status
    )


# --- search ----------------------------------------------------------------------------


@staff_only
async def search(request: Request) -> Response:
    text = " ".join(request.query_params.get("q", "").split())[:100]
    kind = request.query_params.get("by", "name")
    kind = kind if kind in SEARCH_KINDS else "name"
    page_text = request.query_params.get("page", "1")
    # isdigit() alone would let "²" or a 5,000-digit number through to int().
    valid_page = re.fullmatch(r"[0-9]{1,4}", page_text) and 0 < int(page_text) <= 1000
    page = int(page_text) if valid_page else 1
    context: dict[str, Any] = {"q": text, "by": kind, "kinds": SEARCH_KINDS, "page": page}
    if not text:
        return render(request, "console/search.html", context)
    query = text
    error = None
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        # Keycloak answers 400 to a NUL in a query; none of them belongs in a name anyway.
        error = "La recherche contient des caractères de contrôle : retirez-les."
    elif kind == "ine":
        try:
            query = parse_ine(text).value
        except InvalidIne:
            error = "Ce numéro INE n'a pas la bonne forme (11 caractères, clé de contrôle)."
    elif kind == "student_number" and not _STUDENT_NUMBER.fullmatch(text):
        error = "Un numéro d'étudiant ne contient que des lettres et des chiffres."
    if error:
        return render(request, "console/search.html", {**context, "error": error}, 400)
    found = await _staff_gateway(request).search_accounts(
        query, kind, first=(page - 1) * PAGE_SIZE, count=PAGE_SIZE + 1
    )
    today = now_of(request).astimezone(PARIS).date()
    rows = [(account, _validity(account, today)) for account in found[:PAGE_SIZE]]
    return render(
        request,
        "console/search.html",
        {**context, "rows": rows, "has_next": len(found) > PAGE_SIZE, "searched": True},
    )


def _validity(account: Account, today: dt.date) -> str:
    """What a result line can say without reading credentials (the account page says more)."""
    if account.valid_until is not None and is_expired(account.valid_until, today):
        return f"Expiré le {account.valid_until.strftime('%d/%m/%Y')}"
    if not account.enabled:
        return "Désactivé"
    if account.valid_until is None:
        return "Valide"
    return f"Valide jusqu'au {account.valid_until.strftime('%d/%m/%Y')}"


# --- the account page ------------------------------------------------------------------


def _user_id(request: Request) -> str:
    user_id = str(request.path_params["user_id"])
    if not _USER_ID.fullmatch(user_id):
        raise AccountNotFound("not a user id")
    return user_id


async def _student(request: Request) -> tuple[Account, StaffRecord | None]:
    """The account, if the staff member may act on it: NotAllowed for a staff account
    even when Keycloak would allow it (a staff member who is also in `students`)."""
    user_id = _user_id(request)
    account, record = await _staff_gateway(request).console_account(user_id)
    if await gateway_of(request).is_staff_or_admin(user_id):
        raise NotAllowed("a staff or administrator account")
    return account, record


async def _account_page(
    request: Request,
    account: Account,
    record: StaffRecord | None,
    *,
    reveal: bool = False,
    status: int = 200,
) -> Response:
    today = now_of(request).astimezone(PARIS).date()
    state = state_of(account, today, record.action if record else None)
    bridge = gateway_of(request)
    history = await bridge.staff_history(account.id)
    last_login = await bridge.last_login(account.id)
    notice = request.session.pop("console_notice", None)
    return render(
        request,
        "console/account.html",
        {
            "account": account,
            "state": state,
            "state_words": STATE_WORDS[state],
            "masked_email": mask_email(account.rescue_email) if account.rescue_email else None,
            "reveal": reveal,
            "pending": [REQUIRED_ACTION_WORDS.get(a, a) for a in account.required_actions],
            "mails_today": count_on(account.mails_sent, today),
            "last_login": last_login.astimezone(PARIS) if last_login else None,
            "history": [
                (entry.at.astimezone(PARIS), ACTION_WORDS[entry.action], entry.reason, who)
                for entry, who in history
            ],
            "actions": [(a.value, ACTION_LABELS[a]) for a in allowed_actions(state)],
            "notice": NOTICES.get(Action(notice)) if notice in _ACTION_VALUES else None,
        },
        status_code=status,
    )


_ACTION_VALUES = {a.value for a in Action}


@staff_only
async def account(request: Request) -> Response:
    found, record = await _student(request)
    return await _account_page(request, found, record)


@staff_only
async def show_rescue_email(request: Request) -> Response:  # POST: the reveal is recorded
    await require_csrf(request)
    found, _ = await _student(request)
    record = StaffRecord(Action.SHOW_RESCUE_EMAIL, now_of(request))
    await _staff_gateway(request).record_staff_action(found.id, record)
    return await _account_page(request, found, record, reveal=True)


# --- actions: a confirmation page (GET), then the action (POST) -----------------------


def _action(request: Request) -> Action:
    raw = str(request.path_params["action"])
    action = Action(raw) if raw in _ACTION_VALUES else None
    if action is None or action is Action.SHOW_RESCUE_EMAIL:
        raise AccountNotFound("no such action")
    return action


@staff_only
async def confirm(request: Request) -> Response:
    action = _action(request)
    found, record = await _student(request)
    refused = _refusal(request, action, found, record)
    if refused:
        return refused
    return _confirm_page(request, action, found)


def _confirm_page(
    request: Request,
    action: Action,
    found: Account,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "console/confirm.html",
        {
            "account": found,
            "action": action.value,
            "action_words": ACTION_LABELS[action],
            "error": error,
            "values": values or {},
        },
        status_code=400 if error else 200,
    )


def _refusal(
    request: Request, action: Action, found: Account, record: StaffRecord | None
) -> Response | None:
    today = now_of(request).astimezone(PARIS).date()
    state = state_of(found, today, record.action if record else None)
    if action not in allowed_actions(state):
        return _error(
            request,
            409,
            "Action impossible",
            f"« {ACTION_LABELS[action]} » ne s'applique pas à un compte dans l'état "
            f"« {STATE_WORDS[state]} ».",
        )
    if action is Action.REENABLE and not can_reenable(found, today):
        return _error(
            request,
            409,
            "Action impossible",
            "Ce compte n'est plus valide : il revient avec la réinscription (export de la "
            "scolarité), pas à la main.",
        )
    if action is Action.SEND_ACTIVATION_MAIL and not found.rescue_email:
        return _error(
            request,
            409,
            "Action impossible",
            "Ce compte n'a pas d'adresse de secours : définissez-la d'abord, ou délivrez une "
            "clé d'activation.",
        )
    return None


@staff_only
async def perform(request: Request) -> Response:
    await require_csrf(request)
    action = _action(request)
    found, previous = await _student(request)
    refused = _refusal(request, action, found, previous)
    if refused:
        return refused
    form = await request.form()
    values = {"reason": field(form, "reason", 400), "email": field(form, "email")}
    try:
        reason = clean_reason(values["reason"])
    except InvalidInput as error:
        return _confirm_page(request, action, found, error=ERRORS[error.code], values=values)
    record = StaffRecord(action, now_of(request), reason)
    gateway = _staff_gateway(request)
    if action is Action.RESET:
        await gateway.reset_account(found.id, record)
    elif action is Action.SET_RESCUE_EMAIL:
        try:
            address = validate_rescue_email(
                values["email"],
                field(form, "email_confirm"),
                settings_of(request).university_domains,
            )
        except InvalidInput as error:
            return _confirm_page(request, action, found, error=ERRORS[error.code], values=values)
        # Seen in person with an identity document: the address counts as verified.
        await gateway.record_staff_action(
            found.id, record, {"email": address, "emailVerified": True}
        )
    elif action is Action.SEND_ACTIVATION_MAIL:
        sent = await send_day_bounded_mail(
            request, found, ["UPDATE_PASSWORD"], f"/console/accounts/{found.id}", gateway
        )
        if isinstance(sent, Response):
            return sent
        await gateway.record_staff_action(found.id, record)
    elif action is Action.ISSUE_ACTIVATION_KEY:
        key = generate_activation_key()
        await gateway.issue_activation_key(found, key)
        await gateway.record_staff_action(found.id, record)
        # Shown once, on a printable letter: the key is nowhere else.
        return render(request, "console/letter.html", {"account": found, "key": key})
    elif action is Action.REENABLE:
        await gateway.record_staff_action(found.id, record, {"enabled": True})
    log.info("console action %s by %s", action.value, request.state.staff.username)
    request.session["console_notice"] = action.value
    return RedirectResponse(f"/console/accounts/{found.id}", status_code=303)
