"""Check an INE (activation step 4): the student proves who they are before giving a
rescue address. A typo (format, check key) is not an attempt on someone's INE and is not
counted; a well-formed INE that is not the account's counts towards the daily limit.

An account with no (usable) INE on file can never pass: its first well-formed INE is
answered `Refused("ine.none_on_file")` (the page sends the student to the desk), before
any limit is reserved, so it neither counts nor waits (docs/activation.md, "No INE on file")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bridge.domain.accounts import Account
from bridge.domain.errors import InvalidInput
from bridge.domain.ine import IneVerdict, compare_ine, ine_on_file, parse_ine
from bridge.domain.ratelimits import Limits
from bridge.flows.counters import CounterStore
from bridge.flows.limits import release, reserve_ine_attempt
from bridge.flows.outcomes import Invalid, Limited, Refused


@dataclass(frozen=True)
class IneConfirmed:
    pass


async def check_ine(
    counters: CounterStore,
    account: Account,
    typed: str,
    *,
    now: dt.datetime,
    limits: Limits,
    requester: str,
) -> IneConfirmed | Limited | Invalid | Refused:
    """`requester`: the client's address (its network has its own allowance)."""
    # Invalid codes: ine.format, ine.check_key (not counted), ine.mismatch (counted).
    try:
        given = parse_ine(typed)
    except InvalidInput as error:
        return Invalid(error.code)
    if ine_on_file(account.ine) is None:
        # Before the reservation: with nothing to guess there is no attempt to limit, and
        # the student must reach the desk even from a network already locked out.
        return Refused("ine.none_on_file")
    attempt = await reserve_ine_attempt(counters, account, now, limits, requester)
    if isinstance(attempt, Limited):
        return attempt
    if compare_ine(given, account.ine) is not IneVerdict.MATCH:
        return Invalid("ine.mismatch")
    await release(counters, attempt)
    return IneConfirmed()
