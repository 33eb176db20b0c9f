"""The notices the bridge mails itself through the SMTP relay (Keycloak sends the action
links): plain text, no link, in the account's language (the owner of the address reads
them, who may not be who asked)."""

from __future__ import annotations

from bridge.domain.accounts import Account, mask_email
from bridge.domain.errors import ServiceUnavailable
from bridge.flows.outcomes import Notified, Unavailable
from bridge.gateway.smtp import Mailer
from bridge.i18n import N_, current_locale, gettext, supported, use_locale
from bridge.settings import Settings
from bridge.web.metrics import Metrics

REPLACED_SUBJECT = N_("Votre compte informatique : adresse mail de secours modifiée")
REPLACED_BODY = N_(
    "Bonjour,\n\n"
    "L'adresse mail de secours du compte informatique %(username)s vient d'être remplacée "
    "par %(masked)s. Cette adresse-ci ne recevra plus les liens d'activation ni ceux de mot "
    "de passe perdu.\n\n"
    "Si vous êtes à l'origine de ce changement, vous n'avez rien à faire.\n\n"
    "Sinon, adressez-vous au personnel de %(desk_name)s, en %(desk_room)s (%(desk_hours)s), "
    "muni(e) de votre carte étudiant ou d'une pièce d'identité.\n\n"
    "%(university)s\n"
)


def account_language(account: Account) -> str:
    """The account's Keycloak language; without one, the page's (the only hint there is)."""
    return supported(account.locale) or current_locale()


class MailedNotices:
    """bridge.flows.rescue_email.ChangeNotices, through the bridge's relay."""

    def __init__(self, mailer: Mailer, settings: Settings, metrics: Metrics) -> None:
        self.mailer = mailer
        self.settings = settings
        self.metrics = metrics

    async def rescue_email_replaced(self, account: Account, previous: str, new: str) -> None:
        """To the previous address: the new one masked only, and nothing to click."""
        with use_locale(account_language(account)):
            values = {
                "username": account.username,
                "masked": mask_email(new),
                "desk_name": gettext(self.settings.desk_name),
                "desk_room": gettext(self.settings.desk_room),
                "desk_hours": gettext(self.settings.desk_hours),
                "university": gettext(self.settings.university_name),
            }
            subject = gettext(REPLACED_SUBJECT) % values
            body = gettext(REPLACED_BODY) % values
        # Counted here: the flow logs this notice's failure and answers with the link's
        # outcome, which says nothing of it.
        try:
            await self.mailer.send(previous, subject, body)
        except ServiceUnavailable as error:
            self.metrics.mail("notice", Unavailable(str(error)))
            raise
        self.metrics.mail("notice", Notified("rescue_email_replaced"))
