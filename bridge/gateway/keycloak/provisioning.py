"""The jobs' service account (client `provisioning`): the SIS export into Keycloak, the
activation keys, the expiry and its reminders. Its secret never reaches the web bridge."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from bridge.domain.accounts import Account, RequiredAction, StudentRecord
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

    async def all_accounts(self, page_size: int = 1000) -> AsyncIterator[Account]:
        """Every account of the realm, page by page (for the provisioning index)."""
        first = 0
        while True:
            page = await self._users(
                {"first": first, "max": page_size, "briefRepresentation": "false"}
            )
            for rep in page:
                yield account_from_representation(rep)
            if len(page) < page_size:
                return
            first += page_size

    async def find_by_student_number(self, student_number: str) -> Account | None:
        rep = await self._find_one_by("student_number", student_number)
        return account_from_representation(rep) if rep else None

    async def find_by_ine(self, ine: str) -> Account | None:
        rep = await self._find_one_by("ine", ine)
        return account_from_representation(rep) if rep else None

    async def count_accounts(self) -> int:
        with domain_errors():
            return int(await self._admin.a_users_count())

    async def pending_students(self, page_size: int = 100) -> list[Account]:
        """Members of `students` who have no password yet (never activated, no key)."""
        found: list[Account] = []
        with domain_errors():
            group = await self._admin.a_get_group_by_path(f"/{STUDENTS_GROUP}")
        first = 0
        while True:
            with domain_errors():
                members = await self._admin.a_get_group_members(
                    group["id"], {"first": first, "max": page_size}
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

    async def apply_changes(self, user_id: str, changes: dict[str, tuple[object, object]]) -> None:
        """Write a provisioning plan's changes (names, emails, enrollment, enabled)."""
        await self._update(user_id, lambda rep: apply_changes(rep, changes))

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
        with domain_errors():
            rep = await self._admin.a_get_user(account.id)
            if not get(rep, "enabled"):
                return False
            # Only `enabled`: whatever else changed meanwhile stays as it is.
            change: Representation = {}
            put(change, "enabled", False)
            await self._admin.a_update_user(account.id, change)
            # Disabling does not end sessions: log out, so that refresh tokens die too.
            await self._admin.a_user_logout(account.id)
        return True

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
