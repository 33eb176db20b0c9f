from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bridge.domain.deadlines import PARIS, end_of_day, seconds_until_end_of_day

UTC = dt.UTC


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def test_an_ordinary_day() -> None:
    assert seconds_until_end_of_day(paris(2026, 11, 21, 10, 0, 0)) == 13 * 3600 + 59 * 60 + 59


def test_spring_forward_day_has_23_hours() -> None:
    # 29 March 2026: 02:00 CET -> 03:00 CEST. From 01:00 CET to 23:59:59 CEST is 21:59:59.
    now = dt.datetime(2026, 3, 29, 0, 0, 0, tzinfo=UTC)  # 01:00 in Paris
    assert seconds_until_end_of_day(now) == 21 * 3600 + 59 * 60 + 59


def test_fall_back_day_has_25_hours() -> None:
    # 25 October 2026: 03:00 CEST -> 02:00 CET. From 01:00 CEST to 23:59:59 CET is 23:59:59.
    now = dt.datetime(2026, 10, 24, 23, 0, 0, tzinfo=UTC)  # 01:00 CEST in Paris
    assert seconds_until_end_of_day(now) == 23 * 3600 + 59 * 60 + 59


def test_same_tzinfo_does_not_fool_the_subtraction() -> None:
    # Both datetimes in Europe/Paris: Python would subtract wall-clock times.
    assert seconds_until_end_of_day(paris(2026, 3, 29, 1, 0, 0)) == 21 * 3600 + 59 * 60 + 59


def test_thirty_seconds_before_the_deadline() -> None:
    assert seconds_until_end_of_day(paris(2026, 11, 21, 23, 59, 30)) == 29


def test_just_after_midnight_gives_the_whole_new_day() -> None:
    assert seconds_until_end_of_day(paris(2026, 11, 22, 0, 0, 1)) == 86398


def test_after_the_deadline_gives_zero() -> None:
    assert seconds_until_end_of_day(paris(2026, 11, 21, 23, 59, 59, 500000)) == 0


def test_now_in_another_zone_counts_in_paris() -> None:
    # 22:30 UTC on 21 November is 23:30 in Paris: half an hour left.
    now = dt.datetime(2026, 11, 21, 22, 30, 0, tzinfo=ZoneInfo("UTC"))
    assert seconds_until_end_of_day(now) == 29 * 60 + 59
    assert end_of_day(now).date() == dt.date(2026, 11, 21)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        seconds_until_end_of_day(dt.datetime(2026, 11, 21, 10, 0))
