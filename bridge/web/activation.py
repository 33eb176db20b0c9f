"""Activation wizard, seed 000 steps 1 to 5.

Step 1 identifier -> step 2 automatic branch -> step 3 mail (3-1 resend) or step 4 INE
-> 4-1 rescue email -> step 5 mail. The wizard's state is a few fields in the signed
session cookie; the account's state and its counters stay in Keycloak.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account, mask_email
from bridge.domain.activation import Branch, branch_for, ine_matches
from bridge.domain.deadlines import PARIS, end_of_day, seconds_until_end_of_day
from bridge.domain.errors import InvalidInput, ServiceUnavailable
from bridge.domain.identifiers import normalize_identifier
from bridge.domain.ine import parse_ine
from bridge.domain.ratelimits import LimitReached, check_ine_allowed, check_mail_allowed
from bridge.domain.rescue_email import validate_rescue_email
from bridge.gateway.keycloak import KeycloakGateway
from bridge.settings import Settings
from bridge.web.csrf import require_csrf
from bridge.web.templating import render

log = logging.getLogger("bridge.activation")

SESSION_KEY = "activation"
WIZARD_MAX_AGE = 30 * 60  # seconds: an abandoned wizard starts again at step 1

ERRORS = {
    "identifier.required": "Saisissez votre identifiant.",
    "identifier.format": "Cet identifiant n'a pas la bonne forme : il est du type jmartin001 "
    "(lettres minuscules sans accent et chiffres).",
    "ine.format": "Ce numéro INE n'a pas la bonne forme : il comporte 11 caractères (chiffres "
    "et lettres), tel qu'indiqué sur votre relevé de notes du baccalauréat ou votre "
    "certificat de scolarité.",
    "ine.check_key": "Ce numéro INE n'est pas valide : vérifiez le dernier caractère.",
    "ine.mismatch": "Ce numéro INE ne correspond pas à votre compte.",
    "email.required": "Saisissez votre adresse mail de secours.",
    "email.format": "Cette adresse mail n'est pas valide.",
    "email.university": "L'adresse mail de secours doit être une adresse personnelle, pas une "
    "adresse de l'université.",
    "email.mismatch": "Les deux adresses saisies sont différentes.",
}

LIMITS = {
    "mail.too_soon": "Un mail vient de vous être envoyé. Patientez {retry_after} secondes "
    "avant d'en demander un autre, et pensez à vérifier vos courriers indésirables.",
    "mail.daily_limit": "Vous avez atteint le nombre maximal de mails d'activation pour "
    "aujourd'hui. Réessayez demain, ou contactez votre service de scolarité.",
    "mail.day_over": "Il est trop tard pour recevoir un lien aujourd'hui : il expire à 23h59. "
    "Recommencez après minuit.",
    "ine.locked": "Trop de numéros INE incorrects aujourd'hui : cette étape est bloquée "
    "jusqu'à demain. Si besoin, contactez votre service de scolarité.",
    "address": "Trop de demandes depuis votre connexion. Réessayez dans quelques minutes.",
}


# --- helpers ---------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _gateway(request: Request) -> KeycloakGateway:
    gateway: KeycloakGateway = request.app.state.gateway
    return gateway


def _now(request: Request) -> dt.datetime:
    now: dt.datetime = request.app.state.clock()
    return now


def _wizard(request: Request) -> dict[str, Any] | None:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or time.time() - state.get("t", 0) > WIZARD_MAX_AGE:
        request.session.pop(SESSION_KEY, None)
        return None
    return state


def _restart() -> Response:
    return RedirectResponse("/activation", status_code=303)


def _limit_page(request: Request, error: LimitReached | str, status: int = 429) -> Response:
    code = error if isinstance(error, str) else error.code
    retry_after = None if isinstance(error, str) else error.retry_after
    response = render(
        request,
        "activation_limit.html",
        {"message": LIMITS[code].format(retry_after=retry_after), "code": code},
        status_code=status,
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def _posted(request: Request) -> FormData | Response:
    """CSRF, then the per-address limit; the form, or the response that refuses it."""
    await require_csrf(request)
    address = request.client.host if request.client else "unknown"
    if not request.app.state.address_limiter.allow(address):
        return _limit_page(request, "address")
    return await request.form()


def _field(form: FormData, name: str, max_length: int = 320) -> str:
    value = form.get(name)
    return value[:max_length] if isinstance(value, str) else ""


async def _current_account(request: Request, state: dict[str, Any]) -> Account | None:
    account = await _gateway(request).find_student(state["u"])
    if account is None or account.id != state["uid"]:
        request.session.pop(SESSION_KEY, None)
        return None
    return account


def _mail_refused(request: Request, account: Account) -> Response | None:
    """The limit page if no mail may go to this account now, else None."""
    now = _now(request)
    today = now.astimezone(PARIS).date()
    try:
        check_mail_allowed(
            _settings(request).limits, account.mails_sent, account.last_mail_at, now, today
        )
    except LimitReached as error:
        return _limit_page(request, error)
    if seconds_until_end_of_day(now) < 1:
        return _limit_page(request, "mail.day_over")
    return None


async def _send_mail(request: Request, account: Account) -> Response:
    """Steps 3 and 5 (and 3-1): the day-bounded activation mail, within the limits.
    Nothing is counted unless Keycloak accepted to send it."""
    refused = _mail_refused(request, account)
    if refused:
        return refused
    settings = _settings(request)
    now = _now(request)
    today = now.astimezone(PARIS).date()
    lifespan = seconds_until_end_of_day(now)
    actions = ["UPDATE_PASSWORD"] + (["TERMS_AND_CONDITIONS"] if settings.charter else [])
    await _gateway(request).send_action_mail(
        account,
        actions,
        lifespan=lifespan,
        client_id=settings.action_client_id,
        redirect_uri=settings.action_redirect_uri,
    )
    try:
        await _gateway(request).record_mail_sent(account, now, today)
    except ServiceUnavailable:
        # The mail is gone: say so, and let the counter miss one rather than lie.
        log.warning("activation mail sent but its counter could not be written")
    request.session[SESSION_KEY] = {
        **request.session.get(SESSION_KEY, {}),
        "uid": account.id,
        "u": account.username,
        "t": time.time(),
        "masked": mask_email(account.rescue_email or ""),
        "deadline": end_of_day(now).isoformat(),
    }
    return RedirectResponse("/activation/mail-sent", status_code=303)


# --- step 1 and 2 ----------------------------------------------------------------------


async def identifier(request: Request) -> Response:
    if request.method == "GET":
        request.session.pop(SESSION_KEY, None)
        return render(request, "activation_identifier.html")
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    raw = _field(form, "identifier", 64)
    try:
        username = normalize_identifier(raw)
    except InvalidInput as error:
        return render(
            request,
            "activation_identifier.html",
            {"error": ERRORS[error.code], "value": raw},
            status_code=400,
        )
    account = await _gateway(request).find_student(username)
    if account is None:
        return render(request, "activation_unknown.html", {"username": username}, status_code=404)
    branch = branch_for(account)
    if branch is Branch.EXPIRED:
        return render(request, "activation_expired.html", {"account": account}, status_code=403)
    if branch is Branch.ALREADY_ACTIVE:
        return render(request, "activation_already_active.html", status_code=409)
    request.session[SESSION_KEY] = {"uid": account.id, "u": account.username, "t": time.time()}
    if branch is Branch.SEND_MAIL:
        return await _send_mail(request, account)
    return RedirectResponse("/activation/ine", status_code=303)


# --- steps 3, 3-1, 5 -------------------------------------------------------------------


async def mail_sent(request: Request) -> Response:
    state = _wizard(request)
    if not state or "deadline" not in state:
        return _restart()
    deadline = dt.datetime.fromisoformat(state["deadline"]).astimezone(PARIS)
    minutes_left = int((deadline - _now(request)).total_seconds() // 60)
    return render(
        request,
        "activation_mail_sent.html",
        {"masked": state["masked"], "deadline": deadline, "minutes_left": minutes_left},
    )


async def resend(request: Request) -> Response:
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    state = _wizard(request)
    if not state:
        return _restart()
    account = await _current_account(request, state)
    if account is None or branch_for(account) is not Branch.SEND_MAIL:
        return _restart()
    return await _send_mail(request, account)


# --- step 4: the INE -------------------------------------------------------------------


async def ine(request: Request) -> Response:
    state = _wizard(request)
    if not state:
        return _restart()
    if request.method == "GET":
        return render(request, "activation_ine.html")
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    account = await _current_account(request, state)
    if account is None:
        return _restart()
    if branch_for(account) is Branch.ALREADY_ACTIVE:
        # An activated account never gets to change its rescue email this way.
        return render(request, "activation_already_active.html", status_code=409)
    today = _now(request).astimezone(PARIS).date()
    try:
        check_ine_allowed(_settings(request).limits, account.ine_failures, today)
    except LimitReached as error:
        return _limit_page(request, error)
    raw = _field(form, "ine", 32)
    try:
        given = parse_ine(raw)
    except InvalidInput as error:
        # A typo (format, check key) is not an attempt on someone's INE: not counted.
        return render(
            request, "activation_ine.html", {"error": ERRORS[error.code], "value": raw}, 400
        )
    if not ine_matches(given, account):
        await _gateway(request).record_ine_failure(account, today)
        return render(
            request, "activation_ine.html", {"error": ERRORS["ine.mismatch"], "value": raw}, 400
        )
    request.session[SESSION_KEY] = {**state, "ine_ok": account.id, "t": time.time()}
    return RedirectResponse("/activation/rescue-email", status_code=303)


# --- step 4-1 and 5: the rescue email --------------------------------------------------


async def rescue_email(request: Request) -> Response:
    state = _wizard(request)
    if not state or state.get("ine_ok") != state.get("uid"):
        return _restart()
    if request.method == "GET":
        return render(request, "activation_rescue_email.html")
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    email, confirmation = _field(form, "email"), _field(form, "email_confirm")
    try:
        address = validate_rescue_email(email, confirmation, _settings(request).university_domains)
    except InvalidInput as error:
        return render(
            request,
            "activation_rescue_email.html",
            {"error": ERRORS[error.code], "value": email, "error_field": error.code},
            status_code=400,
        )
    account = await _current_account(request, state)
    if account is None:
        return _restart()
    if branch_for(account) is Branch.ALREADY_ACTIVE:
        return render(request, "activation_already_active.html", status_code=409)
    # Refuse before writing: a new address with no mail to prove it would be half a step.
    refused = _mail_refused(request, account)
    if refused:
        return refused
    await _gateway(request).set_rescue_email(account, address)
    account = await _current_account(request, state)
    if account is None:
        return _restart()
    return await _send_mail(request, account)
