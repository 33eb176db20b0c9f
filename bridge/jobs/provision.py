"""`bridge provision`: the SIS export into Keycloak, idempotently.

Reads every account once (one paged pass) into a compact index, streams the export row by
row, decides each row with bridge.domain.provisioning, creates new students in partial
imports of `batch_size` (one transaction each; a re-run after a crash finds the imported
ones by student number and creates nothing twice), and writes updates one account at a
time (they are few: names, emails, re-enrollments).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bridge.domain.accounts import Account, StudentRecord
from bridge.domain.activation_keys import generate_activation_key
from bridge.domain.errors import InvalidInput
from bridge.domain.identifiers import IdentifierAllocator
from bridge.domain.lifecycle import is_expired, valid_until
from bridge.domain.provisioning import Kind, plan
from bridge.domain.sis import RowRejected, record_from_fields
from bridge.gateway.keycloak import KeycloakGateway, representation_from_record
from bridge.jobs.activation_keys import HEADER as KEYS_HEADER
from bridge.jobs.activation_keys import open_export
from bridge.jobs.sis_reader import BadRow, Row, read_export


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    reenabled: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "re_enabled": self.reenabled,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "rejected_rows": [{"line": line, "reason": reason} for line, reason in self.rejected],
            "dry_run": self.dry_run,
        }


@dataclass
class Index:
    """What provisioning needs to know of the realm, keyed for the lookups it makes."""

    by_number: dict[str, Account] = field(default_factory=dict)
    by_ine: dict[str, Account] = field(default_factory=dict)
    usernames: IdentifierAllocator = field(default_factory=IdentifierAllocator)

    def add(self, account: Account) -> None:
        self.usernames.seen(account.username)
        if account.student_number:
            self.by_number[account.student_number] = account
        if account.ine:
            self.by_ine[account.ine] = account


async def load_index(gateway: KeycloakGateway) -> Index:
    index = Index()
    async for account in gateway.all_accounts():
        index.add(account)
    return index


Reporter = Callable[[str], None]
# A new student waiting for its batch: line, record, representation, activation key
Pending = tuple[int, StudentRecord, dict[str, Any], str | None]


@dataclass
class _Run:
    gateway: KeycloakGateway
    index: Index
    today: dt.date
    dry_run: bool
    batch_size: int
    report: Reporter
    keys: TextIO | None
    concurrency: int = 4
    summary: Summary = field(default_factory=Summary)
    batch: list[Pending] = field(default_factory=list)
    in_flight: list[asyncio.Task[None]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.summary.rejected.append((line, reason))
        self.report(f"rejected  line {line}: {reason}")

    async def flush(self) -> None:
        """Send the pending batch; keep at most `concurrency` imports in flight (measured:
        four concurrent imports create twice as many users a second as one)."""
        batch, self.batch = self.batch, []
        if batch and not self.dry_run:
            self.in_flight.append(asyncio.create_task(self._import(batch)))
        while len(self.in_flight) >= self.concurrency:
            await self.in_flight.pop(0)

    async def drain(self) -> None:
        await self.flush()
        while self.in_flight:
            await self.in_flight.pop(0)

    async def _import(
        self, batch: list[tuple[int, StudentRecord, dict[str, Any], str | None]]
    ) -> None:
        results = await self.gateway.import_students([rep for _, _, rep, _ in batch])
        for line, record, rep, key in batch:
            if results.get(rep["username"]) == "ADDED":
                self.summary.created += 1
                if self.keys is not None and key is not None:
                    # Written once Keycloak holds the key, so that every printed key works.
                    row = (rep["username"], record.first_name, record.last_name, key)
                    self.keys.write(";".join(row) + "\n")
                continue
            # Skipped: the identifier exists. Created by an earlier run that was killed
            # while this batch was in flight (same student): nothing to do. Else a clash.
            holder = await self.gateway.find_student(rep["username"])
            if holder is not None and holder.student_number == record.student_number:
                self.summary.unchanged += 1
            else:
                self.reject(line, f"identifier {rep['username']} was taken meanwhile")
        if self.keys is not None:
            self.keys.flush()

    async def row(self, line: int, record: StudentRecord) -> None:
        existing = self.index.by_number.get(record.student_number)
        if record.ine:
            owner = self.index.by_ine.get(record.ine)
            if existing is None:
                existing = owner  # the student number changed: the INE finds the account
            elif owner is not None and owner.id != existing.id:
                self.reject(line, f"INE {record.ine} belongs to another account ({owner.username})")
                return
        decision = plan(existing, record, self.today)
        if decision.kind is Kind.CREATE:
            await self.create(line, record)
            return
        assert existing is not None
        if decision.kind is Kind.UNCHANGED:
            self.summary.unchanged += 1
            return
        changes = ", ".join(
            f"{name}: {old!r} -> {new!r}" for name, (old, new) in decision.changes.items()
        )
        self.report(f"{decision.kind.value:<9} {existing.username}: {changes}")
        if not self.dry_run:
            await self.gateway.apply_changes(existing.id, decision.changes)
        if decision.kind is Kind.REENABLE:
            self.summary.reenabled += 1
        else:
            self.summary.updated += 1
        self.index.add(
            dataclasses.replace(
                existing, student_number=record.student_number, ine=record.ine or existing.ine
            )
        )

    async def create(self, line: int, record: StudentRecord) -> None:
        username = record.username
        if username:
            if self.index.usernames.is_taken(username):
                self.reject(line, f"identifier {username} is already another account's")
                return
            self.index.usernames.seen(username)
        else:
            try:
                username = self.index.usernames.allocate(record.first_name, record.last_name)
            except InvalidInput as error:
                self.reject(line, f"no identifier can be made from the name ({error.detail})")
                return
        record = dataclasses.replace(record, username=username)
        assert record.last_enrollment_year is not None
        expired = is_expired(valid_until(record.last_enrollment_year), self.today)
        rep = representation_from_record(record, enabled=not expired)
        rep["groups"] = ["/students"]
        key = None
        if self.keys is not None and not expired:
            key = generate_activation_key()
            rep["credentials"] = [{"type": "password", "value": key, "temporary": True}]
            rep["requiredActions"] = ["UPDATE_PASSWORD", "UPDATE_EMAIL"]
        self.index.add(
            Account(
                id="(new)",
                username=username,
                enabled=not expired,
                student_number=record.student_number,
                ine=record.ine,
            )
        )
        self.report(
            f"create    {username}: {record.first_name} {record.last_name} "
            f"({record.student_number})"
        )
        if self.dry_run:
            self.summary.created += 1
            return
        self.batch.append((line, record, rep, key))
        if len(self.batch) >= self.batch_size:
            await self.flush()


async def provision(
    gateway: KeycloakGateway,
    path: Path,
    *,
    today: dt.date,
    dry_run: bool = False,
    batch_size: int = 125,
    concurrency: int = 4,
    report: Reporter = lambda _: None,
    progress: Callable[[int], None] = lambda _: None,
    keys_out: Path | None = None,
    min_year: int = 2000,
) -> Summary:
    """Raises ExportError for a file that cannot be used at all (nothing written then),
    ServiceUnavailable when Keycloak fails midway (what was written is safe to re-run)."""
    rows = read_export(path)
    first = next(rows, None)  # ExportError now, before reading the realm or writing
    keys: TextIO | None = None
    if keys_out is not None and not dry_run:
        keys = os.fdopen(open_export(keys_out), "w", encoding="utf-8", newline="")
        keys.write(";".join(KEYS_HEADER) + "\n")
    try:
        run = _Run(
            gateway,
            await load_index(gateway),
            today,
            dry_run,
            batch_size,
            report,
            keys,
            concurrency,
        )
        run.summary.dry_run = dry_run
        seen_numbers: dict[str, int] = {}
        seen_ines: dict[str, int] = {}
        for item in _chain(first, rows):
            progress(item.offset)
            if isinstance(item, BadRow):
                run.reject(item.line, item.reason)
                continue
            try:
                record = record_from_fields(item.fields, min_year, today.year + 1)
            except RowRejected as error:
                run.reject(item.line, error.detail)
                continue
            if record.student_number in seen_numbers:
                run.reject(
                    item.line,
                    f"student number {record.student_number} already on "
                    f"line {seen_numbers[record.student_number]}",
                )
                continue
            seen_numbers[record.student_number] = item.line
            if record.ine and record.ine in seen_ines:
                run.reject(item.line, f"INE {record.ine} already on line {seen_ines[record.ine]}")
                continue
            if record.ine:
                seen_ines[record.ine] = item.line
            await run.row(item.line, record)
        await run.drain()
        return run.summary
    finally:
        if keys is not None:
            keys.close()


def _chain(first: Row | BadRow | None, rest: Iterator[Row | BadRow]) -> Iterator[Row | BadRow]:
    if first is not None:
        yield first
    yield from rest
