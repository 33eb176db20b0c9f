"""`bridge expire`: run daily; disables every account whose "valid until" has passed and
ends its sessions. Deletes nothing.

Provisioning always writes "valid until" as a 31 December (N+1), so the accounts to expire
are the enabled ones whose value is one of the past 31 Decembers: one attribute query per
past year. Each account then costs two calls, a PUT of `enabled` alone and the logout
(ProvisioningGateway.disable_expired: measured, docs/lifecycle.md). Idempotent, and safe
when two copies run at once: disabling twice changes nothing.

The check pass: a write lost to a concurrent write of another field (Keycloak writes the
whole row, docs/security.md) leaves an account enabled, so the past years that had
accounts to disable are listed again after the writes (each listing is an attribute scan:
the years with none are not asked twice), and what is still enabled is disabled again (up
to CHECK_PASSES times; then reported, and the next run takes it). A re-enrollment that
provisioning wrote between the listing and the disabling must not be undone: the accounts
this run disabled that are now valid (a 31 December to come) are found by listing the
disabled ones of those years, and enabled again.
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
# Measured on 2 cores (docs/lifecycle.md, `bridge expire`).
CONCURRENCY = 8
# Listings after the writes that find nothing enabled any more, at most.
CHECK_PASSES = 3
# The 31 Decembers to come that provisioning writes (N+1, N at most next year).
YEARS_AHEAD = 2


@dataclass
class ExpirySummary:
    disabled: int = 0
    # Disabled by another run first: no longer counted since the job stopped reading each
    # account before its write (kept for the reports' shape).
    already_disabled: int = 0
    out_of_reach: int = 0  # members of students also in staff: Keycloak refuses them the job
    dry_run: bool = False
    usernames: list[str] = field(default_factory=list)
    # Disabled again after a lost write, re-enabled after a re-enrollment meanwhile, left
    # enabled for the next run.
    disabled_again: int = 0
    reenabled: int = 0
    left: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "disabled": self.disabled,
            "already_disabled": self.already_disabled,
            "out_of_reach": self.out_of_reach,
            "dry_run": self.dry_run,
            "disabled_again": self.disabled_again,
            "reenabled": self.reenabled,
            "left": self.left,
        }


async def expire(
    gateway: ProvisioningGateway,
    today: dt.date,
    *,
    dry_run: bool = False,
    report: Callable[[str], None] = lambda _: None,
    concurrency: int = CONCURRENCY,
) -> ExpirySummary:
    """Disables `concurrency` accounts at a time (each: write, end sessions), then checks."""
    await gateway.ensure_scoped()  # its searches list students only: Keycloak's doing
    summary = ExpirySummary(dry_run=dry_run)
    slots = asyncio.Semaphore(concurrency)
    refused: set[str] = set()
    disabled: set[str] = set()

    async def disable(account: Account) -> bool:
        async with slots:
            try:
                await gateway.disable_expired(account)
            except NotAllowed:
                # Listed (a member of students) but refused: also in staff, not the job's.
                report(f"skipped   {account.username}: out of provisioning's reach (staff?)")
                refused.add(account.id)
                return False
            except Conflict:
                # Its repair kept being undone: the check pass lists it again.
                return False
            disabled.add(account.id)
            return True

    past = [
        dt.date(year, 12, 31)
        for year in range(FIRST_YEAR, today.year + 1)
        if is_expired(dt.date(year, 12, 31), today)
    ]
    written_days: list[dt.date] = []
    for last_day in past:
        accounts = await gateway.enabled_with_valid_until(last_day)
        if accounts:
            written_days.append(last_day)
        for account in accounts:
            report(f"expire    {account.username} (valid until {last_day.isoformat()})")
            summary.usernames.append(account.username)
        if not dry_run:
            written = await asyncio.gather(*(disable(account) for account in accounts))
            summary.disabled += sum(written)
    if dry_run:
        return summary
    summary.out_of_reach = len(refused)
    for attempt in range(CHECK_PASSES + 1):
        still = [
            account
            for last_day in written_days
            for account in await gateway.enabled_with_valid_until(last_day)
            if account.id not in refused
        ]
        if not still:
            break
        if attempt == CHECK_PASSES:
            for account in still:
                # Concurrent writes kept turning it back on: the next run disables it.
                report(f"retry     {account.username}: re-enabled meanwhile, left for the next run")
            summary.left = len(still)
            break
        new = {account.id for account in still} - disabled
        for account in still:
            if account.id in new:
                report(f"expire    {account.username} (listed after the writes)")
                summary.usernames.append(account.username)
        again = await asyncio.gather(*(disable(account) for account in still))
        for account, done in zip(still, again, strict=True):
            if done and account.id in new:
                summary.disabled += 1
            elif done:
                summary.disabled_again += 1
    if disabled:
        summary.reenabled = await _reenrolled_meanwhile(gateway, today, disabled, report)
    return summary


async def _reenrolled_meanwhile(
    gateway: ProvisioningGateway,
    today: dt.date,
    disabled: set[str],
    report: Callable[[str], None],
) -> int:
    """Enable again what this run disabled after provisioning re-enrolled it."""
    reenabled = 0
    for year in range(today.year, today.year + YEARS_AHEAD + 1):
        last_day = dt.date(year, 12, 31)
        if is_expired(last_day, today):
            continue
        for account in await gateway.disabled_with_valid_until(last_day, brief=True):
            if account.id not in disabled:
                continue  # a suspension by staff, not this run's doing
            try:
                if await gateway.reenable_if_still_valid(account.id, today):
                    report(f"kept      {account.username}: re-enrolled meanwhile, enabled")
                    reenabled += 1
            except Conflict:
                report(f"retry     {account.username}: re-enrolled meanwhile, still disabled")
    return reenabled
