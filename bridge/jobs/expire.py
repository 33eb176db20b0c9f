"""`bridge expire`: run daily; disables every account whose "valid until" has passed and
ends its sessions. Deletes nothing.

Provisioning always writes "valid until" as a 31 December (N+1), so the accounts to expire
are the enabled ones whose value is one of the past 31 Decembers: one indexed attribute
query per past year, whose cost follows the number of matches, not the realm's size.
Idempotent, and safe when two copies run at once: each account is re-read before it is
disabled, and disabling twice changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.domain.accounts import Account
from bridge.domain.errors import Conflict, NotAllowed
from bridge.domain.lifecycle import is_expired
from bridge.gateway.keycloak import ProvisioningGateway

FIRST_YEAR = 2000


@dataclass
class ExpirySummary:
    disabled: int = 0
    already_disabled: int = 0
    out_of_reach: int = 0  # members of students also in staff: Keycloak refuses them the job
    dry_run: bool = False
    usernames: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "disabled": self.disabled,
            "already_disabled": self.already_disabled,
            "out_of_reach": self.out_of_reach,
            "dry_run": self.dry_run,
        }


async def expire(
    gateway: ProvisioningGateway,
    today: dt.date,
    *,
    dry_run: bool = False,
    report: Callable[[str], None] = lambda _: None,
    concurrency: int = 4,
) -> ExpirySummary:
    """Disables `concurrency` accounts at a time (each: read, write, end sessions)."""
    await gateway.ensure_scoped()  # its searches list students only: Keycloak's doing
    summary = ExpirySummary(dry_run=dry_run)
    slots = asyncio.Semaphore(concurrency)

    async def disable(account: Account) -> bool | None:
        async with slots:
            try:
                return dry_run or await gateway.disable_expired(account)
            except Conflict:
                # Concurrent writes kept turning it back on: the next run disables it.
                report(f"retry     {account.username}: re-enabled meanwhile, left for the next run")
                return False
            except NotAllowed:
                # Listed (a member of students) but refused: also in staff, not the job's.
                report(f"skipped   {account.username}: out of provisioning's reach (staff?)")
                summary.out_of_reach += 1
                return None

    for year in range(FIRST_YEAR, today.year + 1):
        last_day = dt.date(year, 12, 31)
        if not is_expired(last_day, today):
            continue
        accounts = await gateway.enabled_with_valid_until(last_day)
        for account in accounts:
            report(f"expire    {account.username} (valid until {last_day.isoformat()})")
            summary.usernames.append(account.username)
        for done in await asyncio.gather(*(disable(account) for account in accounts)):
            if done:
                summary.disabled += 1
            elif done is False:
                summary.already_disabled += 1
    return summary
