"""Changing the rescue address from the account page (issue 18, point 1; the rules in
bridge.flows.rescue_change, the decision in docs/account-page.md).

The link's token is a ChangeRequest sealed as the portal's tokens cookie is (Fernet, its key
derived from the session secret under a name of its own): whoever holds the link can
neither read the address on file in it nor alter what it binds. Opening it needs no
sign-in (the student may open it on a phone): GET shows a confirmation page, only its POST
changes anything (mail scanners prefetch links)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from dataclasses import asdict
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account, mask_email
from bridge.domain.rescue_change import ChangeRequest
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Unavailable
from bridge.flows.rescue_change import (
    ask_rescue_change,
    check_rescue_change,
    confirm_rescue_change,
)
from bridge.gateway.smtp import Mailer
from bridge.i18n import N_, current_locale, format_datetime, gettext
from bridge.settings import Settings
from bridge.web.answers import limit_page, unavailable
from bridge.web.metrics import RESCUE_CHANGE_KIND, metrics_of
from bridge.web.portal import views
from bridge.web.requests import (
    counters_of,
    field,
    link_policy_of,
    mailer_of,
    now_of,
    posted_form,
    render_form,
    settings_of,
    students_of,
)
from bridge.web.students.notices import MailedNotices
from bridge.web.templating import render

log = logging.getLogger("bridge.web.rescue_change")

FORM = f"{views.IT_ACCOUNT}/adresse-de-secours"
SENT = f"{FORM}/envoye"
CONFIRM = "/portal/adresse-de-secours/confirmer"
SESSION_KEY = "rescue_change_sent"
TOKEN_FIELD = "t"  # noqa: S105 - a field name, not a secret
# A sealed ChangeRequest is about 330 characters; anything much longer is not ours.
TOKEN_MAX = 2048

ERRORS = {
    "email.required": N_("Saisissez votre nouvelle adresse mail de secours."),
    "email.format": N_("Cette adresse mail n'est pas valide."),
    "email.university": N_(
        "L'adresse mail de secours doit être une adresse personnelle, pas une adresse de "
        "l'université."
    ),
    "email.same": N_("C'est déjà l'adresse mail de secours de votre compte."),
}

REFUSALS = {
    "link.invalid": N_(
        "Ce lien n'est pas valide : il a peut-être été mal copié. Ouvrez-le depuis le mail "
        "reçu, ou refaites la demande depuis votre espace personnel."
    ),
    "link.expired": N_(
        "Ce lien a expiré : il n'était valable que jusqu'à 23h59 le jour de la demande. "
        "Votre adresse mail de secours n'a pas changé ; refaites la demande depuis votre "
        "espace personnel."
    ),
    "link.used": N_(
        "Ce lien a déjà servi, ou une demande plus récente l'a remplacé : il ne peut plus "
        "rien changer."
    ),
    "link.superseded": N_(
        "Ce lien n'est plus valable : l'adresse mail de secours du compte a changé depuis "
        "qu'il a été envoyé. Rien n'a été modifié."
    ),
    "account.gone": N_("Ce compte n'existe plus. Adressez-vous au personnel de %(desk_name)s."),
    "account.outside": N_(
        "L'adresse de secours de ce compte ne se change pas ici. Adressez-vous au personnel "
        "de %(desk_name)s."
    ),
}
# Gone for good (410) or never valid (400): a worded 4xx, never a 500.
REFUSAL_STATUS = {
    "link.invalid": 400,
    "link.expired": 410,
    "link.used": 410,
    "account.gone": 410,
    "account.outside": 403,
}

SUBJECT = N_("Votre compte informatique : confirmez votre nouvelle adresse mail de secours")
# Plain text: no identifier (a mistyped address must not learn it), one link that only
# shows a page with a button.
BODY = N_(
    "Bonjour,\n\n"
    "Vous avez demandé, depuis votre espace personnel, que cette adresse devienne "
    "l'adresse mail de secours de votre compte informatique.\n\n"
    "Pour confirmer, ouvrez ce lien puis validez :\n%(link)s\n\n"
    "Ce lien ne sert qu'une fois et reste valable jusqu'au %(deadline)s (heure de Paris). "
    "Tant qu'il n'a pas été validé, rien ne change : votre adresse actuelle reste celle du "
    "compte.\n\n"
    "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n"
    "%(university)s\n"
)


def sealer(secret: str) -> Fernet:
    """The links' cipher, from the session secret under a name of its own."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"um-rescue-change").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, change: ChangeRequest) -> str:
    return sealer(secret).encrypt(json.dumps(asdict(change)).encode()).decode()


def unseal(secret: str, token: str) -> ChangeRequest | None:
    """None for a missing, forged, altered or foreign token. Its deadline is the flow's to
    check (the app's clock), not Fernet's."""
    if not token or len(token) > TOKEN_MAX:
        return None
    try:
        data = json.loads(sealer(secret).decrypt(token.encode()))
        change = ChangeRequest(**data)
    except (InvalidToken, ValueError, TypeError):
        return None
    fields = (change.account_id, change.new_address, change.previous_address, change.nonce)
    if not all(isinstance(v, str) for v in fields) or not isinstance(change.deadline, int):
        return None
    return change


class MailedChangeLinks:
    """bridge.flows.rescue_change.ChangeLinks: the bridge's relay, in the page's language
    (the student asking reads it at the new address)."""

    def __init__(self, mailer: Mailer, settings: Settings, locale: str) -> None:
        self.mailer = mailer
        self.settings = settings
        self.locale = locale

    def link(self, change: ChangeRequest) -> str:
        token = seal(self.settings.session_secret, change)
        query = urlencode({TOKEN_FIELD: token, "lang": self.locale})
        return f"{self.settings.public_url}{CONFIRM}?{query}"

    async def send_change_link(self, account: Account, change: ChangeRequest) -> None:
        deadline = dt.datetime.fromtimestamp(change.deadline, dt.UTC)
        values = {
            "link": self.link(change),
            "deadline": format_datetime(deadline),
            "university": gettext(self.settings.university_name),
        }
        await self.mailer.send(change.new_address, gettext(SUBJECT), gettext(BODY) % values)


async def ask(request: Request) -> Response:
    """GET: the form; POST: the link to the new address, then the page that says so."""
    refused = views._sign_in_first(request, "it_account")
    if refused:
        return refused
    held = await views._fresh_tokens(request)
    if held is None:
        return views._sign_in_again(request)
    if request.method == "GET":
        return await render_form(request, "portal_rescue_change.html")
    form = await posted_form(request, FORM)
    if isinstance(form, Response):
        return form
    raw = field(form, "email", 320)
    claims = request.session[views.SESSION_KEY].get("claims") or {}
    if not claims.get("sub"):
        return views._sign_in_again(request)
    settings = settings_of(request)
    now = now_of(request)
    outcome = await ask_rescue_change(
        students_of(request),
        MailedChangeLinks(mailer_of(request), settings, current_locale()),
        str(claims["sub"]),
        raw,
        settings.university_domains,
        link_policy_of(request),
        now,
    )
    metrics = metrics_of(request)
    if not isinstance(outcome, Invalid):
        metrics.mail(RESCUE_CHANGE_KIND, outcome)
    if isinstance(outcome, Invalid):
        # Never echoed when it holds a line break: nothing typed goes back as it came.
        value = raw if raw.isprintable() else ""
        context = {"error": gettext(ERRORS[outcome.code]), "value": value}
        return await render_form(request, "portal_rescue_change.html", context, 400)
    if isinstance(outcome, Limited):
        return limit_page(request, outcome, views.IT_ACCOUNT)
    if isinstance(outcome, Unavailable):
        raise unavailable(outcome)
    if isinstance(outcome, Refused):
        return _refusal(request, outcome)
    log.info("rescue-address change: link sent")
    request.session[SESSION_KEY] = {
        "masked": outcome.masked_address,
        "deadline": outcome.deadline.timestamp(),
        "t": now.timestamp(),
    }
    return RedirectResponse(SENT, status_code=303)


async def sent(request: Request) -> Response:
    state = request.session.get(SESSION_KEY)
    now = now_of(request)
    if not isinstance(state, dict) or now.timestamp() - float(state.get("t", 0)) > 1800:
        return RedirectResponse(views.IT_ACCOUNT, status_code=303)
    context = {
        "masked": state.get("masked", ""),
        "deadline": dt.datetime.fromtimestamp(float(state.get("deadline", 0)), dt.UTC),
    }
    return render(request, "portal_rescue_change_sent.html", context)


def _refusal(request: Request, outcome: Refused) -> Response:
    words = {"desk_name": gettext(settings_of(request).desk_name)}
    message = gettext(REFUSALS.get(outcome.code, REFUSALS["link.invalid"])) % words
    return render(
        request,
        "portal_rescue_change_refused.html",
        {"message": message, "code": outcome.code},
        status_code=REFUSAL_STATUS.get(outcome.code, 409),
    )


async def confirm(request: Request) -> Response:
    """GET: whether the link applies, and a button; POST: the change. No sign-in needed:
    the sealed token is the proof, the CSRF token only ties the POST to this page."""
    secret = settings_of(request).session_secret
    accounts = students_of(request)
    now = now_of(request)
    if request.method == "GET":
        token = request.query_params.get(TOKEN_FIELD, "")
        checked = await check_rescue_change(accounts, unseal(secret, token), now)
        if isinstance(checked, Unavailable):
            raise unavailable(checked)
        if isinstance(checked, Refused):
            return _refusal(request, checked)
        change = unseal(secret, token)
        assert change is not None
        context = {"token": token, "masked": mask_email(change.new_address)}
        return await render_form(request, "portal_rescue_change_confirm.html", context)
    form = await posted_form(request, CONFIRM)
    if isinstance(form, Response):
        return form
    token = field(form, TOKEN_FIELD, TOKEN_MAX + 1)
    change = unseal(secret, token)
    settings = settings_of(request)
    metrics = metrics_of(request)
    outcome = await confirm_rescue_change(
        accounts,
        MailedNotices(mailer_of(request), settings, metrics),
        counters_of(request),
        change,
        now,
    )
    if isinstance(outcome, Unavailable):
        raise unavailable(outcome)
    if isinstance(outcome, Refused):
        log.info("rescue-address change refused (%s)", outcome.code)
        return _refusal(request, outcome)
    assert isinstance(outcome, Notified) and change is not None
    log.info("rescue-address change: applied")
    context = {"masked": mask_email(change.new_address)}
    return render(request, "portal_rescue_change_done.html", context)
