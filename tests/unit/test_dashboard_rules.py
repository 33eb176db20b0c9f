"""The staff dashboard's rules (bridge/domain/dashboard.py): periods in Paris days, the
hourly buckets, the measures read from the bridge's counts, the funnel, the charts'
geometry and the CSV's cells."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bridge.domain.dashboard import (
    FUNNEL,
    MEASURES,
    Day,
    InvalidPeriod,
    Period,
    bridge_measures,
    csv_cell,
    csv_rows,
    daily_chart,
    day_hours,
    funnel,
    funnel_chart,
    hour_key,
    parse_period,
    preset_period,
    totals,
)
from bridge.domain.deadlines import PARIS
from bridge.flows.dashboard import EVENTS_KEPT_DAYS

TODAY = dt.date(2026, 11, 23)
REALM = Path(__file__).resolve().parents[2] / "realm" / "um-realm.json"


@pytest.mark.parametrize(
    ("preset", "first"),
    [
        ("today", TODAY),
        ("7d", dt.date(2026, 11, 17)),
        ("30d", dt.date(2026, 10, 25)),
        ("rentree", dt.date(2026, 9, 1)),
    ],
)
def test_presets_end_today(preset: str, first: dt.date) -> None:
    assert preset_period(preset, TODAY) == Period(first, TODAY)


def test_the_rentree_before_september_is_last_years() -> None:
    assert preset_period("rentree", dt.date(2027, 3, 1)).first == dt.date(2026, 9, 1)
    assert preset_period("rentree", dt.date(2026, 9, 1)).first == dt.date(2026, 9, 1)


def test_no_dates_is_the_last_7_days_and_dates_win_over_a_preset() -> None:
    assert parse_period(None, None, None, TODAY) == Period(dt.date(2026, 11, 17), TODAY)
    chosen = parse_period("2026-11-01", "2026-11-02", "today", TODAY)
    assert chosen == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 2))
    assert chosen.days == [dt.date(2026, 11, 1), dt.date(2026, 11, 2)]


@pytest.mark.parametrize(
    ("first", "last", "code"),
    [
        ("garbage", "2026-01-01", "period.format"),
        ("20260101", "2026-01-02", "period.format"),
        ("2026-W01", "2026-01-02", "period.format"),
        ("2026-02-30", "2026-03-01", "period.format"),
        ("\uff12\uff10\uff12\uff16-01-01", "2026-01-02", "period.format"),
        ("2026-01-01", "", "period.missing"),
        ("2026-03-02", "2026-03-01", "period.order"),
        ("2026-11-01", "2026-11-24", "period.future"),
        ("2025-01-01", "2026-02-05", "period.too_long"),
    ],
)
def test_bad_periods_say_what_is_wrong(first: str, last: str, code: str) -> None:
    with pytest.raises(InvalidPeriod) as refused:
        parse_period(first, last, None, TODAY)
    assert refused.value.code == code


def test_400_days_is_the_longest() -> None:
    period = parse_period("2025-10-20", "2026-11-23", None, TODAY)
    assert len(period.days) == 400


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(InvalidPeriod):
        parse_period(None, None, "forever", TODAY)


def test_paris_days_are_23_24_or_25_utc_hours() -> None:
    assert len(day_hours(dt.date(2026, 3, 29))) == 23  # summer time starts
    assert len(day_hours(dt.date(2026, 10, 25))) == 25  # and ends
    hours = day_hours(dt.date(2026, 11, 23))
    assert hours[0] == "2026-11-22T23" and hours[-1] == "2026-11-23T22" and len(hours) == 24
    late = dt.datetime(2026, 11, 23, 23, 30, tzinfo=PARIS)  # a Paris evening, UTC's 22h
    assert hour_key(late) in hours


def test_period_bounds_are_paris_midnights() -> None:
    start, end = Period(dt.date(2026, 7, 1), dt.date(2026, 7, 2)).bounds()
    assert start == dt.datetime(2026, 6, 30, 22, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 7, 2, 22, tzinfo=dt.UTC)


def test_the_bridges_fields_make_its_measures() -> None:
    fields = {
        "lookup.send_mail": 4,
        "lookup.unknown": 2,
        "lookup.invalid": 1,
        "mail.activation.sent": 3,
        "mail.staff_activation.sent": 1,
        "mail.activation.refused_limit": 5,
        "mail.lost_password.sent": 9,  # its request is counted apart
        "lost_password.request": 2,
        "ine.mismatch": 1,
        "ine.format": 1,
        "limit.mail.too_soon": 5,
        "challenge.passed": 8,
        "job.expire.disabled": 6,
        "job.expire.already_disabled": 100,
        "job.provision.reenabled": 2,
        "someone.elses": 50,
    }
    assert bridge_measures(fields) == {
        "lookups": 7,
        "mails_sent": 4,
        "ine_failures": 2,
        "limit_refusals": 5,
        "lost_password_requests": 2,
        "accounts_expired": 6,
        "accounts_reenabled": 2,
    }


def test_the_funnel_and_its_shares() -> None:
    days = [
        Day(dt.date(2026, 11, 1), {"lookups": 8, "mails_sent": 6, "links_opened": 4}),
        Day(dt.date(2026, 11, 2), {"lookups": 2, "passwords_set": 3, "first_sign_ins": 1}),
    ]
    total = totals(days)
    assert set(total) == set(MEASURES)
    steps = funnel(total)
    assert [s.measure for s in steps] == list(FUNNEL)
    assert [(s.count, s.percent) for s in steps] == [
        (10, 100),
        (6, 60),
        (4, 40),
        (3, 30),
        (1, 10),
    ]
    assert all(s.percent is None for s in funnel(totals([])))


def test_funnel_bars_scale_to_the_first_step() -> None:
    steps = funnel({"lookups": 10, "mails_sent": 5})
    chart = funnel_chart(steps, width=400)
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == 400 - 60 and widths[1] == widths[0] / 2 and widths[2] == 0
    assert chart.height == 46 * 5 and [b.y for b in chart.bars] == [20, 66, 112, 158, 204]
    # Room for the name above each bar, and for the number after the widest one.
    assert all(b.y >= 18 + i * 46 and b.x + b.width + 60 <= 400 for i, b in enumerate(chart.bars))
    empty = funnel_chart(funnel({}))
    assert all(b.width == 0 for b in empty.bars)


def test_daily_bars_scale_to_the_busiest_day() -> None:
    days = [dt.date(2026, 11, d) for d in range(1, 4)]
    chart = daily_chart(list(zip(days, [0, 5, 10], strict=True)), width=300, height=60)
    assert [b.height for b in chart.bars] == [0, 30, 60]
    assert [b.y for b in chart.bars] == [60, 30, 0]
    assert chart.maximum == 10 and chart.width == 72  # three bars of 24 at most
    year = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(400)]
    long = daily_chart([(d, 1) for d in year], width=300)
    assert all(b.x + b.width <= long.width + 1 for b in long.bars) and long.width == 400
    assert daily_chart([]).bars == []


def test_csv_cells_cannot_be_formulas() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "\r=x"):
        assert csv_cell(text).startswith("'")
    assert csv_cell("2026-11-23") == "2026-11-23" and csv_cell("12") == "12"


def test_csv_rows_a_header_then_one_row_a_day() -> None:
    days = [Day(dt.date(2026, 11, 1), {"lookups": 3}), Day(dt.date(2026, 11, 2), {})]
    rows = csv_rows(days)
    assert rows[0] == ["day", *MEASURES]
    assert rows[1][:2] == ["2026-11-01", "3"] and rows[2] == ["2026-11-02"] + ["0"] * len(MEASURES)


def test_the_events_kept_are_the_realms() -> None:
    realm = json.loads(REALM.read_text())
    assert realm["eventsExpiration"] == EVENTS_KEPT_DAYS * 86400
