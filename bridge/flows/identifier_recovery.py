"""I forgot my identifier (issue 18, SPEC F10): from an INE, mail the account's identifier
to its rescue address, provided the student verified that address. Never on screen.

The page answers the same whatever this comes to, and before it runs, as lost password
does (docs/lost-password.md, "Forgotten identifier"): the outcome is for the log, the
metrics and the tests, never for the person who typed. What goes out:

- one member of `students` with this INE and a verified rescue address: the identifier
  (the mail says whether the account is enabled; a disabled one comes back on
  re-enrollment, under the same identifier);
- no account, several for one INE, no rescue address, an unverified one: nothing (an
  unverified address may not be the student's: the identifier would tell a stranger
  whose INE it is).

The limits are lost password's, the same counters: one typed INE looked up at most so many
times an hour, and the mail counted against the account's mails (per network, per day, the
interval between two); a limit applies silently."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Protocol

from bridge.domain.accounts import Account
from bridge.domain.errors import Conflict, InvalidInput, ServiceUnavailable
from bridge.domain.ine import Ine, parse_ine
from bridge.flows.action_links import LinkPolicy, mail_under, reserve_link
from bridge.flows.limits import release, reserve_lookup
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Unavailable


class IdentifierMail(Enum):
    """Which identifier mail (the web layer words it)."""

    ENABLED = "identifier"
    DISABLED = "identifier_disabled"  # expired or suspended: it comes back on re-enrollment


class IneFinder(Protocol):
    async def find_by_ine(self, ine: str) -> Account | None:
        """The member of `students` with this INE; Conflict when several share it."""
        ...


class IdentifierSender(Protocol):
    async def send_identifier(self, account: Account, mail: IdentifierMail) -> None:
        """To the account's rescue address; ServiceUnavailable when it cannot go."""
        ...


Reminder = Notified | Refused | Limited | Unavailable


def parse_typed_ine(raw: str) -> Ine | Invalid:
    """What was typed, as an INE (spaces and case ignored, its check key verified), or
    Invalid (ine.required, ine.format, ine.check_key). Pure: says nothing about accounts."""
    if not raw.strip():
        return Invalid("ine.required")
    try:
        return parse_ine(raw)
    except InvalidInput as error:
        return Invalid(error.code)


async def remind_identifier(
    finder: IneFinder,
    sender: IdentifierSender,
    ine: Ine,
    policy: LinkPolicy,
    now: dt.datetime,
) -> Reminder:
    try:
        looked_up = await reserve_lookup(policy.counters, ine.value, now, policy.limits)
    except ServiceUnavailable as error:
        return Unavailable(str(error))
    if isinstance(looked_up, Limited):
        return looked_up  # before any admin call: hammering one INE costs Keycloak nothing
    try:
        account = await finder.find_by_ine(ine.value)
    except Conflict:
        return Refused("account.ambiguous")  # the SIS should never produce it: the desk
    except ServiceUnavailable as error:
        await release(policy.counters, looked_up)
        return Unavailable(str(error))
    if account is None:
        return Refused("account.unknown")
    if not account.has_rescue_email:
        return Refused("account.no_rescue_email")
    if not account.rescue_email_verified:
        return Refused("account.unverified")
    mail = IdentifierMail.ENABLED if account.enabled else IdentifierMail.DISABLED
    reservation = await reserve_link(account, policy, now)
    if isinstance(reservation, Limited):
        return reservation
    failed = await mail_under(reservation, policy, sender.send_identifier(account, mail))
    if failed:
        return failed
    return Notified(mail.value)
