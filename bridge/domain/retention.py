"""Retention (GDPR): how long an expired account keeps what identifies its holder, and
what anonymisation removes and keeps (docs/lifecycle.md, "Retention").

An account expires the day after its "valid until" (bridge.domain.lifecycle); it has been
expired for N years from the same calendar day N years later, Europe/Paris dates (the
callers pass "today" in Paris). Anonymisation never deletes the account: the identifier
stays held by it, disabled, so that it is never issued again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bridge.domain.accounts import Account
from bridge.domain.errors import InvalidInput

# Default of `bridge retention --years` and of the console's rule (UM_RETENTION_YEARS):
# the reason and the sources are in docs/lifecycle.md, "Retention".
DEFAULT_YEARS = 3
MIN_YEARS = 1
MAX_YEARS = 50

# Keycloak's user profile requires a first and a last name of every account written by an
# administrator (realm/um-realm.json): an anonymised account carries this instead.
ANONYMISED_NAME = "Anonymisé"

# What anonymisation removes, in the product's words (the confirmation page and the docs
# say the same; the gateway maps them). The identifier, its eduPersonPrincipalName
# (identifier@domain, what federated services keep), the affiliation, the enrollment
# year and the validity stay: they identify no one once the names are gone, and the
# validity is what makes the account eligible.
REMOVED = (
    "ine",
    "rescue_email",
    "rescue_email_verified",
    "first_name",
    "last_name",
    "student_number",
    "institutional_email",
    "credentials",
)
KEPT = (
    "username",
    "principal_name",
    "affiliations",
    "last_enrollment_year",
    "valid_until",
    "enabled",  # False: the account stays, disabled
)


def check_years(years: int) -> int:
    if not MIN_YEARS <= years <= MAX_YEARS:
        raise InvalidInput(f"years must be {MIN_YEARS} to {MAX_YEARS}", code="retention.years")
    return years


def _add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later; 29 February falls on 1 March (the later day:
    never earlier than a whole number of years)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def expired_since(valid_until: dt.date) -> dt.date:
    """The first day the account is expired (valid through the whole of its last day)."""
    return valid_until + dt.timedelta(days=1)


def years_expired(valid_until: dt.date, today: dt.date) -> int:
    """Whole years since expiry; 0 when not expired (or expired less than a year)."""
    since = expired_since(valid_until)
    if today < since:
        return 0
    years = today.year - since.year
    if _add_years(since, years) > today:
        years -= 1
    return years


def retention_ends(valid_until: dt.date, years: int) -> dt.date:
    """The first day the account counts as expired for `years` years."""
    return _add_years(expired_since(valid_until), years)


def expired_for(valid_until: dt.date | None, today: dt.date, years: int) -> bool:
    return valid_until is not None and today >= retention_ends(valid_until, years)


def is_anonymised(account: Account) -> bool:
    return (
        account.first_name == ANONYMISED_NAME
        and account.last_name == ANONYMISED_NAME
        and not account.ine
        and not account.rescue_email
        and not account.student_number
    )


@dataclass(frozen=True)
class Holding:
    """One line of the DPO's list: what the account still holds, never the values."""

    username: str
    valid_until: dt.date
    years_expired: int
    enabled: bool
    holds_ine: bool
    holds_rescue_email: bool
    holds_names: bool
    holds_student_number: bool

    @property
    def anonymised(self) -> bool:
        return not (
            self.holds_ine
            or self.holds_rescue_email
            or self.holds_names
            or self.holds_student_number
        )


def holding(account: Account, today: dt.date) -> Holding:
    assert account.valid_until is not None
    names = {account.first_name, account.last_name} - {"", ANONYMISED_NAME}
    return Holding(
        username=account.username,
        valid_until=account.valid_until,
        years_expired=years_expired(account.valid_until, today),
        enabled=account.enabled,
        holds_ine=bool(account.ine),
        holds_rescue_email=bool(account.rescue_email),
        holds_names=bool(names),
        holds_student_number=bool(account.student_number),
    )


class AnonymiseRefusal:
    """Codes of the refusals (the console words them)."""

    NOT_LONG_ENOUGH = "retention.not_long_enough"
    STILL_ENABLED = "retention.enabled"
    CONFIRMATION = "retention.confirmation"


def anonymise_refusal(account: Account, today: dt.date, years: int) -> str | None:
    """None when the account may be anonymised: expired for `years` years, and disabled
    (an account the expiry job has not disabled yet is left to it)."""
    if not expired_for(account.valid_until, today, years):
        return AnonymiseRefusal.NOT_LONG_ENOUGH
    if account.enabled:
        return AnonymiseRefusal.STILL_ENABLED
    return None


def confirmation_matches(typed: str, account: Account) -> bool:
    """The administrator types the identifier (case and surrounding spaces forgiven)."""
    return typed.strip().lower() == account.username.lower()
