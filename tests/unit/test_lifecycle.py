from __future__ import annotations

import datetime as dt

from bridge.domain.lifecycle import is_expired, valid_until


def test_valid_until_31_december_of_the_next_year() -> None:
    assert valid_until(2025) == dt.date(2026, 12, 31)


def test_valid_through_the_last_day_expired_the_next() -> None:
    until = valid_until(2025)
    assert not is_expired(until, dt.date(2026, 12, 31))
    assert is_expired(until, dt.date(2027, 1, 1))
