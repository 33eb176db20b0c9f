"""The limits' numbers (SPEC "Rules for every page and endpoint"). The counting itself is
shared by every replica and lives in a counter store (bridge.flows.counters, .limits);
Keycloak keeps no counter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    # Per account
    mails_per_day: int = 5
    resend_interval: dt.timedelta = dt.timedelta(seconds=60)
    ine_failures_per_day: int = 5
    # The realm's whole mail budget: what one university's relay and reputation can take.
    mails_per_minute: int = 600
