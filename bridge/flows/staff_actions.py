"""The staff console's actions (F7), with the staff member's own authority: which ones
apply to an account, and each one's effect, recorded on the account (StaffRecord) so that
the identity provider's admin event names the staff member."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bridge.domain.accounts import Account
from bridge.domain.console import (
    Action,
    StaffRecord,
    allowed_actions,
    can_reenable,
    clean_reason,
    state_of,
)
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import InvalidInput
from bridge.flows.action_links import LinkPolicy, LinkPurpose, LinkSender, send_action_link
from bridge.flows.activation_keys import KeySetter, issue_activation_key
from bridge.flows.outcomes import Invalid, Limited, Refused, Unavailable
from bridge.flows.rescue_email import valid_rescue_email


class StaffAuthority(LinkSender, KeySetter, Protocol):
    async def record(self, user_id: str, record: StaffRecord) -> None: ...

    async def set_verified_rescue_email(
        self, user_id: str, address: str, record: StaffRecord
    ) -> None: ...

    async def reenable(self, user_id: str, record: StaffRecord) -> None: ...

    async def reset_account(self, user_id: str, record: StaffRecord) -> None: ...


@dataclass(frozen=True)
class StaffForm:
    """What the confirmation page sent: the optional reason, and the address for
    set-rescue-email."""

    reason: str = ""
    email: str = ""
    email_confirm: str = ""


@dataclass(frozen=True)
class Done:
    action: Action


@dataclass(frozen=True)
class KeyIssued:
    """Shown once, on a printable letter: the key is nowhere else."""

    key: str


def refusal(
    action: Action, account: Account, last: StaffRecord | None, today: dt.date
) -> Refused | None:
    """Codes: console.not_applicable (the account's state), console.not_enrolled (a
    validity that has run out comes back with re-enrollment, not by hand),
    console.no_rescue_email."""
    state = state_of(account, today, last.action if last else None)
    if action not in allowed_actions(state):
        return Refused("console.not_applicable")
    if action is Action.REENABLE and not can_reenable(account, today):
        return Refused("console.not_enrolled")
    if action is Action.SEND_ACTIVATION_MAIL and not account.rescue_email:
        return Refused("console.no_rescue_email")
    return None


async def perform(
    authority: StaffAuthority,
    account: Account,
    last: StaffRecord | None,
    action: Action,
    form: StaffForm,
    *,
    now: dt.datetime,
    university_domains: Iterable[str],
    policy: LinkPolicy,
    by: str = "",
) -> Done | KeyIssued | Invalid | Refused | Limited | Unavailable:
    """`by`: the staff member's identifier, kept in the record."""
    refused = refusal(action, account, last, now.astimezone(PARIS).date())
    if refused:
        return refused
    try:
        reason = clean_reason(form.reason)
    except InvalidInput as error:
        return Invalid(error.code)
    record = StaffRecord(action, now, reason, by)
    if action is Action.RESET:
        await authority.reset_account(account.id, record)
    elif action is Action.SET_RESCUE_EMAIL:
        address = valid_rescue_email(form.email, form.email_confirm, university_domains)
        if isinstance(address, Invalid):
            return address
        await authority.set_verified_rescue_email(account.id, address, record)
    elif action is Action.SEND_ACTIVATION_MAIL:
        sent = await send_action_link(authority, account, LinkPurpose.STAFF_ACTIVATION, policy, now)
        if isinstance(sent, Limited | Unavailable):
            return sent
        await authority.record(account.id, record)
    elif action is Action.ISSUE_ACTIVATION_KEY:
        key = await issue_activation_key(authority, account)
        await authority.record(account.id, record)
        return KeyIssued(key)
    elif action is Action.REENABLE:
        await authority.reenable(account.id, record)
    else:
        return Refused("console.not_applicable")
    return Done(action)


async def reveal_rescue_email(
    authority: StaffAuthority, account: Account, now: dt.datetime, by: str = ""
) -> StaffRecord:
    """Showing the whole address is itself recorded: who saw it, and when."""
    record = StaffRecord(Action.SHOW_RESCUE_EMAIL, now, by=by)
    await authority.record(account.id, record)
    return record
