"""The jobs' service account (client `provisioning`): the SIS export into Keycloak, the
activation keys, the expiry and its reminders. Its secret never reaches the web bridge."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from bridge.domain.accounts import Account, RequiredAction, StudentRecord
from bridge.domain.errors import Conflict, Rejected
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import (
    STUDENTS_GROUP,
    Representation,
    account_from_representation,
    apply_changes,
    attribute,
    get,
    put,
    reminder_sent_for,
    representation_from_record,
    with_temporary_password,
)

log = logging.getLogger("bridge.gateway.keycloak.provisioning")

# Disable, check, again: how many times before the job reports the account.
DISABLE_ATTEMPTS = 3


@dataclass(frozen=True)
class NewAccount:
    """A student to create: the SIS's record (its identifier decided), and an activation
    key to set as a temporary password with the actions its first sign-in asks."""

    record: StudentRecord
    enabled: bool
    key: str | None = None
    key_actions: tuple[RequiredAction, ...] = ()


@dataclass(frozen=True)
class Imported:
    created: bool  # False: the identifier already existed, nothing was written
    user_id: str


class ProvisioningGateway(Gateway):
    # --- finding what exists ---------------------------------------------------------------
    # Provisioning matches members of `students` only: a staff member or a service account
    # whose attribute happens to hold a student's number or INE is never found here, so
    # never written. Identifiers are the exception: every username of the realm is taken
    # (find_by_username, and the partial import skips an existing one).

    async def students(self, page_size: int = 1000) -> AsyncIterator[Account]:
        """Every member of `students`, page by page, with attributes (for the provisioning
        index; `briefRepresentation=false` lists the attributes: measured on 26.5)."""
        group_id = await self._students_group_id()
        first = 0
        while True:
            with domain_errors():
                page = await self._admin.a_get_group_members(
                    group_id, {"first": first, "max": page_size, "briefRepresentation": "false"}
                )
            for rep in page:
                yield dataclasses.replace(account_from_representation(rep), in_students=True)
            if len(page) < page_size:
                return
            first += page_size

    async def find_by_student_number(self, student_number: str) -> Account | None:
        """The member of `students` with this student number."""
        return await self._find_student_by("student_number", student_number)

    async def find_by_ine(self, ine: str) -> Account | None:
        """The member of `students` with this INE."""
        return await self._find_student_by("ine", ine)

    async def get_student(self, user_id: str) -> Account:
        """An account by id (a primary-key read), and whether it is in `students`."""
        account = await self.get_account(user_id)
        return dataclasses.replace(account, in_students=await self._in_students(user_id))

    async def identifier_holder(self, username: str) -> Account | None:
        """Whoever holds this identifier, student or not, and whether it is in `students`."""
        account = await self.find_by_username(username)
        if account is None:
            return None
        return dataclasses.replace(account, in_students=await self._in_students(account.id))

    async def has_password(self, user_id: str) -> bool:
        return await self._has_password(user_id)

    async def _find_student_by(self, field: str, value: str) -> Account | None:
        """An attribute search over the realm (it cannot be limited to a group), then one
        membership read per account found: usually one, or none."""
        reps = await self._users(
            {"q": f"{attribute(field)}:{value}", "exact": "true", "first": 0, "max": 10}
        )
        found = [
            dataclasses.replace(account_from_representation(rep), in_students=True)
            for rep in reps
            if await self._in_students(rep["id"])
        ]
        if len(found) > 1:
            # The SIS should never produce this; nobody gets to pick one of them.
            raise Conflict(f"several students share this {field}")
        return found[0] if found else None

    async def _in_students(self, user_id: str) -> bool:
        with domain_errors():
            groups = await self._admin.a_get_user_groups(user_id, brief_representation=True)
        return any(group.get("path") == f"/{STUDENTS_GROUP}" for group in groups)

    async def _students_group_id(self) -> str:
        with domain_errors():
            group = await self._admin.a_get_group_by_path(f"/{STUDENTS_GROUP}")
        return str(group["id"])

    async def count_accounts(self) -> int:
        with domain_errors():
            return int(await self._admin.a_users_count())

    async def pending_students(self, page_size: int = 100) -> list[Account]:
        """Members of `students` who have no password yet (never activated, no key)."""
        found: list[Account] = []
        group_id = await self._students_group_id()
        first = 0
        while True:
            with domain_errors():
                members = await self._admin.a_get_group_members(
                    group_id, {"first": first, "max": page_size}
                )
            for member in members:
                if not await self._has_password(member["id"]):
                    found.append(account_from_representation(member))
            if len(members) < page_size:
                return found
            first += page_size

    # --- writing -----------------------------------------------------------------------

    async def import_students(self, accounts: Sequence[NewAccount]) -> dict[str, Imported]:
        """Create users in one partial import (one transaction in Keycloak), members of
        `students`, skipping identifiers that exist; by identifier, what happened."""
        reps = [_import_representation(account) for account in accounts]
        with domain_errors():
            answer = await self._admin.a_partial_import_realm(
                str(self._admin.connection.realm_name), {"ifResourceExists": "SKIP", "users": reps}
            )
        return {
            str(result.get("resourceName")): Imported(
                created=result.get("action") == "ADDED", user_id=str(result.get("id"))
            )
            for result in answer.get("results", [])
            if result.get("resourceType") == "USER"
        }

    async def apply_changes(
        self, user_id: str, changes: dict[str, tuple[object, object]]
    ) -> tuple[str, ...]:
        """Write a provisioning plan's changes (names, emails, enrollment, enabled), each
        only where the account still holds what the plan read; the others' names back."""
        moved: tuple[str, ...] | None = None

        def mutate(rep: Representation) -> None:
            # Decided on the first read; the checks after the write find the rest done.
            nonlocal moved
            kept = moved or ()
            found = apply_changes(rep, {k: v for k, v in changes.items() if k not in kept})
            if moved is None:
                moved = found

        await self._update(user_id, mutate)
        return moved or ()

    # --- expiry and reminders -------------------------------------------------------------

    async def enabled_with_valid_until(self, day: dt.date, page_size: int = 500) -> list[Account]:
        """Enabled accounts whose validity ends exactly on `day` (an attribute search), in
        brief form: the callers re-read what they change, and loading every match's
        attributes in the listing would double the work."""
        found: list[Account] = []
        first = 0
        while True:
            page = await self._users(
                {
                    "q": f"{attribute('valid_until')}:{day.isoformat()}",
                    "exact": "true",
                    "enabled": "true",
                    "briefRepresentation": "true",
                    "first": first,
                    "max": page_size,
                }
            )
            found += [
                dataclasses.replace(account_from_representation(rep), valid_until=day)
                for rep in page
            ]
            if len(page) < page_size:
                return found
            first += page_size

    async def disable_expired(self, account: Account) -> bool:
        """Disable and end every session; False when it was already disabled (another
        run got there first). Deletes nothing."""
        already: bool | None = None  # as first read: the checks after the write see it done

        def mutate(rep: Representation) -> None:
            nonlocal already
            if already is None:
                already = not get(rep, "enabled")
            put(rep, "enabled", False)

        for attempt in range(DISABLE_ATTEMPTS):
            # Only what changed goes (bridge.gateway.keycloak.base): `enabled`, and an
            # attribute that concurrent writes left multi-valued, repaired (Keycloak refuses
            # any update of such an account, measured: error-invalid-multivalued-size).
            try:
                await self._update(account.id, mutate)
            except Rejected:
                # A concurrent write left an attribute multi-valued just after our read:
                # the next read sees it, and the update repairs it.
                await self._update(account.id, mutate)
            if already and attempt == 0:
                return False
            with domain_errors():
                # Disabling does not end sessions: log out, so that refresh tokens die too.
                await self._admin.a_user_logout(account.id)
                # Keycloak writes a user's whole row, without a version check: another
                # field's write (a rescue address) that read the account before this one
                # committed puts `enabled` back (measured). Read again, disable again.
                if not get(await self._admin.a_get_user(account.id), "enabled"):
                    return True
            log.warning("a concurrent write re-enabled an expired account: disabling again")
        raise Conflict("the account kept being re-enabled by concurrent writes")

    async def reminder_state(self, account: Account) -> tuple[dt.date | None, str]:
        """The validity end a reminder was last sent for, and the student's language."""
        with domain_errors():
            rep = await self._admin.a_get_user(account.id)
        return reminder_sent_for(rep), get(rep, "locale") or "fr"

    async def mark_reminder_sent(self, account: Account, valid_until_date: dt.date) -> None:
        await self._update(account.id, lambda rep: put(rep, "reminder_sent_for", valid_until_date))


def _import_representation(account: NewAccount) -> Representation:
    rep = representation_from_record(account.record, enabled=account.enabled)
    rep["groups"] = [f"/{STUDENTS_GROUP}"]
    if account.key is not None:
        with_temporary_password(rep, account.key, account.key_actions)
    return rep
