"""Per-account limits, decided from counters that live in Keycloak user attributes so
that every replica of the bridge sees the same numbers.

Counters are stored as "YYYY-MM-DD:n" (a count for one local day) and an ISO instant
for the last mail. A counter from another day counts as zero.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from bridge.domain.errors import DomainError


@dataclass(frozen=True)
class DailyCount:
    day: dt.date
    count: int

    @classmethod
    def parse(cls, raw: str | None) -> DailyCount | None:
        """None for a missing or unreadable value: a broken counter must not lock anyone out."""
        if not raw:
            return None
        day, sep, count = raw.partition(":")
        try:
            return cls(dt.date.fromisoformat(day), int(count)) if sep else None
        except ValueError:
            return None

    def __str__(self) -> str:
        return f"{self.day.isoformat()}:{self.count}"


def count_on(counter: DailyCount | None, today: dt.date) -> int:
    return counter.count if counter is not None and counter.day == today else 0


def incremented(counter: DailyCount | None, today: dt.date) -> DailyCount:
    return DailyCount(today, count_on(counter, today) + 1)


@dataclass(frozen=True)
class Limits:
    mails_per_day: int = 5
    resend_interval: dt.timedelta = dt.timedelta(seconds=60)
    ine_failures_per_day: int = 5


class LimitReached(DomainError):
    """code: mail.too_soon (retry_after seconds), mail.daily_limit, ine.locked."""

    code = "limit"

    def __init__(self, code: str, retry_after: int | None = None) -> None:
        super().__init__(code, code=code)
        self.retry_after = retry_after


def check_mail_allowed(
    limits: Limits,
    sent_today: DailyCount | None,
    last_sent: dt.datetime | None,
    now: dt.datetime,
    today: dt.date,
) -> None:
    if count_on(sent_today, today) >= limits.mails_per_day:
        raise LimitReached("mail.daily_limit")
    if last_sent is not None:
        wait = (last_sent + limits.resend_interval - now).total_seconds()
        if wait > 0:
            raise LimitReached("mail.too_soon", retry_after=math.ceil(wait))


def check_ine_allowed(limits: Limits, failures: DailyCount | None, today: dt.date) -> None:
    if count_on(failures, today) >= limits.ine_failures_per_day:
        raise LimitReached("ine.locked")
