"""Lost password (seed 004 steps 2-4, seed 000): by identifier or INE, a day-bounded link
to the rescue email; without one, the in-person desk or the support form."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account
from bridge.domain.errors import Conflict, InvalidInput
from bridge.domain.identifiers import normalize_identifier
from bridge.domain.ine import looks_like_ine, parse_ine
from bridge.flows.action_links import LinkPurpose, send_action_link
from bridge.flows.outcomes import Limited, Unavailable
from bridge.i18n import N_, gettext
from bridge.web.answers import limit_page, unavailable
from bridge.web.requests import field, link_policy_of, now_of, posted_form, students_of
from bridge.web.templating import render

SESSION_KEY = "lost_password"
RESTART = "/lost-password"
MAX_AGE = dt.timedelta(minutes=30)

ERRORS = {
    "identifier.required": N_("Saisissez votre identifiant ou votre numéro INE."),
    "identifier.format": N_(
        "Ce n'est ni un identifiant (du type jmartin001) ni un numéro INE (11 caractères)."
    ),
    "ine.format": N_(
        "Ce numéro INE n'a pas la bonne forme : il comporte 11 caractères (chiffres et lettres)."
    ),
    "ine.check_key": N_("Ce numéro INE n'est pas valide : vérifiez le dernier caractère."),
}


async def _find(raw: str, request: Request) -> Account | None:
    """An INE when it is shaped like one (its check key verified), else an identifier."""
    if looks_like_ine(raw):
        return await students_of(request).find_by_ine(parse_ine(raw).value)
    return await students_of(request).find_student(normalize_identifier(raw))


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
        context = {"error": gettext(ERRORS[error.code]), "value": raw}
        return render(request, "lost_password.html", context, 400)
    except Conflict:
        return render(request, "lost_password_desk.html")
    if account is None:
        return render(request, "lost_password_unknown.html", status_code=404)
    if not account.enabled:
        return render(request, "account_expired.html", {"account": account}, status_code=403)
    if not account.has_rescue_email:
        # Nothing more about the account: only where to go.
        return render(request, "lost_password_desk.html")
    now = now_of(request)
    outcome = await send_action_link(
        students_of(request), account, LinkPurpose.LOST_PASSWORD, link_policy_of(request), now
    )
    if isinstance(outcome, Limited):
        return limit_page(request, outcome, RESTART)
    if isinstance(outcome, Unavailable):
        raise unavailable(outcome)
    request.session[SESSION_KEY] = {
        "masked": outcome.masked_address,
        "deadline": outcome.deadline.isoformat(),
        "t": now.timestamp(),
    }
    return RedirectResponse("/lost-password/mail-sent", status_code=303)


async def mail_sent(request: Request) -> Response:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or (
        now_of(request).timestamp() - state.get("t", 0) > MAX_AGE.total_seconds()
    ):
        return RedirectResponse(RESTART, status_code=303)
    return render(
        request,
        "lost_password_mail_sent.html",
        {"masked": state["masked"], "deadline": dt.datetime.fromisoformat(state["deadline"])},
    )
