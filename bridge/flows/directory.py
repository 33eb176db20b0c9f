"""Where a provisioning run finds the accounts and the identifiers already taken, in one of
two ways:
- `Index`, full: every member of `students` read once (one paged pass, as Keycloak lists
  them to the provisioning client) into a compact index. The first run, a run without a
  state file, `--full`, and an incremental run whose searches grew costlier than this
  (bridge.jobs.provision). Reading costs 0.5 to 1.75 ms a student (docs/lifecycle.md).
- `Lookups`, incremental: with the state of earlier runs, one query per row that changed
  (student number, then INE), and one read by id per account found (Keycloak answers it
  for students only).

Either way a run matches members of `students` only: an account outside the group (staff,
a service account, an account an administrator took out of it) is never found, so never
written, whatever its attributes hold: Keycloak lists and reads the provisioning client
nothing else (bridge.gateway.keycloak.provisioning). Identifiers are realm-wide: a username
that exists is taken, whoever holds it. Either way the run hands out an identifier it does
not know as taken, and Keycloak refuses to create one that exists (409, even when the
holder is out of this credential's sight, a staff member say): the run takes the next one
(bridge.flows.provisioning).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from bridge.domain.accounts import Account, StudentRecord
from bridge.domain.identifiers import IdentifierAllocator, identifier_prefix, split_generated
from bridge.gateway.keycloak import ProvisioningGateway


class AppliedRows(Protocol):
    """What earlier runs applied (bridge.jobs.provision_state keeps it in a file)."""

    def account_of(self, student_number: str) -> str | None: ...

    def account_with_ine(self, ine: str) -> str | None: ...

    def identifiers(self) -> list[str]: ...

    def identifiers_with_prefix(self, prefix: str) -> list[str]: ...

    def record(
        self, student_number: str, fingerprint: str, user_id: str, ine: str | None
    ) -> None: ...

    def handed_out(self, username: str) -> None: ...

    def commit(self) -> None: ...


# The id of an account this run is creating (its batch has not been imported yet).
NEW = "(new)"


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

    def add(self, account: Account) -> None:
        """A student's account as it is now (created, or updated by this run)."""

    def taken(self, username: str) -> None:
        """This identifier turned out to be someone's: never hand it out."""


@dataclass
class Index:
    """Every member of `students`, read at the start (full mode), keyed for the lookups a
    run makes."""

    by_number: dict[str, Account] = field(default_factory=dict)
    by_ine: dict[str, Account] = field(default_factory=dict)
    by_id: dict[str, Account] = field(default_factory=dict)
    usernames: IdentifierAllocator = field(default_factory=IdentifierAllocator)

    def add(self, account: Account) -> None:
        self.usernames.seen(account.username)
        # The keys an account had before this run changed them point to it no more.
        before = self.by_id.get(account.id)
        if before is not None and account.id != NEW:
            if before.student_number and self.by_number.get(before.student_number) is before:
                del self.by_number[before.student_number]
            if before.ine and self.by_ine.get(before.ine) is before:
                del self.by_ine[before.ine]
        if account.id != NEW:
            self.by_id[account.id] = account
        if account.student_number:
            self.by_number[account.student_number] = account
        if account.ine:
            self.by_ine[account.ine] = account

    def taken(self, username: str) -> None:
        self.usernames.seen(username)

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


async def load_index(
    gateway: ProvisioningGateway,
    state: AppliedRows | None = None,
    usernames: IdentifierAllocator | None = None,
) -> Index:
    """`usernames`: the identifiers a run already knows taken (it switches to the index)."""
    index = Index(usernames=usernames or IdentifierAllocator())
    async for account in gateway.students():
        index.add(account)
    for username in state.identifiers() if state else ():
        index.usernames.seen(username)
    return index


@dataclass
class Lookups:
    """Incremental mode: one query per row that changed. An identifier is handed out when
    the state file never handed it out; Keycloak then refuses it if an account has it
    (409, whoever holds it: a search would not even see a staff member's), and the run
    takes the next one (bridge.flows.provisioning)."""

    gateway: ProvisioningGateway
    state: AppliedRows
    usernames: IdentifierAllocator = field(default_factory=IdentifierAllocator)
    prefixes: set[str] = field(default_factory=set)

    async def existing(self, record: StudentRecord) -> Account | None:
        known = await self._known(record)
        if known is not None:
            if record.ine and record.ine != known.ine:
                owner = await self.gateway.find_by_ine(record.ine)
                if owner is not None and owner.id != known.id:
                    raise IneClash(owner)
            return known
        # Not applied by this job before (or its account is gone): search Keycloak, both
        # searches at once (each costs ~50 ms with this credential: docs/lifecycle.md).
        if record.ine:
            existing, owner = await asyncio.gather(
                self.gateway.find_by_student_number(record.student_number),
                self.gateway.find_by_ine(record.ine),
            )
        else:
            existing, owner = await self.gateway.find_by_student_number(record.student_number), None
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
        account = await self.gateway.get_student(user_id)
        if account is None:
            return None  # gone, or taken out of `students`: no longer provisioning's
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
        return True

    async def allocate(self, first_name: str, last_name: str) -> str:
        self._remember(identifier_prefix(first_name, last_name))
        return self.usernames.allocate(first_name, last_name)

    def add(self, account: Account) -> None:
        self.usernames.seen(account.username)

    def taken(self, username: str) -> None:
        self.usernames.seen(username)
