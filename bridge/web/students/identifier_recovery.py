"""I forgot my identifier (issue 18): by INE, the identifier mailed to the verified rescue
address, never shown.

Built as lost password is (bridge/web/students/lost_password.py, docs/lost-password.md): once
the INE is well formed, everyone gets the same redirect and the same page, at once; finding
the account and mailing it (bridge.flows.identifier_recovery) run afterwards, off the
request path, so that neither the answer nor its duration depends on what matched."""

from __future__ import annotations

import datetime as dt
import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account
from bridge.domain.ine import Ine
from bridge.flows.identifier_recovery import (
    IdentifierMail,
    Reminder,
    parse_typed_ine,
    remind_identifier,
)
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Unavailable
from bridge.gateway.smtp import Mailer
from bridge.i18n import N_, gettext, use_locale
from bridge.settings import Settings
from bridge.web.background import run_in_background
from bridge.web.metrics import IDENTIFIER_KIND, Metrics, metrics_of
from bridge.web.requests import (
    field,
    link_policy_of,
    mailer_of,
    now_of,
    posted_form,
    render_form,
    settings_of,
    students_of,
)
from bridge.web.students.notices import account_language
from bridge.web.templating import render

log = logging.getLogger("bridge.web.identifier_recovery")

SESSION_KEY = "forgot_identifier"
RESTART = "/forgot-identifier"
MAX_AGE = dt.timedelta(minutes=30)

ERRORS = {
    "ine.required": N_("Saisissez votre numéro INE."),
    "ine.format": N_(
        "Ce numéro INE n'a pas la bonne forme : il comporte 11 caractères (chiffres et lettres)."
    ),
    "ine.check_key": N_("Ce numéro INE n'est pas valide : vérifiez le dernier caractère."),
}

SUBJECT = N_("Votre identifiant de compte informatique")
# Plain text: the identifier, where to sign in, what to do next; no name, no link that acts.
BODY = N_(
    "Bonjour,\n\n"
    "Une demande de rappel d'identifiant a été faite avec le numéro INE associé à cette "
    "adresse mail de secours.\n\n"
    "Votre identifiant de compte informatique est : %(username)s\n\n"
    "Pour vous connecter : %(sign_in_url)s\n"
    "Si vous n'avez pas encore activé votre compte : %(activation_url)s\n"
    "Si vous avez oublié votre mot de passe : %(lost_password_url)s\n\n"
    "%(state)s"
    "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre compte "
    "n'a pas été modifié.\n\n"
    "%(university)s\n"
)
DISABLED = N_(
    "Ce compte est actuellement désactivé : il a expiré, ou il a été suspendu. Vos données "
    "sont conservées et le compte sera réactivé, avec le même identifiant, lors de votre "
    "réinscription.\n\n"
)


class MailedIdentifiers:
    """bridge.flows.identifier_recovery's IdentifierSender: the SMTP relay, in the
    catalogue's words and the account's language."""

    def __init__(self, mailer: Mailer, settings: Settings) -> None:
        self.mailer = mailer
        self.settings = settings

    async def send_identifier(self, account: Account, mail: IdentifierMail) -> None:
        base = self.settings.public_url
        with use_locale(account_language(account)):
            values = {
                "username": account.username,
                "sign_in_url": self.settings.portal_url,
                "activation_url": f"{base}/activation",
                "lost_password_url": f"{base}/lost-password",
                "state": gettext(DISABLED) if mail is IdentifierMail.DISABLED else "",
                "university": gettext(self.settings.university_name),
            }
            subject, body = gettext(SUBJECT), gettext(BODY) % values
        await self.mailer.send(account.rescue_email or "", subject, body)


def log_reminder(outcome: Reminder) -> None:
    """What happened, by code only: no identifier, INE or address."""
    if isinstance(outcome, Notified):
        log.info("forgotten identifier: mail sent (%s)", outcome.code)
    elif isinstance(outcome, Refused | Limited):
        kind = "nothing sent" if isinstance(outcome, Refused) else "limited"
        log.info("forgotten identifier: %s (%s)", kind, outcome.code)
    elif isinstance(outcome, Unavailable):
        log.warning("forgotten identifier: nothing sent, service unavailable; nothing counted")


def count_reminder(metrics: Metrics, outcome: Reminder) -> None:
    metrics.mail(IDENTIFIER_KIND, outcome)
    if isinstance(outcome, Limited):
        metrics.limited(outcome)


def start_reminder(request: Request, ine: Ine, now: dt.datetime) -> None:
    metrics = metrics_of(request)

    def done(outcome: Reminder) -> None:
        log_reminder(outcome)
        count_reminder(metrics, outcome)

    work = remind_identifier(
        students_of(request),
        MailedIdentifiers(mailer_of(request), settings_of(request)),
        ine,
        link_policy_of(request),
        now,
    )
    run_in_background(request, "forgotten identifier", work, done)


async def forgot_identifier(request: Request) -> Response:
    if request.method == "GET":
        return await render_form(request, "forgot_identifier.html")
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    raw = field(form, "ine", 64)
    ine = parse_typed_ine(raw)
    if isinstance(ine, Invalid):
        # A typo says nothing about accounts: the form comes back with its message.
        context = {"error": gettext(ERRORS[ine.code]), "value": raw}
        return await render_form(request, "forgot_identifier.html", context, 400)
    now = now_of(request)
    start_reminder(request, ine, now)
    request.session[SESSION_KEY] = {"t": now.timestamp()}
    return RedirectResponse("/forgot-identifier/mail-sent", status_code=303)


async def mail_sent(request: Request) -> Response:
    """The one answer, whatever matched."""
    state = request.session.get(SESSION_KEY)
    now = now_of(request)
    if not isinstance(state, dict) or now.timestamp() - state.get("t", 0) > MAX_AGE.total_seconds():
        return RedirectResponse(RESTART, status_code=303)
    return render(request, "forgot_identifier_mail_sent.html")
