"""Retention (GDPR): anonymising an account expired for long enough, by a staff
administrator, after typing its identifier. Never deletes the account: the identifier
stays held by it, disabled, so that it is never issued again (docs/lifecycle.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from bridge.domain.accounts import Account
from bridge.domain.console import Action, StaffRecord, clean_reason
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import InvalidInput
from bridge.domain.retention import (
    AnonymiseRefusal,
    anonymise_refusal,
    confirmation_matches,
    is_anonymised,
)
from bridge.flows.outcomes import Invalid, Refused


class Anonymiser(Protocol):
    async def anonymise(self, user_id: str, record: StaffRecord) -> None: ...


@dataclass(frozen=True)
class Anonymised:
    """Done now (`already` False), or found done by an earlier request (nothing written)."""

    already: bool = False


NOT_ADMINISTRATOR = "retention.not_administrator"


async def anonymise(
    authority: Anonymiser,
    account: Account,
    *,
    administrator: bool,
    typed_identifier: str,
    reason: str,
    now: dt.datetime,
    years: int,
    by: str,
) -> Anonymised | Invalid | Refused:
    """The checks in this order: the role, done already (idempotent: a second click, a
    reload), eligibility, then the typed confirmation and the reason."""
    if not administrator:
        return Refused(NOT_ADMINISTRATOR)
    if is_anonymised(account):
        return Anonymised(already=True)
    refused = anonymise_refusal(account, now.astimezone(PARIS).date(), years)
    if refused:
        return Refused(refused)
    if not confirmation_matches(typed_identifier, account):
        return Invalid(AnonymiseRefusal.CONFIRMATION)
    try:
        cleaned = clean_reason(reason)
    except InvalidInput as error:
        return Invalid(error.code)
    await authority.anonymise(account.id, StaffRecord(Action.ANONYMISE, now, cleaned, by))
    return Anonymised()
