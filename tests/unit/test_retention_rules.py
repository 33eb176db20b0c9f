"""Retention's pure rules: how long an account has been expired (Europe/Paris dates), when
it may be anonymised, what the DPO's list says of it, and the console's part."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.domain.accounts import Account
from bridge.domain.console import Action, State, allowed_actions, may_anonymise, state_of
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import InvalidInput
from bridge.domain.retention import (
    ANONYMISED_NAME,
    DEFAULT_YEARS,
    AnonymiseRefusal,
    anonymise_refusal,
    check_years,
    confirmation_matches,
    expired_for,
    holding,
    is_anonymised,
    retention_ends,
    years_expired,
)
from bridge.settings import SettingsError, retention_years_from

LAST_DAY = dt.date(2026, 12, 31)  # expired from 1 January 2027


def account(**fields: object) -> Account:
    values: dict[str, object] = {
        "id": "1",
        "username": "jmartin001",
        "enabled": False,
        "first_name": "Jean",
        "last_name": "Martin",
        "ine": "0123456789A",
        "student_number": "21001234",
        "rescue_email": "jean@example.org",
        "valid_until": LAST_DAY,
    }
    values.update(fields)
    return Account(**values)  # type: ignore[arg-type]


def anonymised_account() -> Account:
    return account(
        first_name=ANONYMISED_NAME,
        last_name=ANONYMISED_NAME,
        ine=None,
        student_number=None,
        rescue_email=None,
    )


def paris_day(utc: dt.datetime) -> dt.date:
    return utc.astimezone(PARIS).date()


@pytest.mark.parametrize(
    ("today", "years"),
    [
        (dt.date(2026, 12, 31), 0),  # still valid
        (dt.date(2027, 1, 1), 0),  # expired today
        (dt.date(2027, 12, 31), 0),
        (dt.date(2028, 1, 1), 1),
        (dt.date(2029, 12, 31), 2),
        (dt.date(2030, 1, 1), 3),
    ],
)
def test_whole_years_since_expiry(today: dt.date, years: int) -> None:
    assert years_expired(LAST_DAY, today) == years


def test_expired_for_three_years_from_the_first_of_january() -> None:
    assert retention_ends(LAST_DAY, 3) == dt.date(2030, 1, 1)
    assert not expired_for(LAST_DAY, dt.date(2029, 12, 31), 3)
    assert expired_for(LAST_DAY, dt.date(2030, 1, 1), 3)
    assert not expired_for(None, dt.date(2099, 1, 1), 3)


def test_the_new_year_comes_at_midnight_in_paris_not_in_utc() -> None:
    # 23:30 UTC on 31 December is 00:30 on 1 January in Paris (winter, UTC+1).
    new_year_in_paris = dt.datetime(2029, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert paris_day(new_year_in_paris) == dt.date(2030, 1, 1)
    assert expired_for(LAST_DAY, paris_day(new_year_in_paris), 3)
    # 22:59 UTC is 23:59 in Paris: still the 31st, not yet three years.
    last_minute = dt.datetime(2029, 12, 31, 22, 59, tzinfo=dt.UTC)
    assert not expired_for(LAST_DAY, paris_day(last_minute), 3)


def test_a_29_february_validity_counts_whole_years_to_the_later_day() -> None:
    # Provisioning writes 31 Decembers; a hand-edited date still gets a whole number of years.
    leap = dt.date(2028, 2, 28)  # expired since 29 February 2028
    assert retention_ends(leap, 1) == dt.date(2029, 3, 1)
    assert years_expired(leap, dt.date(2029, 2, 28)) == 0
    assert years_expired(leap, dt.date(2029, 3, 1)) == 1


def test_years_are_bounded() -> None:
    assert check_years(DEFAULT_YEARS) == DEFAULT_YEARS
    for bad in (0, -1, 51):
        with pytest.raises(InvalidInput):
            check_years(bad)
    assert retention_years_from({}) == DEFAULT_YEARS
    assert retention_years_from({"UM_RETENTION_YEARS": "5"}) == 5
    for bad_text in ("0", "trois", "2.5"):
        with pytest.raises(SettingsError):
            retention_years_from({"UM_RETENTION_YEARS": bad_text})


def test_anonymise_only_a_disabled_account_expired_long_enough() -> None:
    on_time = dt.date(2030, 1, 1)
    assert anonymise_refusal(account(), on_time, 3) is None
    assert anonymise_refusal(account(), on_time - dt.timedelta(days=1), 3) == (
        AnonymiseRefusal.NOT_LONG_ENOUGH
    )
    assert anonymise_refusal(account(enabled=True), on_time, 3) == AnonymiseRefusal.STILL_ENABLED
    assert anonymise_refusal(account(valid_until=None), on_time, 3) == (
        AnonymiseRefusal.NOT_LONG_ENOUGH
    )


def test_the_typed_identifier_must_be_the_accounts() -> None:
    assert confirmation_matches(" JMartin001 ", account())
    assert not confirmation_matches("jmartin002", account())
    assert not confirmation_matches("", account())


def test_the_list_says_what_is_held_never_the_values() -> None:
    line = holding(account(), dt.date(2031, 6, 1))
    assert (line.username, line.valid_until, line.years_expired) == ("jmartin001", LAST_DAY, 4)
    assert line.holds_ine and line.holds_names and line.holds_rescue_email
    assert not line.anonymised
    assert "0123456789A" not in repr(line) and "Martin" not in repr(line)
    done = holding(anonymised_account(), dt.date(2031, 6, 1))
    assert done.anonymised and not done.holds_names


def test_the_console_offers_anonymise_to_administrators_only() -> None:
    today = dt.date(2030, 1, 1)
    state = state_of(account(), today)
    assert state is State.EXPIRED
    assert Action.ANONYMISE not in allowed_actions(state)
    assert Action.ANONYMISE in allowed_actions(state, administrator=True)
    assert Action.ANONYMISE not in allowed_actions(State.ACTIVE, administrator=True)
    assert may_anonymise(account(), today, 3)
    assert not may_anonymise(account(), today, 4)


def test_an_anonymised_account_is_left_as_it_is() -> None:
    assert is_anonymised(anonymised_account())
    assert not is_anonymised(account(ine=None, student_number=None, rescue_email=None))
    state = state_of(anonymised_account(), dt.date(2030, 1, 1))
    assert state is State.ANONYMISED
    assert allowed_actions(state, administrator=True) == ()
