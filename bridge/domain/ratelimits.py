"""The limits' numbers (SPEC "Rules for every page and endpoint"; docs/security.md, "No
lockout by a stranger"). The counting itself is shared by every replica and lives in a
counter store (bridge.flows.counters, .limits); Keycloak keeps no counter.

Identifiers are printed on student cards, so anyone can ask for an account's mail or try
its INE. Each account therefore has a small allowance per requesting network (what a
stranger can use up is theirs, not the student's), a larger ceiling per account that
protects the rescue mailbox, and an interval between two tries on the account that doubles
instead of a day-long lock: a stranger with many networks can delay the student by at most
`backoff_cap`, never lock them out for the day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    # Action mails (activation, lost password, their notices), per account, today:
    # from one network of requesters,
    mails_per_network: int = 3
    # from every network together (the rescue mailbox's protection),
    mails_per_day: int = 10
    # at least this long apart, the interval doubling from the third mail of the day.
    resend_interval: dt.timedelta = dt.timedelta(seconds=60)
    # Wrong INEs (activation step 4), per account, today: from one network of requesters;
    # past as many on the account from every network, each try waits `ine_backoff`,
    # doubling at each failure.
    ine_failures_per_network: int = 5
    ine_backoff: dt.timedelta = dt.timedelta(seconds=30)
    # No interval grows past this one: the longest a stranger can make a student wait.
    backoff_cap: dt.timedelta = dt.timedelta(hours=1)
    # Lost password: lookups of one typed identifier or INE an hour (unknown ones too: each
    # costs admin calls), before any account is read.
    lookups_per_hour: int = 10
    # The realm's whole mail budget: what one university's relay and reputation can take.
    mails_per_minute: int = 600

    def mail_interval(self, sent_today: int) -> int:
        """Seconds between the account's last mail and the next, `sent_today` sent so far."""
        base = self.resend_interval.total_seconds()
        return self._capped(base, sent_today - 2)

    def ine_interval(self, failures_today: int) -> int:
        """Seconds between two INE tries on the account; 0 while the failures so far are
        within one network's allowance."""
        if failures_today < self.ine_failures_per_network:
            return 0
        base = self.ine_backoff.total_seconds()
        return self._capped(base, failures_today - self.ine_failures_per_network)

    def _capped(self, base: float, doublings: int) -> int:
        # 2**62 seconds is past any cap; a bigger exponent would only overflow the float.
        seconds = base * 2 ** min(62, max(0, doublings))
        return int(min(seconds, self.backoff_cap.total_seconds()))
