from __future__ import annotations

import datetime as dt

import pytest

from bridge.domain.deadlines import PARIS
from bridge.domain.ratelimits import (
    DailyCount,
    LimitReached,
    Limits,
    check_ine_allowed,
    check_mail_allowed,
    count_on,
    incremented,
)

TODAY = dt.date(2026, 11, 21)
NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=PARIS)
LIMITS = Limits(mails_per_day=3, resend_interval=dt.timedelta(seconds=60), ine_failures_per_day=2)


def test_counter_round_trip() -> None:
    counter = DailyCount.parse("2026-11-21:4")
    assert counter == DailyCount(TODAY, 4)
    assert str(counter) == "2026-11-21:4"


@pytest.mark.parametrize("raw", [None, "", "garbage", "2026-13-01:1", "2026-11-21:x", "2026-11-21"])
def test_unreadable_counters_count_as_none(raw: str | None) -> None:
    assert DailyCount.parse(raw) is None


def test_yesterdays_count_is_zero_today() -> None:
    assert count_on(DailyCount(TODAY - dt.timedelta(days=1), 9), TODAY) == 0
    assert incremented(DailyCount(TODAY - dt.timedelta(days=1), 9), TODAY) == DailyCount(TODAY, 1)
    assert incremented(DailyCount(TODAY, 2), TODAY) == DailyCount(TODAY, 3)


def test_first_mail_is_allowed() -> None:
    check_mail_allowed(LIMITS, None, None, NOW, TODAY)


def test_resend_too_soon_says_how_long_to_wait() -> None:
    with pytest.raises(LimitReached) as error:
        check_mail_allowed(LIMITS, DailyCount(TODAY, 1), NOW - dt.timedelta(seconds=20), NOW, TODAY)
    assert error.value.code == "mail.too_soon"
    assert error.value.retry_after == 40
    check_mail_allowed(LIMITS, DailyCount(TODAY, 1), NOW - dt.timedelta(seconds=60), NOW, TODAY)


def test_daily_mail_limit() -> None:
    with pytest.raises(LimitReached) as error:
        check_mail_allowed(LIMITS, DailyCount(TODAY, 3), None, NOW, TODAY)
    assert error.value.code == "mail.daily_limit"
    check_mail_allowed(LIMITS, DailyCount(TODAY - dt.timedelta(days=1), 3), None, NOW, TODAY)


def test_ine_lock_until_tomorrow() -> None:
    check_ine_allowed(LIMITS, DailyCount(TODAY, 1), TODAY)
    with pytest.raises(LimitReached) as error:
        check_ine_allowed(LIMITS, DailyCount(TODAY, 2), TODAY)
    assert error.value.code == "ine.locked"
    check_ine_allowed(LIMITS, DailyCount(TODAY, 2), TODAY + dt.timedelta(days=1))
