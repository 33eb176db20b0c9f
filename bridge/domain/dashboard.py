"""The staff activation dashboard's rules (docs/dashboard.md): the period asked for, the
hourly buckets the bridge counts in, the measures read from them, the funnel, the charts'
geometry and the CSV's cells. Counts only: no identifier, address or INE ever reaches
here."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bridge.domain.deadlines import PARIS

MAX_DAYS = 400  # the longest period shown, and about what the hourly buckets keep
BUCKET_TTL_DAYS = 400

# The measures, in the order of the page's table and the CSV's columns. Their ids are the
# CSV's header: stable, never translated.
LOOKUPS = "lookups"
MAILS_SENT = "mails_sent"
LINKS_OPENED = "links_opened"
PASSWORDS_SET = "passwords_set"
FIRST_SIGN_INS = "first_sign_ins"
INE_FAILURES = "ine_failures"
LIMIT_REFUSALS = "limit_refusals"
LOST_PASSWORD_REQUESTS = "lost_password_requests"  # noqa: S105 (a measure's name)
LOCKED = "accounts_locked"
EXPIRED = "accounts_expired"
REENABLED = "accounts_reenabled"

FUNNEL = (LOOKUPS, MAILS_SENT, LINKS_OPENED, PASSWORDS_SET, FIRST_SIGN_INS)
OTHERS = (INE_FAILURES, LIMIT_REFUSALS, LOST_PASSWORD_REQUESTS, LOCKED, EXPIRED, REENABLED)
MEASURES = FUNNEL + OTHERS
# What Keycloak's events answer (the rest is the bridge's own counts).
FROM_EVENTS = frozenset({LINKS_OPENED, PASSWORDS_SET, FIRST_SIGN_INS, LOCKED})

# The bridge's activity fields (bridge/web/metrics.py writes them): <family>.<label>...
ACTIVATION_MAIL_KINDS = ("activation", "staff_activation")


def bridge_measures(fields: Mapping[str, int]) -> dict[str, int]:
    """The measures the bridge's own counts answer, from one bucket's fields (or a day's,
    summed). Unknown fields are ignored: an older or newer replica's words."""
    out = dict.fromkeys(MEASURES, 0)
    for name, count in fields.items():
        family, _, rest = name.partition(".")
        if family == "lookup":
            out[LOOKUPS] += count
        elif family == "mail":
            kind, _, outcome = rest.partition(".")
            if kind in ACTIVATION_MAIL_KINDS and outcome == "sent":
                out[MAILS_SENT] += count
        elif name == "lost_password.request":
            out[LOST_PASSWORD_REQUESTS] += count
        elif family == "ine":
            out[INE_FAILURES] += count
        elif family == "limit":
            out[LIMIT_REFUSALS] += count
        elif name == "job.expire.disabled":
            out[EXPIRED] += count
        elif name == "job.provision.reenabled":
            out[REENABLED] += count
    return {k: v for k, v in out.items() if k not in FROM_EVENTS}


# --- periods ---------------------------------------------------------------------------


class InvalidPeriod(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


PRESETS = ("today", "7d", "30d", "rentree")


@dataclass(frozen=True)
class Period:
    """Paris days, both ends included."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> list[dt.date]:
        count = (self.last - self.first).days + 1
        return [self.first + dt.timedelta(days=i) for i in range(count)]

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) in UTC: the first day's Paris midnight to the one after the last."""
        return day_start(self.first), day_start(self.last + dt.timedelta(days=1))


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), PARIS).astimezone(dt.UTC)


def paris_day(at: dt.datetime) -> dt.date:
    return at.astimezone(PARIS).date()


def rentree_start(today: dt.date) -> dt.date:
    """The academic year starts on 1 September."""
    year = today.year if today.month >= 9 else today.year - 1
    return dt.date(year, 9, 1)


def preset_period(preset: str, today: dt.date) -> Period:
    if preset == "today":
        return Period(today, today)
    if preset == "7d":
        return Period(today - dt.timedelta(days=6), today)
    if preset == "30d":
        return Period(today - dt.timedelta(days=29), today)
    if preset == "rentree":
        return Period(rentree_start(today), today)
    raise InvalidPeriod("period.preset")


def _date(text: str) -> dt.date:
    # fromisoformat alone takes "20260101" and week dates too: one written form only.
    digits = text.replace("-", "")
    if (
        len(text) != 10
        or text[4] != "-"
        or text[7] != "-"
        or not digits.isascii()
        or not digits.isdigit()
    ):
        raise InvalidPeriod("period.format")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidPeriod("period.format") from None


def parse_period(first: str | None, last: str | None, preset: str | None, today: dt.date) -> Period:
    """From the form's fields: a preset, or both dates (YYYY-MM-DD); neither is the last
    7 days. InvalidPeriod's code says what is wrong."""
    first, last = (first or "").strip(), (last or "").strip()
    if not first and not last:
        return preset_period(preset or "7d", today)
    if not first or not last:
        raise InvalidPeriod("period.missing")
    period = Period(_date(first), _date(last))
    if period.last < period.first:
        raise InvalidPeriod("period.order")
    if period.last > today:
        raise InvalidPeriod("period.future")
    if (period.last - period.first).days + 1 > MAX_DAYS:
        raise InvalidPeriod("period.too_long")
    return period


# --- the bridge's hourly buckets -------------------------------------------------------


def hour_key(at: dt.datetime) -> str:
    """The bucket of an instant: its UTC hour. Paris is a whole number of hours off UTC,
    so a Paris day is a whole number of buckets (23, 24 or 25)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H")


def day_hours(day: dt.date) -> list[str]:
    start, end = day_start(day), day_start(day + dt.timedelta(days=1))
    hours = int((end - start).total_seconds() // 3600)
    return [hour_key(start + dt.timedelta(hours=h)) for h in range(hours)]


# --- what the page shows ---------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: dt.date
    counts: Mapping[str, int]


@dataclass(frozen=True)
class FunnelStep:
    measure: str
    count: int
    percent: int | None  # of the first step; None when the first step is 0


def totals(days: Iterable[Day]) -> dict[str, int]:
    out = dict.fromkeys(MEASURES, 0)
    for day in days:
        for measure in MEASURES:
            out[measure] += day.counts.get(measure, 0)
    return out


def funnel(total: Mapping[str, int]) -> list[FunnelStep]:
    first = total.get(FUNNEL[0], 0)
    return [
        FunnelStep(m, total.get(m, 0), round(100 * total.get(m, 0) / first) if first else None)
        for m in FUNNEL
    ]


# --- chart geometry (inline SVG drawn by the template) --------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: Sequence[Bar] = field(default_factory=tuple)
    maximum: int = 0


FUNNEL_LABEL = 18  # units above each bar for its step's name (the template writes it)


def funnel_chart(steps: Sequence[FunnelStep], width: int = 400, row: int = 46) -> Chart:
    """Horizontal bars, one a row under its step's name, the widest the first step; the
    number is written after the bar (60 units kept for it). Names above the bars, not
    beside them: the chart keeps the whole width on a phone."""
    room = width - 60
    top = max((s.count for s in steps), default=0)
    bars = [
        Bar(
            x=0,
            y=i * row + FUNNEL_LABEL + 2,
            width=round(room * s.count / top, 1) if top else 0.0,
            height=row - FUNNEL_LABEL - 8,
            value=s.count,
            label=s.measure,
        )
        for i, s in enumerate(steps)
    ]
    return Chart(width, row * len(steps), bars, top)


def daily_chart(values: Sequence[tuple[dt.date, int]], width: int = 300, height: int = 60) -> Chart:
    """Vertical bars, one a day, scaled to the period's busiest day; a day of 0 has none.
    Bars never narrower than 1 unit nor wider than 24 (a few days stay readable)."""
    count = max(len(values), 1)
    step = min(max(width / count, 1.0), 24.0)
    top = max((v for _, v in values), default=0)
    bars = []
    for i, (day, value) in enumerate(values):
        tall = round(height * value / top, 1) if top else 0.0
        bars.append(
            Bar(
                x=round(i * step, 2),
                y=round(height - tall, 1),
                width=round(max(step - 1, 0.5), 2),
                height=tall,
                value=value,
                label=day.isoformat(),
            )
        )
    # Past `width` days, bars of 1 make the chart wider: the page scales it down.
    return Chart(math.ceil(step * count), height, bars, top)


# --- the CSV export --------------------------------------------------------------------


def csv_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP's CSV injection): a leading
    =, +, -, @, tab or carriage return gets a quote in front."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def csv_rows(days: Sequence[Day]) -> list[list[str]]:
    """A header of the measures' ids, then one row a day (ISO dates), then nothing else."""
    rows = [["day", *MEASURES]]
    for day in days:
        rows.append([day.day.isoformat(), *(str(int(day.counts.get(m, 0))) for m in MEASURES)])
    return [[csv_cell(cell) for cell in row] for row in rows]
