"""`bridge retention`: run on demand by the data protection officer (never scheduled).
Lists the accounts expired for at least N years, as CSV, for the DPO's decision: the
identifier, the validity's end, the whole years since, and whether the account still holds
an INE, a rescue address, names, a student number; never the values. Changes nothing.

Provisioning always writes "valid until" as a 31 December, so, as `bridge expire` does,
one indexed attribute query per past year finds them (disabled accounts only: one still
enabled is the expiry job's to disable first).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable

from bridge.domain.retention import Holding, expired_for, holding
from bridge.gateway.keycloak import ProvisioningGateway

FIRST_YEAR = 2000

HEADER = (
    "identifier",
    "valid_until",
    "years_expired",
    "holds_ine",
    "holds_rescue_email",
    "holds_names",
    "holds_student_number",
    "anonymised",
)


async def expired_accounts(
    gateway: ProvisioningGateway, today: dt.date, years: int
) -> list[Holding]:
    """Oldest first, then by identifier."""
    await gateway.ensure_scoped()
    found: list[Holding] = []
    for year in range(FIRST_YEAR, today.year):
        last_day = dt.date(year, 12, 31)
        if not expired_for(last_day, today, years):
            continue
        accounts = await gateway.disabled_with_valid_until(last_day)
        found += sorted((holding(account, today) for account in accounts), key=lambda h: h.username)
    return found


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def as_csv(rows: Iterable[Holding]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            (
                row.username,
                row.valid_until.isoformat(),
                row.years_expired,
                _yes(row.holds_ine),
                _yes(row.holds_rescue_email),
                _yes(row.holds_names),
                _yes(row.holds_student_number),
                _yes(row.anonymised),
            )
        )
    return out.getvalue()
