"""Day-bounded links: valid until 23:59:59 the same day, Europe/Paris."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def end_of_day(now: dt.datetime, tz: dt.tzinfo = PARIS) -> dt.datetime:
    """23:59:59 of the local day that `now` (timezone-aware) falls in."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(tz)
    return dt.datetime.combine(local.date(), dt.time(23, 59, 59), tzinfo=tz)


def seconds_until_end_of_day(now: dt.datetime, tz: dt.tzinfo = PARIS) -> int:
    """Whole seconds left until 23:59:59 local time; 0 when it has passed.

    Computed on absolute instants, so the 23-hour and 25-hour days of the daylight-saving
    changes come out right. Rounded down: a link never outlives the deadline.
    """
    # Subtract in UTC: two datetimes sharing one tzinfo subtract as wall-clock times,
    # which would be an hour off on daylight-saving days.
    utc = dt.UTC
    remaining = (end_of_day(now, tz).astimezone(utc) - now.astimezone(utc)).total_seconds()
    return max(0, math.floor(remaining))
