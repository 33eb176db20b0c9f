"""Activation wizard, seed 000 steps 1 to 5.

Step 1 identifier -> step 2 automatic branch -> step 3 mail (3-1 resend) or step 4 INE
-> 4-1 rescue email -> step 5 mail. The wizard's state is a few fields in the signed
session cookie; the account's state and its counters stay in Keycloak.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account
from bridge.domain.activation import Branch, branch_for, ine_matches
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import InvalidInput
from bridge.domain.identifiers import normalize_identifier
from bridge.domain.ine import parse_ine
from bridge.domain.ratelimits import LimitReached, check_ine_allowed
from bridge.domain.rescue_email import validate_rescue_email
from bridge.web.mailing import (
    field,
    gateway_of,
    limit_page,
    mail_refused,
    now_of,
    posted_form,
    send_day_bounded_mail,
    settings_of,
)
from bridge.web.templating import render

SESSION_KEY = "activation"
RESTART = "/activation"
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

# --- helpers ---------------------------------------------------------------------------


def _wizard(request: Request) -> dict[str, Any] | None:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or time.time() - state.get("t", 0) > WIZARD_MAX_AGE:
        request.session.pop(SESSION_KEY, None)
        return None
    return state


def _restart() -> Response:
    return RedirectResponse("/activation", status_code=303)


def _limit_page(request: Request, error: LimitReached | str) -> Response:
    return limit_page(request, error, RESTART)


async def _current_account(request: Request, state: dict[str, Any]) -> Account | None:
    account = await gateway_of(request).find_student(state["u"])
    if account is None or account.id != state["uid"]:
        request.session.pop(SESSION_KEY, None)
        return None
    return account


async def _send_mail(request: Request, account: Account) -> Response:
    """Steps 3 and 5 (and 3-1): the activation mail, then the page that says so."""
    actions = ["UPDATE_PASSWORD"] + (
        ["TERMS_AND_CONDITIONS"] if settings_of(request).charter else []
    )
    sent = await send_day_bounded_mail(request, account, actions, RESTART)
    if isinstance(sent, Response):
        return sent
    request.session[SESSION_KEY] = {
        **request.session.get(SESSION_KEY, {}),
        "uid": account.id,
        "u": account.username,
        "t": time.time(),
        "masked": sent.masked,
        "deadline": sent.deadline.isoformat(),
    }
    return RedirectResponse("/activation/mail-sent", status_code=303)


# --- step 1 and 2 ----------------------------------------------------------------------


async def identifier(request: Request) -> Response:
    if request.method == "GET":
        request.session.pop(SESSION_KEY, None)
        return render(request, "activation_identifier.html")
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    raw = field(form, "identifier", 64)
    try:
        username = normalize_identifier(raw)
    except InvalidInput as error:
        return render(
            request,
            "activation_identifier.html",
            {"error": ERRORS[error.code], "value": raw},
            status_code=400,
        )
    account = await gateway_of(request).find_student(username)
    if account is None:
        return render(request, "activation_unknown.html", {"username": username}, status_code=404)
    branch = branch_for(account)
    if branch is Branch.EXPIRED:
        return render(request, "account_expired.html", {"account": account}, status_code=403)
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
    minutes_left = int((deadline - now_of(request)).total_seconds() // 60)
    return render(
        request,
        "activation_mail_sent.html",
        {"masked": state["masked"], "deadline": deadline, "minutes_left": minutes_left},
    )


async def resend(request: Request) -> Response:
    form = await posted_form(request, RESTART)
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
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    account = await _current_account(request, state)
    if account is None:
        return _restart()
    if branch_for(account) is Branch.ALREADY_ACTIVE:
        # An activated account never gets to change its rescue email this way.
        return render(request, "activation_already_active.html", status_code=409)
    today = now_of(request).astimezone(PARIS).date()
    try:
        check_ine_allowed(settings_of(request).limits, account.ine_failures, today)
    except LimitReached as error:
        return _limit_page(request, error)
    raw = field(form, "ine", 32)
    try:
        given = parse_ine(raw)
    except InvalidInput as error:
        # A typo (format, check key) is not an attempt on someone's INE: not counted.
        return render(
            request, "activation_ine.html", {"error": ERRORS[error.code], "value": raw}, 400
        )
    if not ine_matches(given, account):
        await gateway_of(request).record_ine_failure(account, today)
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
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    email, confirmation = field(form, "email"), field(form, "email_confirm")
    try:
        address = validate_rescue_email(
            email, confirmation, settings_of(request).university_domains
        )
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
    refused = mail_refused(request, account, RESTART)
    if refused:
        return refused
    await gateway_of(request).set_rescue_email(account, address)
    account = await _current_account(request, state)
    if account is None:
        return _restart()
    return await _send_mail(request, account)
