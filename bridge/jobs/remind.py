"""`bridge remind`: mail the rescue address N days before the account expires, once per
validity cycle, in the student's language (the catalogue's, bridge.i18n).

Keycloak has no endpoint to send an arbitrary mail, so the job sends it through the
university's SMTP relay itself (UM_SMTP_*). "Once per cycle": the `validUntil` the reminder
was sent for is recorded on the account (`umReminderSentFor`); a re-enrollment moves
`validUntil`, which opens the next cycle. The mark is written after the send: a crash in
between can send one reminder twice, never zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from bridge.domain.accounts import Account
from bridge.domain.errors import NotAllowed
from bridge.gateway.keycloak import ProvisioningGateway
from bridge.gateway.smtp import plain_message, send
from bridge.i18n import N_, SOURCE_LOCALE, format_date, gettext, supported, use_locale
from bridge.settings import SmtpSettings

SUBJECT = N_("Votre compte informatique expire le %(date)s")
BODY = N_(
    "Bonjour %(first_name)s,\n\n"
    "Votre compte informatique %(username)s est valable jusqu'au %(date)s. Passé cette date, "
    "les accès seront coupés si vous ne vous êtes pas réinscrit(e).\n\n"
    "Si vous vous réinscrivez, votre compte sera prolongé automatiquement : vous n'avez "
    "rien à faire. Vos données sont conservées dans tous les cas, et votre compte "
    "reviendra, intact, lors d'une réinscription ultérieure.\n\n"
    "Si vous êtes inscrit(e) pour l'année en cours et recevez ce message par erreur, "
    "contactez votre service de scolarité.\n"
)


def reminder(account: Account, locale: str, smtp: SmtpSettings) -> EmailMessage:
    """In the student's language (their Keycloak locale), French when it has none; the
    date as that language writes it (bridge.i18n.format_date)."""
    assert account.valid_until is not None
    with use_locale(supported(locale) or SOURCE_LOCALE):
        values = {
            "first_name": account.first_name,
            "username": account.username,
            "date": format_date(account.valid_until),
        }
        return plain_message(
            smtp, account.rescue_email or "", gettext(SUBJECT) % values, gettext(BODY) % values
        )


@dataclass
class ReminderSummary:
    sent: int = 0
    already_sent: int = 0
    no_rescue_email: int = 0
    dry_run: bool = False
    usernames: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "already_sent": self.already_sent,
            "no_rescue_email": self.no_rescue_email,
            "dry_run": self.dry_run,
        }


async def remind(
    gateway: ProvisioningGateway,
    today: dt.date,
    days: int,
    smtp: SmtpSettings,
    *,
    dry_run: bool = False,
    sender: Callable[[list[EmailMessage], SmtpSettings], None] = send,
) -> ReminderSummary:
    """Accounts that expire within `days` (validUntil is a 31 December: the coming one)."""
    await gateway.ensure_scoped()  # its search lists students only: Keycloak's doing
    summary = ReminderSummary(dry_run=dry_run)
    last_day = dt.date(today.year, 12, 31)
    if (last_day - today).days > days:
        return summary
    for account in await gateway.enabled_with_valid_until(last_day):
        if not account.rescue_email:
            summary.no_rescue_email += 1
            continue
        try:
            sent_for, locale = await gateway.reminder_state(account)
        except NotAllowed:
            continue  # listed, refused by id: also in staff, not the job's
        if sent_for == last_day:
            summary.already_sent += 1
            continue
        summary.usernames.append(account.username)
        summary.sent += 1
        if not dry_run:
            sender([reminder(account, locale, smtp)], smtp)
            await gateway.mark_reminder_sent(account, last_day)
    return summary
