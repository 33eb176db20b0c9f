"""Check an INE (activation step 4): the student proves who they are before giving a
rescue address. A typo (format, check key) is not an attempt on someone's INE and is not
counted; a well-formed INE that is not the account's counts towards the daily limit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from bridge.domain.accounts import Account
from bridge.domain.activation import ine_matches
from bridge.domain.errors import InvalidInput
from bridge.domain.ine import parse_ine
from bridge.domain.ratelimits import LimitReached, Limits, check_ine_allowed
from bridge.flows.outcomes import Invalid, Limited


@dataclass(frozen=True)
class IneConfirmed:
    pass


class IneFailures(Protocol):
    async def record_ine_failure(self, account: Account, today: dt.date) -> None: ...


async def check_ine(
    failures: IneFailures, account: Account, typed: str, *, today: dt.date, limits: Limits
) -> IneConfirmed | Limited | Invalid:
    """Invalid codes: ine.format, ine.check_key (not counted), ine.mismatch (counted)."""
    try:
        check_ine_allowed(limits, account.ine_failures, today)
    except LimitReached as error:
        return Limited(error.code, error.retry_after)
    try:
        given = parse_ine(typed)
    except InvalidInput as error:
        return Invalid(error.code)
    if not ine_matches(given, account):
        await failures.record_ine_failure(account, today)
        return Invalid("ine.mismatch")
    return IneConfirmed()
