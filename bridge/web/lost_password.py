"""Lost password (seed 004 steps 2-4, seed 000): by identifier or INE, a day-bounded link
to the rescue email; without one, the in-person desk or the support form."""

from __future__ import annotations

import datetime as dt
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account
from bridge.domain.errors import Conflict, InvalidInput
from bridge.domain.identifiers import normalize_identifier
from bridge.domain.ine import looks_like_ine, parse_ine
from bridge.web.mailing import field, gateway_of, posted_form, send_day_bounded_mail
from bridge.web.templating import render

SESSION_KEY = "lost_password"
RESTART = "/lost-password"
# The new password, then the rescue address shown for checking (seed 004, step 4).
ACTIONS = ("UPDATE_PASSWORD", "UPDATE_EMAIL")

ERRORS = {
    "identifier.required": "Saisissez votre identifiant ou votre numéro INE.",
    "identifier.format": "Ce n'est ni un identifiant (du type jmartin001) ni un numéro INE "
    "(11 caractères).",
    "ine.format": "Ce numéro INE n'a pas la bonne forme : il comporte 11 caractères (chiffres "
    "et lettres).",
    "ine.check_key": "Ce numéro INE n'est pas valide : vérifiez le dernier caractère.",
}


async def _find(raw: str, request: Request) -> Account | None:
    """An INE when it is shaped like one (its check key verified), else an identifier."""
    if looks_like_ine(raw):
        return await gateway_of(request).find_by_ine(parse_ine(raw).value)
    return await gateway_of(request).find_student(normalize_identifier(raw))


async def lost_password(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "lost_password.html")
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    raw = field(form, "login", 64)
    try:
        account = await _find(raw, request)
    except InvalidInput as error:
        return render(
            request, "lost_password.html", {"error": ERRORS[error.code], "value": raw}, 400
        )
    except Conflict:
        return render(request, "lost_password_desk.html")
    if account is None:
        return render(request, "lost_password_unknown.html", status_code=404)
    if not account.enabled:
        return render(request, "account_expired.html", {"account": account}, status_code=403)
    if not account.has_rescue_email:
        # Nothing more about the account: only where to go.
        return render(request, "lost_password_desk.html")
    sent = await send_day_bounded_mail(request, account, ACTIONS, RESTART)
    if isinstance(sent, Response):
        return sent
    request.session[SESSION_KEY] = {
        "masked": sent.masked,
        "deadline": sent.deadline.isoformat(),
        "t": time.time(),
    }
    return RedirectResponse("/lost-password/mail-sent", status_code=303)


async def mail_sent(request: Request) -> Response:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or time.time() - state.get("t", 0) > 30 * 60:
        return RedirectResponse(RESTART, status_code=303)
    return render(
        request,
        "lost_password_mail_sent.html",
        {"masked": state["masked"], "deadline": dt.datetime.fromisoformat(state["deadline"])},
    )
