"""`bridge provision`: the SIS export into Keycloak, idempotently.

Streams the export row by row and decides each row with bridge.domain.provisioning against
what Keycloak holds, found in one of two ways:
- full: every account read once (one paged pass) into a compact index. The first run, a
  run without a state file, `--full`. Reading costs ~10 ms an account at 100k (measured).
- incremental: with a state file (bridge.jobs.provision_state) that knows the row as it
  was last applied, a row with the same fingerprint is done without asking Keycloak; the
  others are looked up one by one (student number, then INE).
New students go in partial imports of `batch_size` (one transaction each; a re-run after a
crash finds the imported ones by student number and creates nothing twice); updates are
written one account at a time (they are few: names, emails, re-enrollments). Both kinds of
write run `concurrency` at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from bridge.domain.accounts import Account, StudentRecord
from bridge.domain.activation_keys import generate_activation_key
from bridge.domain.errors import AccountNotFound, InvalidInput
from bridge.domain.identifiers import IdentifierAllocator, identifier_prefix, split_generated
from bridge.domain.ine import mask_ine
from bridge.domain.lifecycle import is_expired, valid_until
from bridge.domain.provisioning import Kind, plan
from bridge.domain.sis import RowRejected, fingerprint, record_from_fields
from bridge.gateway.keycloak import KeycloakGateway, representation_from_record
from bridge.jobs.activation_keys import HEADER as KEYS_HEADER
from bridge.jobs.activation_keys import open_export
from bridge.jobs.provision_state import ProvisionState
from bridge.jobs.sis_reader import BadRow, Row, read_export


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    reenabled: int = 0
    unchanged: int = 0
    # of the unchanged: rows the state file knew as applied, not asked of Keycloak
    unchanged_from_state: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = False
    mode: str = "full"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "re_enabled": self.reenabled,
            "unchanged": self.unchanged,
            "unchanged_from_state": self.unchanged_from_state,
            "rejected": len(self.rejected),
            "rejected_rows": [{"line": line, "reason": reason} for line, reason in self.rejected],
            "dry_run": self.dry_run,
            "mode": self.mode,
            "notes": self.notes,
        }


class IneClash(Exception):
    def __init__(self, owner: Account) -> None:
        self.owner = owner


def _match(by_number: Account | None, by_ine: Account | None) -> Account | None:
    """The student's account from the two lookups: by student number, else by INE (the
    number changed); IneClash when the INE is another account's."""
    if by_number is None:
        return by_ine
    if by_ine is not None and by_ine.id != by_number.id:
        raise IneClash(by_ine)
    return by_number


class Directory(Protocol):
    """Where a run finds the accounts and the identifiers already taken."""

    async def existing(self, record: StudentRecord) -> Account | None:
        """The account of this student (student number, else INE); IneClash when the INE
        is another account's."""

    async def claim(self, username: str) -> bool:
        """Take an identifier given by the SIS; False when it is already someone's."""

    async def allocate(self, first_name: str, last_name: str) -> str:
        """A never-used identifier (InvalidInput when the names give no prefix)."""

    def add(self, account: Account) -> None: ...


@dataclass
class Index:
    """Every account, read at the start (full mode), keyed for the lookups a run makes."""

    by_number: dict[str, Account] = field(default_factory=dict)
    by_ine: dict[str, Account] = field(default_factory=dict)
    usernames: IdentifierAllocator = field(default_factory=IdentifierAllocator)

    def add(self, account: Account) -> None:
        self.usernames.seen(account.username)
        if account.student_number:
            self.by_number[account.student_number] = account
        if account.ine:
            self.by_ine[account.ine] = account

    async def existing(self, record: StudentRecord) -> Account | None:
        owner = self.by_ine.get(record.ine) if record.ine else None
        return _match(self.by_number.get(record.student_number), owner)

    async def claim(self, username: str) -> bool:
        if self.usernames.is_taken(username):
            return False
        self.usernames.seen(username)
        return True

    async def allocate(self, first_name: str, last_name: str) -> str:
        return self.usernames.allocate(first_name, last_name)


async def load_index(gateway: KeycloakGateway, state: ProvisionState | None = None) -> Index:
    index = Index()
    async for account in gateway.all_accounts():
        index.add(account)
    for username in state.identifiers() if state else ():
        index.usernames.seen(username)
    return index


@dataclass
class Lookups:
    """Incremental mode: one query per row that changed. An identifier is free when no
    account has it (an exact, indexed lookup) and the state file never handed it out."""

    gateway: KeycloakGateway
    state: ProvisionState
    usernames: IdentifierAllocator = field(default_factory=IdentifierAllocator)
    prefixes: set[str] = field(default_factory=set)

    async def existing(self, record: StudentRecord) -> Account | None:
        known = await self._known(record)
        if known is not None:
            if record.ine and record.ine != known.ine:
                owner = await self.gateway.find_account_by_ine(record.ine)
                if owner is not None and owner.id != known.id:
                    raise IneClash(owner)
            return known
        # Not applied by this job before (or its account is gone): search Keycloak.
        existing = await self.gateway.find_by_student_number(record.student_number)
        owner = await self.gateway.find_account_by_ine(record.ine) if record.ine else None
        return _match(existing, owner)

    async def _known(self, record: StudentRecord) -> Account | None:
        """The account the state file knows for this student number (or, the number having
        changed, for this INE), read by id; None if unknown or no longer matching."""
        user_id = self.state.account_of(record.student_number)
        by_number = user_id is not None
        if user_id is None and record.ine:
            user_id = self.state.account_with_ine(record.ine)
        if user_id is None:
            return None
        try:
            account = await self.gateway.get_account(user_id)
        except AccountNotFound:
            return None
        if by_number and account.student_number == record.student_number:
            return account
        if not by_number and account.ine == record.ine:
            return account
        return None

    def _remember(self, prefix: str) -> None:
        if prefix not in self.prefixes:
            self.prefixes.add(prefix)
            for username in self.state.identifiers_with_prefix(prefix):
                self.usernames.seen(username)

    async def claim(self, username: str) -> bool:
        parts = split_generated(username)
        self._remember(parts[0] if parts else username)
        if self.usernames.is_taken(username):
            return False
        self.usernames.seen(username)
        return await self.gateway.find_by_username(username) is None

    async def allocate(self, first_name: str, last_name: str) -> str:
        self._remember(identifier_prefix(first_name, last_name))
        while True:
            # The allocator marks each candidate taken: a candidate found in Keycloak is
            # skipped and the next counter tried.
            candidate = self.usernames.allocate(first_name, last_name)
            if await self.gateway.find_by_username(candidate) is None:
                return candidate

    def add(self, account: Account) -> None:
        self.usernames.seen(account.username)


Reporter = Callable[[str], None]
# A new student waiting for its batch: line, the row's record (its identifier as the SIS
# gave it, maybe none: the state file fingerprints the row), representation, activation key
Pending = tuple[int, StudentRecord, dict[str, Any], str | None]


@dataclass
class _Run:
    gateway: KeycloakGateway
    directory: Directory
    state: ProvisionState | None
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

    def applied(self, record: StudentRecord, user_id: str, ine: str | None) -> None:
        """Keycloak holds this row now, in account `user_id`: the next run may skip it."""
        if self.state is not None and not self.dry_run:
            self.state.record(record.student_number, fingerprint(record), user_id, ine)

    async def spawn(self, write: Coroutine[Any, Any, None]) -> None:
        """Run a write in the background, at most `concurrency` at a time (measured: a few
        concurrent partial imports create more users a second than one)."""
        self.in_flight.append(asyncio.create_task(write))
        while len(self.in_flight) >= self.concurrency:
            await self.in_flight.pop(0)

    async def flush(self) -> None:
        batch, self.batch = self.batch, []
        if batch and not self.dry_run:
            await self.spawn(self._import(batch))

    async def drain(self) -> None:
        await self.flush()
        while self.in_flight:
            await self.in_flight.pop(0)

    async def _import(
        self, batch: list[tuple[int, StudentRecord, dict[str, Any], str | None]]
    ) -> None:
        results = await self.gateway.import_students([rep for _, _, rep, _ in batch])
        for line, record, rep, key in batch:
            action, user_id = results.get(rep["username"], ("", ""))
            if action == "ADDED":
                self.summary.created += 1
                self.applied(record, user_id, record.ine)
                if self.state is not None:
                    self.state.handed_out(rep["username"])
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
                self.applied(record, holder.id, holder.ine)
            else:
                self.reject(line, f"identifier {rep['username']} was taken meanwhile")
        if self.keys is not None:
            self.keys.flush()
        if self.state is not None:
            self.state.commit()

    async def _update(
        self, account_id: str, record: StudentRecord, ine: str | None, changes: Any
    ) -> None:
        await self.gateway.apply_changes(account_id, changes)
        self.applied(record, account_id, ine)

    async def row(self, line: int, record: StudentRecord) -> None:
        try:
            existing = await self.directory.existing(record)
        except IneClash as clash:
            owner = clash.owner.username
            self.reject(
                line, f"INE {mask_ine(record.ine or '')} belongs to another account ({owner})"
            )
            return
        decision = plan(existing, record, self.today)
        if decision.kind is Kind.CREATE:
            await self.create(line, record)
            return
        assert existing is not None
        if decision.kind is Kind.UNCHANGED:
            self.summary.unchanged += 1
            self.applied(record, existing.id, existing.ine)
            return
        changes = ", ".join(
            f"{name}: {old!r} -> {new!r}" for name, (old, new) in decision.changes.items()
        )
        self.report(f"{decision.kind.value:<9} {existing.username}: {changes}")
        if not self.dry_run:
            ine = record.ine or existing.ine
            await self.spawn(self._update(existing.id, record, ine, decision.changes))
        if decision.kind is Kind.REENABLE:
            self.summary.reenabled += 1
        else:
            self.summary.updated += 1
        self.directory.add(
            dataclasses.replace(
                existing, student_number=record.student_number, ine=record.ine or existing.ine
            )
        )

    async def create(self, line: int, record: StudentRecord) -> None:
        username = record.username
        if username:
            if not await self.directory.claim(username):
                self.reject(line, f"identifier {username} is already another account's")
                return
        else:
            try:
                username = await self.directory.allocate(record.first_name, record.last_name)
            except InvalidInput as error:
                self.reject(line, f"no identifier can be made from the name ({error.detail})")
                return
        assert record.last_enrollment_year is not None
        expired = is_expired(valid_until(record.last_enrollment_year), self.today)
        rep = representation_from_record(
            dataclasses.replace(record, username=username), enabled=not expired
        )
        rep["groups"] = ["/students"]
        key = None
        if self.keys is not None and not expired:
            key = generate_activation_key()
            rep["credentials"] = [{"type": "password", "value": key, "temporary": True}]
            rep["requiredActions"] = ["UPDATE_PASSWORD", "UPDATE_EMAIL"]
        self.directory.add(
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
    state: ProvisionState | None = None,
    full: bool = False,
) -> Summary:
    """Raises ExportError for a file that cannot be used at all (nothing written then),
    ServiceUnavailable when Keycloak fails midway (what was written is safe to re-run).
    With a `state`, rows applied by an earlier run are skipped unless `full`."""
    rows = read_export(path)
    first = next(rows, None)  # ExportError now, before reading the realm or writing
    keys: TextIO | None = None
    if keys_out is not None and not dry_run:
        keys = os.fdopen(open_export(keys_out), "w", encoding="utf-8", newline="")
        keys.write(";".join(KEYS_HEADER) + "\n")
    try:
        directory, notes = await _directory(gateway, state, full)
        run = _Run(
            gateway,
            directory,
            state,
            today,
            dry_run,
            batch_size,
            report,
            keys,
            concurrency,
        )
        run.summary.dry_run = dry_run
        run.summary.mode = "incremental" if isinstance(directory, Lookups) else "full"
        run.summary.notes = notes
        trusted = state if isinstance(directory, Lookups) else None
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
                run.reject(
                    item.line, f"INE {mask_ine(record.ine)} already on line {seen_ines[record.ine]}"
                )
                continue
            if record.ine:
                seen_ines[record.ine] = item.line
            if trusted is not None and trusted.fingerprint(record.student_number) == fingerprint(
                record
            ):
                run.summary.unchanged += 1
                run.summary.unchanged_from_state += 1
                continue
            await run.row(item.line, record)
        await run.drain()
        return run.summary
    finally:
        if keys is not None:
            keys.close()
        if state is not None:
            state.commit()


async def _directory(
    gateway: KeycloakGateway, state: ProvisionState | None, full: bool
) -> tuple[Directory, list[str]]:
    """Incremental when a state file knows earlier runs, else the full index."""
    if state is None or full:
        return await load_index(gateway, state), []
    applied = state.applied_count()
    if applied == 0:
        return await load_index(gateway, state), ["no earlier run in the state file: full run"]
    accounts = await gateway.count_accounts()
    if accounts < applied:
        # Keycloak holds fewer accounts than the file says were applied: a realm restored
        # from an older backup, or recreated. Trust nothing, check every row.
        state.forget()
        return await load_index(gateway, state), [
            f"the state file knows {applied} applied rows but the realm has {accounts} "
            "accounts: its fingerprints were dropped, full run"
        ]
    return Lookups(gateway, state), []


def _chain(first: Row | BadRow | None, rest: Iterator[Row | BadRow]) -> Iterator[Row | BadRow]:
    if first is not None:
        yield first
    yield from rest
