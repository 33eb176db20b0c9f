"""The staff console's pure rules."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.console import (
    Action,
    StaffRecord,
    State,
    allowed_actions,
    can_reenable,
    clean_reason,
    state_of,
)
from bridge.domain.errors import InvalidInput

TODAY = dt.date(2026, 11, 22)


def account(**fields: object) -> Account:
    values: dict[str, object] = {
        "id": "1",
        "username": "jmartin001",
        "enabled": True,
        "valid_until": dt.date(2027, 12, 31),
    }
    values.update(fields)
    return Account(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "last", "state"),
    [
        ({}, None, State.PROVISIONED),
        ({"last_mail_at": dt.datetime(2026, 9, 3, 10, 0, tzinfo=dt.UTC)}, None, State.WAITING),
        (
            {"has_password": True, "required_actions": (RequiredAction.SET_PASSWORD,)},
            None,
            State.WAITING,
        ),
        ({"has_password": True}, None, State.ACTIVE),
        ({"has_password": True}, Action.RESET, State.ACTIVE),
        ({}, Action.RESET, State.RESET),
        ({"enabled": False}, None, State.DISABLED),
        ({"valid_until": dt.date(2026, 11, 21), "has_password": True}, None, State.EXPIRED),
        ({"valid_until": dt.date(2025, 12, 31), "enabled": False}, None, State.EXPIRED),
    ],
)
def test_state_in_words(fields: dict[str, object], last: Action | None, state: State) -> None:
    assert state_of(account(**fields), TODAY, last) is state


def test_expired_accounts_come_back_through_the_sis_only() -> None:
    expired = account(valid_until=dt.date(2025, 12, 31), enabled=False)
    assert Action.REENABLE not in allowed_actions(state_of(expired, TODAY))
    assert not can_reenable(expired, TODAY)
    disabled = account(enabled=False)
    assert Action.REENABLE in allowed_actions(state_of(disabled, TODAY))
    assert can_reenable(disabled, TODAY)
    assert Action.RESET not in allowed_actions(State.DISABLED)


def test_reason_is_one_bounded_line() -> None:
    assert clean_reason("  perte \n du  mot de passe ") == "perte du mot de passe"
    assert clean_reason("") == ""
    with pytest.raises(InvalidInput):
        clean_reason("x" * 201)
    with pytest.raises(InvalidInput):
        clean_reason("a\x00b")


def test_staff_record_round_trip_and_garbage() -> None:
    at = dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.UTC)
    record = StaffRecord(Action.RESET, at, "vu à l'accueil <b>")
    assert StaffRecord.decode(record.encode()) == record
    for garbage in (None, "", "{", '{"action": "nope", "at": "x"}', "[]", '{"at": 1}'):
        assert StaffRecord.decode(garbage) is None


def test_a_staff_record_carries_its_author_and_older_ones_still_read() -> None:
    at = dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.UTC)
    record = StaffRecord(Action.SHOW_RESCUE_EMAIL, at, by="agent.k103")
    assert StaffRecord.decode(record.encode()) == record
    older = '{"action":"reset","at":"2026-11-22T10:30:00+00:00","reason":"x"}'
    assert StaffRecord.decode(older) == StaffRecord(Action.RESET, at, "x", "")
