"""The staff dashboard's period, assembled (docs/dashboard.md): the bridge's own counts
from the shared hourly buckets, Keycloak's from its events, per Paris day. Nothing but
counts comes out: the events' user ids stay in the gateway's call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from bridge.domain.dashboard import (
    FROM_EVENTS,
    MEASURES,
    Day,
    FunnelStep,
    Period,
    bridge_measures,
    day_hours,
    funnel,
    totals,
)
from bridge.gateway.keycloak.audit import EventCounts

# How long Keycloak keeps its events: realm/um-realm.json's eventsExpiration (90 days,
# tests/unit/test_dashboard_rules.py checks the two agree).
EVENTS_KEPT_DAYS = 90


class ActivityStore(Protocol):
    async def flush(self) -> None: ...

    async def read(self, hours: list[str]) -> dict[str, dict[str, int]]: ...


class EventReader(Protocol):
    async def dashboard_counts(
        self, start: dt.datetime, end: dt.datetime, *, skip_clients: frozenset[str]
    ) -> EventCounts: ...


@dataclass(frozen=True)
class Dashboard:
    period: Period
    days: list[Day]
    total: dict[str, int]
    funnel: list[FunnelStep]
    bridge_counted: bool  # False without the shared store: the bridge's columns are empty
    events_partial: bool  # a cap was reached reading Keycloak's events
    events_since: dt.date  # the first day Keycloak's events still cover


async def assemble(
    period: Period,
    activity: ActivityStore | None,
    events: EventReader,
    *,
    today: dt.date,
    skip_clients: frozenset[str],
) -> Dashboard:
    """ServiceUnavailable when Redis or Keycloak cannot answer."""
    per_day: dict[dt.date, dict[str, int]] = {
        day: dict.fromkeys(MEASURES, 0) for day in period.days
    }
    if activity is not None:
        await activity.flush()  # this replica's latest counts, in before they are read
        hours = {day: day_hours(day) for day in period.days}
        buckets = await activity.read([h for day in period.days for h in hours[day]])
        for day in period.days:
            fields: dict[str, int] = {}
            for hour in hours[day]:
                for name, count in buckets.get(hour, {}).items():
                    fields[name] = fields.get(name, 0) + count
            per_day[day].update(bridge_measures(fields))
    start, end = period.bounds()
    counted = await events.dashboard_counts(start, end, skip_clients=skip_clients)
    for day, counts in counted.days.items():
        if day in per_day:
            for measure, count in counts.items():
                if measure in FROM_EVENTS:
                    per_day[day][measure] += count
    days = [Day(day, per_day[day]) for day in period.days]
    total = totals(days)
    return Dashboard(
        period=period,
        days=days,
        total=total,
        funnel=funnel(total),
        bridge_counted=activity is not None,
        events_partial=counted.partial,
        events_since=today - dt.timedelta(days=EVENTS_KEPT_DAYS - 1),
    )
