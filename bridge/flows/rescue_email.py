"""Set the rescue email (activation step 4-1, once the INE is confirmed) and send the
activation link to it (step 5). The limits are checked before the address is written: a
new address with no mail to prove it would be half a step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from bridge.domain.accounts import Account
from bridge.domain.errors import InvalidInput
from bridge.domain.rescue_email import validate_rescue_email
from bridge.flows.action_links import (
    LinkPolicy,
    LinkPurpose,
    LinkSender,
    reserve_link,
    send_action_link,
)
from bridge.flows.limits import release
from bridge.flows.outcomes import Invalid, Limited, Refused, Sent, Unavailable


class RescueEmailWriter(LinkSender, Protocol):
    async def set_rescue_email(self, account: Account, address: str) -> None: ...

    async def reload(self, account: Account) -> Account | None: ...


def valid_rescue_email(
    typed: str, confirmation: str, university_domains: Iterable[str]
) -> str | Invalid:
    """Codes: email.required, email.format, email.university, email.mismatch."""
    try:
        return validate_rescue_email(typed, confirmation, university_domains)
    except InvalidInput as error:
        return Invalid(error.code)


async def set_rescue_email_and_send(
    gateway: RescueEmailWriter,
    account: Account,
    address: str,
    policy: LinkPolicy,
    now: dt.datetime,
) -> Sent | Limited | Refused | Unavailable:
    """`address` as valid_rescue_email() returned it. Refused codes: account.gone (deleted
    or renamed meanwhile), account.active (activated meanwhile: lost password instead)."""
    if account.activated:
        return Refused("account.active")
    reservation = await reserve_link(account, policy, now)
    if isinstance(reservation, Limited):
        return reservation
    try:
        await gateway.set_rescue_email(account, address)
        reloaded = await gateway.reload(account)
    except BaseException:
        await release(policy.counters, reservation)
        raise
    if reloaded is None:
        await release(policy.counters, reservation)
        return Refused("account.gone")
    return await send_action_link(
        gateway, reloaded, LinkPurpose.ACTIVATION, policy, now, reservation
    )
