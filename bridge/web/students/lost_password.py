"""Lost password (seed 004 steps 2-3, seed 000): by identifier or INE, a day-bounded link to
the rescue email; without one, the in-person desk or the support form.

The page reveals nothing about accounts (docs/lost-password.md, docs/security.md): once the
input is well formed, everyone gets the same redirect and the same page, at once; finding the
account and mailing it (bridge.flows.lost_password) run afterwards, off the request path, so
that neither the answer nor its duration depends on what matched."""

from __future__ import annotations

import datetime as dt
import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account
from bridge.domain.deadlines import end_of_day
from bridge.flows.lost_password import Login, Notice, Recovery, parse_login, recover
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Sent, Unavailable
from bridge.gateway.smtp import Mailer
from bridge.i18n import N_, gettext, use_locale
from bridge.settings import Settings
from bridge.web.background import run_in_background
from bridge.web.metrics import Metrics, metrics_of
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

log = logging.getLogger("bridge.web.lost_password")

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

# The notices: plain text, no link, nothing but what the owner of the address needs.
NOTICES = {
    Notice.SEE_THE_DESK: (
        N_("Mot de passe oublié : vérification de votre identité sur place"),
        N_(
            "Bonjour,\n\n"
            "Une demande de nouveau mot de passe a été faite pour le compte informatique "
            "associé à cette adresse.\n\n"
            "Cette adresse mail de secours n'a pas encore été vérifiée : aucun lien ne peut "
            "y être envoyé. Adressez-vous au personnel de %(desk_name)s, en %(desk_room)s "
            "(%(desk_hours)s), muni(e) de votre carte étudiant : il vérifiera votre identité "
            "et réinitialisera votre compte. Vous pouvez aussi utiliser le formulaire "
            "d'assistance : %(support_url)s\n\n"
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n"
        ),
    ),
    Notice.ACCOUNT_EXPIRED: (
        N_("Mot de passe oublié : votre compte informatique est désactivé"),
        N_(
            "Bonjour,\n\n"
            "Une demande de nouveau mot de passe a été faite pour votre compte informatique "
            "%(username)s. Ce compte est désactivé : il a expiré, ou il a été suspendu. Aucun "
            "lien ne peut être envoyé.\n\n"
            "Vos données sont conservées : le compte sera réactivé automatiquement lors de "
            "votre réinscription. Si vous êtes inscrit(e) pour l'année en cours (frais de "
            "scolarité réglés), contactez votre service de scolarité afin qu'il réinitialise "
            "votre compte.\n\n"
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n"
        ),
    ),
}


class MailedNotices:
    """bridge.flows.lost_password's NoticeSender: the SMTP relay, in the catalogue's words."""

    def __init__(self, mailer: Mailer, settings: Settings) -> None:
        self.mailer = mailer
        self.settings = settings

    async def send_notice(self, account: Account, notice: Notice) -> None:
        subject, body = NOTICES[notice]
        with use_locale(account_language(account)):
            values = {
                "username": account.username,
                "desk_name": gettext(self.settings.desk_name),
                "desk_room": gettext(self.settings.desk_room),
                "desk_hours": gettext(self.settings.desk_hours),
                "support_url": self.settings.support_url,
            }
            subject, body = gettext(subject), gettext(body) % values
        await self.mailer.send(account.rescue_email or "", subject, body)


def log_recovery(outcome: Recovery) -> None:
    """What happened, by code only: no identifier, INE or address."""
    if isinstance(outcome, Sent):
        log.info("lost password: link sent")
    elif isinstance(outcome, Notified | Refused | Limited):
        kind = {Notified: "notice sent", Refused: "nothing sent", Limited: "limited"}
        log.info("lost password: %s (%s)", kind[type(outcome)], outcome.code)
    elif isinstance(outcome, Unavailable):
        log.warning("lost password: nothing sent, service unavailable; nothing counted")


def count_recovery(metrics: Metrics, outcome: Recovery) -> None:
    """A link is a lost_password mail, a notice a notice; a refusal, a limit or an outage
    is the lost_password request's (which mail it would have been is not known then)."""
    metrics.mail("notice" if isinstance(outcome, Notified) else "lost_password", outcome)
    metrics.count_activity("lost_password.request")  # the staff dashboard's, one a request
    if isinstance(outcome, Limited):
        metrics.limited(outcome)


def start_recovery(request: Request, login: Login, now: dt.datetime) -> None:
    metrics = metrics_of(request)

    def done(outcome: Recovery) -> None:
        log_recovery(outcome)
        count_recovery(metrics, outcome)

    work = recover(
        students_of(request),
        MailedNotices(mailer_of(request), settings_of(request)),
        login,
        link_policy_of(request),
        now,
    )
    run_in_background(request, "lost password", work, done)


async def lost_password(request: Request) -> Response:
    if request.method == "GET":
        return await render_form(request, "lost_password.html")
    form = await posted_form(request, RESTART)
    if isinstance(form, Response):
        return form
    raw = field(form, "login", 64)
    login = parse_login(raw)
    if isinstance(login, Invalid):
        # A typo says nothing about accounts: the form comes back with its message.
        context = {"error": gettext(ERRORS[login.code]), "value": raw}
        return await render_form(request, "lost_password.html", context, 400)
    now = now_of(request)
    start_recovery(request, login, now)
    request.session[SESSION_KEY] = {"t": now.timestamp()}
    return RedirectResponse("/lost-password/mail-sent", status_code=303)


async def mail_sent(request: Request) -> Response:
    """The one answer, whatever matched."""
    state = request.session.get(SESSION_KEY)
    now = now_of(request)
    if not isinstance(state, dict) or now.timestamp() - state.get("t", 0) > MAX_AGE.total_seconds():
        return RedirectResponse(RESTART, status_code=303)
    return render(request, "lost_password_mail_sent.html", {"deadline": end_of_day(now)})
