"""Account validity: an account enrolled in year N stays valid until 31 December N+1."""

from __future__ import annotations

import datetime as dt


def valid_until(last_enrollment_year: int) -> dt.date:
    return dt.date(last_enrollment_year + 1, 12, 31)


def is_expired(valid_until_date: dt.date, today: dt.date) -> bool:
    """Valid through the whole of its last day (Europe/Paris): expired from the next day."""
    return today > valid_until_date
