"""Apply a SIS row: decide it against what Keycloak holds (bridge.domain.provisioning) and
write the difference. New students are created one `POST /users` each (its own
transaction: a re-run after a crash finds the created ones by student number and creates
nothing twice), `concurrency` creations in flight, gathered in batches of `batch_size`
(the state file records a batch once Keycloak confirmed it); updates are written one
account at a time (they are few: names, emails, re-enrollments), `concurrency` in flight
too (docs/lifecycle.md: measured)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TextIO

from bridge.domain.accounts import Account, StudentRecord
from bridge.domain.errors import Conflict, InvalidInput, NotAllowed
from bridge.domain.ine import mask_ine
from bridge.domain.lifecycle import is_expired, valid_until
from bridge.domain.provisioning import Kind, Plan, Refusal, depends_on_activation, plan
from bridge.domain.sis import fingerprint
from bridge.domain.supann import principal_name
from bridge.flows.activation_keys import KEY_ACTIONS, new_activation_key
from bridge.flows.directory import NEW, AppliedRows, Directory, IneClash
from bridge.gateway.keycloak import NewAccount, ProvisioningGateway


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


Reporter = Callable[[str], None]
# A new student waiting for its batch: line, the row's record (its identifier as the SIS
# gave it, maybe none: the state file fingerprints the row), the account to create
Pending = tuple[int, StudentRecord, NewAccount]


@dataclass
class Run:
    gateway: ProvisioningGateway
    directory: Directory
    state: AppliedRows | None
    today: dt.date
    dry_run: bool
    batch_size: int
    report: Reporter
    keys: TextIO | None
    concurrency: int = 4
    # The university's domain: eduPersonPrincipalName is identifier@it (None: not written).
    principal_scope: str | None = None
    summary: Summary = field(default_factory=Summary)
    batch: list[Pending] = field(default_factory=list)
    in_flight: list[asyncio.Task[None]] = field(default_factory=list)
    # The creations in flight, all batches together.
    slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.concurrency)

    def reject(self, line: int, reason: str) -> None:
        self.summary.rejected.append((line, reason))
        self.report(f"rejected  line {line}: {reason}")

    def applied(self, record: StudentRecord, user_id: str, ine: str | None) -> None:
        """Keycloak holds this row now, in account `user_id`: the next run may skip it."""
        if self.state is not None and not self.dry_run:
            self.state.record(record.student_number, fingerprint(record), user_id, ine)

    def scoped(self, record: StudentRecord, username: str) -> StudentRecord:
        """The row with the principal name of the account's identifier (the fingerprint
        leaves it out: it follows from the identifier)."""
        if not self.principal_scope:
            return record
        return dataclasses.replace(
            record, principal_name=principal_name(username, self.principal_scope)
        )

    async def spawn(self, write: Coroutine[Any, Any, None]) -> None:
        """Run a write in the background, at most `concurrency` at a time (measured: docs/
        lifecycle.md)."""
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

    async def _import(self, batch: list[Pending]) -> None:
        results = await self.gateway.import_students([new for _, _, new in batch], self.slots)
        again: list[Pending] = []
        for line, record, new in batch:
            username = new.record.username
            result = results.get(username)
            if result is not None and result.created and result.user_id is not None:
                self.summary.created += 1
                self.applied(record, result.user_id, record.ine)
                if self.state is not None:
                    self.state.handed_out(username)
                if self.keys is not None and new.key is not None:
                    # Written once Keycloak holds the key, so that every printed key works.
                    row = (username, record.first_name, record.last_name, new.key)
                    self.keys.write(";".join(row) + "\n")
                continue
            if result is not None and result.refused:
                self.reject(line, f"Keycloak refused the account ({result.refused})")
                continue
            # Not created: the identifier exists. Created by an earlier run that was killed
            # while this batch was in flight (same student): nothing to do. Else a clash:
            # never merged into the holder's account (a staff member's, say, whom this
            # credential does not even see).
            holder = await self.gateway.identifier_holder(username)
            if (
                holder is not None
                and holder.in_students
                and holder.student_number == record.student_number
            ):
                self.summary.unchanged += 1
                self.applied(record, holder.id, holder.ine)
            elif record.username:
                self.reject(line, f"identifier {username} is already another account's")
            else:
                # A generated identifier the index could not know (it holds students only,
                # or the account came meanwhile): the next one, in another import.
                self.directory.taken(username)
                again.append(await self._renamed(line, record, new))
        if again:
            await self._import(again)
        if self.keys is not None:
            self.keys.flush()
        if self.state is not None:
            self.state.commit()

    async def _renamed(self, line: int, record: StudentRecord, new: NewAccount) -> Pending:
        taken = new.record.username
        username = await self.directory.allocate(record.first_name, record.last_name)
        self.report(f"create    {username}: identifier {taken} is another account's, line {line}")
        return (
            line,
            record,
            dataclasses.replace(new, record=dataclasses.replace(new.record, username=username)),
        )

    async def _update(
        self, line: int, account: Account, record: StudentRecord, decision: Plan
    ) -> None:
        account_id = account.id
        try:
            moved = await self.gateway.apply_changes(account_id, decision.changes)
        except NotAllowed:
            # Listed as a student, refused by id: also in `staff` (docs/lifecycle.md).
            if decision.kind is Kind.REENABLE:
                self.summary.reenabled -= 1
            else:
                self.summary.updated -= 1
            self.reject(line, _out_of_reach(account))
            return
        if moved:
            # Written by someone else since this run read the account: left as it is now,
            # and the row not recorded as applied, so the next run plans from what is there.
            self.report(
                f"kept      {record.username or account_id}: {', '.join(moved)} changed meanwhile"
            )
            return
        self.applied(record, account_id, record.ine or account.ine)

    async def row(self, line: int, record: StudentRecord) -> None:
        try:
            existing = await self.directory.existing(record)
        except IneClash as clash:
            owner = clash.owner.username
            self.reject(
                line, f"INE {mask_ine(record.ine or '')} belongs to another account ({owner})"
            )
            return
        except Conflict as error:
            self.reject(line, f"{error.detail}: for the registrar to review")
            return
        if existing is not None and existing.id != NEW and depends_on_activation(existing, record):
            # Whether the student has a password of their own: read only when it decides.
            try:
                has_password = await self.gateway.has_password(existing.id)
            except NotAllowed:
                self.reject(line, _out_of_reach(existing))
                return
            existing = dataclasses.replace(existing, has_password=has_password)
        if existing is not None:
            record = self.scoped(record, existing.username)
        decision = plan(existing, record, self.today)
        if decision.kind is Kind.REJECT:
            assert existing is not None and decision.refusal is not None
            self.reject(line, _refusal(decision.refusal, existing, record))
            return
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
            await self.spawn(self._update(line, existing, record, decision))
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
        named = dataclasses.replace(record, username=username)
        new = NewAccount(self.scoped(named, username), enabled=not expired)
        if self.keys is not None and not expired:
            new = dataclasses.replace(new, key=new_activation_key(), key_actions=KEY_ACTIONS)
        self.directory.add(
            Account(
                id=NEW,
                username=username,
                enabled=not expired,
                student_number=record.student_number,
                ine=record.ine,
                in_students=True,
            )
        )
        self.report(
            f"create    {username}: {record.first_name} {record.last_name} "
            f"({record.student_number})"
        )
        if self.dry_run:
            self.summary.created += 1
            return
        self.batch.append((line, record, new))
        if len(self.batch) >= self.batch_size:
            await self.flush()


def _out_of_reach(account: Account) -> str:
    """An account that is not provisioning's: outside `students` (a directory should never
    hand one over), or a member Keycloak refuses to the jobs (also in `staff`)."""
    return (
        f"account {account.username} is not a student provisioning may write (outside "
        "students, or also in staff): left alone"
    )


def _refusal(refusal: Refusal, account: Account, record: StudentRecord) -> str:
    """The registrar's reason, in the report's words (English, no full INE)."""
    if refusal is Refusal.NOT_A_STUDENT:
        return _out_of_reach(account)
    keys = []
    if record.student_number != account.student_number:
        keys.append(f"student number {account.student_number} -> {record.student_number}")
    if account.ine and record.ine and record.ine != account.ine:
        keys.append(f"INE {mask_ine(account.ine)} -> {mask_ine(record.ine)}")
    return (
        f"would re-key the activated account {account.username} ({', '.join(keys)}): "
        "for the registrar to review"
    )
