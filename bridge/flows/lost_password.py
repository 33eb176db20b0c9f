"""Lost password (seed 004, steps 2-3): from what was typed in one field, an identifier or
an INE, decide what goes to the rescue address, if anything.

The page answers the same whatever this comes to, and before it runs (docs/lost-password.md):
the outcome is for the log and the tests, never for the person who typed. What goes out:

- an enabled account with a rescue address: the day-bounded link (`send_action_link`,
  LOST_PASSWORD), provided that, once the account is activated, the student verified that
  address; an activated account whose address is unverified gets a notice instead, no link:
  see the desk or use the support form;
- a disabled (expired) account with a verified address: a notice that it comes back on
  re-enrollment, no link; with no verified address, nothing;
- no account, several accounts for one INE, no rescue address: nothing.

Notices count against the same per-account limits as links (a limit applies silently)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bridge.domain.accounts import Account
from bridge.domain.errors import Conflict, InvalidInput, ServiceUnavailable
from bridge.domain.identifiers import normalize_identifier
from bridge.domain.ine import looks_like_ine, parse_ine
from bridge.flows.action_links import (
    LinkPolicy,
    LinkPurpose,
    LinkSender,
    mail_under,
    reserve_link,
    send_action_link,
)
from bridge.flows.limits import release, reserve_lookup
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Sent, Unavailable

log = logging.getLogger("bridge.flows.lost_password")


@dataclass(frozen=True)
class Login:
    """What was typed, parsed: an INE (its check key verified) or an identifier."""

    value: str
    is_ine: bool


def parse_login(raw: str) -> Login | Invalid:
    """An INE when the input is shaped like one, else an identifier; Invalid (the format,
    the check key) otherwise. Pure: says nothing about accounts."""
    try:
        if looks_like_ine(raw):
            return Login(parse_ine(raw).value, is_ine=True)
        return Login(normalize_identifier(raw), is_ine=False)
    except InvalidInput as error:
        return Invalid(error.code)


class Notice(Enum):
    """A mail without a link (the web layer words it)."""

    SEE_THE_DESK = "see_the_desk"  # activated, rescue address not verified
    ACCOUNT_EXPIRED = "account_expired"  # disabled, rescue address verified


class AccountFinder(Protocol):
    async def find_student(self, username: str) -> Account | None: ...

    async def find_by_ine(self, ine: str) -> Account | None: ...


class RecoveryGateway(AccountFinder, LinkSender, Protocol):
    pass


class NoticeSender(Protocol):
    async def send_notice(self, account: Account, notice: Notice) -> None:
        """To the account's rescue address; ServiceUnavailable when it cannot go."""
        ...


Recovery = Sent | Notified | Refused | Limited | Unavailable


async def recover(
    gateway: RecoveryGateway,
    notices: NoticeSender,
    login: Login,
    policy: LinkPolicy,
    now: dt.datetime,
) -> Recovery:
    try:
        looked_up = await reserve_lookup(policy.counters, login.value, now, policy.limits)
    except ServiceUnavailable as error:
        return Unavailable(str(error))
    if isinstance(looked_up, Limited):
        return looked_up  # before any admin call: hammering one value costs Keycloak nothing
    try:
        if login.is_ine:
            account = await gateway.find_by_ine(login.value)
        else:
            account = await gateway.find_student(login.value)
    except Conflict:
        return Refused("account.ambiguous")  # the SIS should never produce it: the desk
    except ServiceUnavailable as error:
        await release(policy.counters, looked_up)
        return Unavailable(str(error))
    if account is None:
        return Refused("account.unknown")
    verified = account.has_rescue_email and account.rescue_email_verified
    if not account.enabled:
        if not verified:
            return Refused("account.disabled")
        return await _notify(gateway, notices, account, Notice.ACCOUNT_EXPIRED, policy, now)
    if not account.has_rescue_email:
        return Refused("account.no_rescue_email")
    if account.activated and not verified:
        return await _notify(gateway, notices, account, Notice.SEE_THE_DESK, policy, now)
    return await send_action_link(gateway, account, LinkPurpose.LOST_PASSWORD, policy, now)


async def _notify(
    gateway: LinkSender,
    notices: NoticeSender,
    account: Account,
    notice: Notice,
    policy: LinkPolicy,
    now: dt.datetime,
) -> Notified | Limited | Unavailable:
    """Within the same limits as the links, counted the same way (no mail bombing through
    notices either)."""
    reservation = await reserve_link(account, policy, now)
    if isinstance(reservation, Limited):
        return reservation
    failed = await mail_under(reservation, policy, notices.send_notice(account, notice))
    if failed:
        return failed
    return Notified(notice.value)
