"""The jobs' service account (client `provisioning`): the SIS export into Keycloak, the
activation keys, the expiry and its reminders. Its secret never reaches the web bridge.

What it may do is Keycloak's to enforce (docs/lifecycle.md, "Privileges"): `query-users`,
`query-groups`, and the realm role `student-provisioning`, which the fine-grained admin
permissions (bridge.gateway.keycloak.realm_setup) let view and manage the members of
`students`, and create accounts in `students` only. No realm setting, client, role or
staff account is within its reach. So what this account can read is what provisioning may
write: a search lists the members of `students` only (one also in `staff` among them, which
a read by id then refuses), a read by id answers for a student and refuses (403) everyone
else. The jobs check at start that the credential holds no more (`ensure_scoped`)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.domain.accounts import Account, RequiredAction, StudentRecord
from bridge.domain.errors import (
    AccountNotFound,
    Conflict,
    NotAllowed,
    Overprivileged,
    Rejected,
    ServiceUnavailable,
)
from bridge.gateway.keycloak.base import Gateway
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
from bridge.gateway.keycloak.realm_setup import UNIVERSITY_ADDRESS_MESSAGE

log = logging.getLogger("bridge.gateway.keycloak.provisioning")

# The realm-management roles the jobs' credential may hold: the rest (view-users,
# manage-users, manage-realm, realm-admin…) reach beyond students.
SCOPED_ROLES = frozenset({"query-users", "query-groups"})
# The plan's changes a full run writes from its listing, without reading the account first:
# top-level fields that a PUT sends alone (the rest of the account is kept, measured), and
# the SIS's to decide (docs/lifecycle.md: applied silently).
FROM_LISTING = frozenset({"first_name", "last_name"})
# What the check after such a write compares with the listing: anything another writer
# changed since the listing (the names excepted: the write sent them).
CHECKED_FIELDS = ("username", "email", "emailVerified", "enabled", "attributes")


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
    """What became of one new student. Created: its id. Not created: the identifier
    already exists (`user_id` None: who holds it is `identifier_holder`'s to say), or
    Keycloak refused the representation (`refused`: its reason)."""

    created: bool
    user_id: str | None
    refused: str | None = None


class ProvisioningGateway(Gateway):
    # Seconds spent so far in attribute searches (the incremental run's costly lookups:
    # bridge.jobs.provision reads every student instead once they cost more).
    search_seconds: float = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # By id, a digest of each student as the full listing gave it (a few bytes each,
        # not the representation: 100,000 students): apply_changes writes a name from it.
        self._listed: dict[str, bytes] = {}

    # --- its own credential ----------------------------------------------------------------

    async def ensure_scoped(self) -> None:
        """Overprivileged when the credential holds a realm-management role beyond
        SCOPED_ROLES (an administrator's, or a client granted `manage-users` again): the
        jobs then refuse to run, since they rely on Keycloak to keep them to students. The
        roles are read from the credential's own access token (composites expanded)."""
        with self._call("token"):
            token = await self._openid.a_token(grant_type="client_credentials")
        held = set(
            _token_claims(str(token.get("access_token", "")))
            .get("resource_access", {})
            .get("realm-management", {})
            .get("roles", [])
        )
        extra = sorted(held - SCOPED_ROLES)
        if extra:
            raise Overprivileged(
                f"the provisioning client holds {', '.join(extra)} in realm-management; it "
                f"must hold {' and '.join(sorted(SCOPED_ROLES))} only (docs/lifecycle.md)"
            )

    # --- finding what exists ---------------------------------------------------------------
    # Provisioning matches members of `students` only: a staff member or a service account
    # whose attribute happens to hold a student's number or INE is never found here, so
    # never written. Keycloak draws that line (the module's docstring): its searches list
    # members of `students` only, and a read by id refuses every account outside the group
    # or also in `staff`. Identifiers are the exception: every username of the realm is
    # taken, seen or not (creating one that exists is a 409, whoever holds it).

    async def students(self, page_size: int = 1000) -> AsyncIterator[Account]:
        """Every member of `students`, page by page, with attributes (for the provisioning
        index)."""
        async for page in self._student_pages(page_size, brief=False):
            for rep in page:
                self._listed[rep["id"]] = _digest(rep)
                yield _student(rep)

    async def _student_pages(
        self, page_size: int, *, brief: bool
    ) -> AsyncIterator[list[Representation]]:
        """The members of `students`, a page at a time: the group's member listing when
        this credential may read the group (an administrator; the provisioning client if
        granted `view` on it), else the realm's users as Keycloak lists them to this
        credential, which it filters to the members of `students` in the query itself
        (the pages are whole). Measured on 26.5.6 with PostgreSQL: the same accounts, the
        filtered listing ~3.5x slower (1.75 s for 1,000 against 0.5 s)."""
        group_id = await self._students_group_id()
        first = 0
        while True:
            query = {"first": first, "max": page_size, "briefRepresentation": str(brief).lower()}
            if group_id is None:
                page = await self._users(query)
            else:
                with self._call("group.members"):
                    page = await self._admin.a_get_group_members(group_id, query)
            yield page
            if len(page) < page_size:
                return
            first += page_size

    async def _students_group_id(self) -> str | None:
        """The group's id, or None when this credential may not read the group."""
        try:
            with self._call("group.read"):
                group = await self._admin.a_get_group_by_path(f"/{STUDENTS_GROUP}")
        except NotAllowed:
            return None
        return str(group["id"])

    async def find_by_student_number(self, student_number: str) -> Account | None:
        """The member of `students` with this student number."""
        return await self._find_student_by("student_number", student_number)

    async def find_by_ine(self, ine: str) -> Account | None:
        """The member of `students` with this INE."""
        return await self._find_student_by("ine", ine)

    async def get_student(self, user_id: str) -> Account | None:
        """A student's account by id (a primary-key read); None when there is none, or it
        is out of reach (not a member of `students`, or also of `staff`)."""
        rep = await self._student_rep(user_id)
        return _student(rep) if rep is not None else None

    async def identifier_holder(self, username: str) -> Account | None:
        """Whoever holds this identifier, as far as this credential sees: a student
        (`in_students`), an account the search lists but a read refuses (`in_students`
        False), or None (nobody, or an account out of sight: staff, an administrator)."""
        account = await self.find_by_username(username)
        if account is None:
            return None
        rep = await self._student_rep(account.id)
        return _student(rep) if rep is not None else dataclasses.replace(account, in_students=False)

    async def has_password(self, user_id: str) -> bool:
        return await self._has_password(user_id)

    async def _find_student_by(self, field: str, value: str) -> Account | None:
        """An attribute search over the realm (it cannot be limited to a group), then one
        read by id per account found (usually one, or none): the ones Keycloak lets this
        credential read are the students; one it lists but refuses (also in `staff`) is
        returned as not a student, for the run to leave alone."""
        started = time.monotonic()
        try:
            reps = await self._users(
                {"q": f"{attribute(field)}:{value}", "exact": "true", "first": 0, "max": 10}
            )
        finally:
            self.search_seconds += time.monotonic() - started
        found = []
        for listed in reps:
            rep = await self._student_rep(listed["id"])
            found.append(
                _student(rep)
                if rep is not None
                else dataclasses.replace(account_from_representation(listed), in_students=False)
            )
        if len(found) > 1:
            # The SIS should never produce this; nobody gets to pick one of them.
            raise Conflict(f"several students share this {field}")
        return found[0] if found else None

    async def _student_rep(self, user_id: str) -> Representation | None:
        """The account by id if this credential may read it (a member of `students`, not
        of `staff`), else None."""
        try:
            with self._call("user.read"):
                rep: Representation = await self._admin.a_get_user(user_id)
        except (NotAllowed, AccountNotFound):
            return None
        # A read a run's decision may rest on (an incremental run's): a changed name is
        # then written from it (apply_changes), as from the full listing.
        self._listed[rep["id"]] = _digest(rep)
        return rep

    async def count_accounts(self) -> int:
        """The accounts this credential sees: the members of `students`."""
        with self._call("users.count"):
            return int(await self._admin.a_users_count())

    async def pending_students(self, page_size: int = 100) -> list[Account]:
        """Members of `students` who have no password yet (never activated, no key)."""
        found: list[Account] = []
        async for page in self._student_pages(page_size, brief=True):
            for member in page:
                try:
                    if not await self._has_password(member["id"]):
                        found.append(account_from_representation(member))
                except NotAllowed:
                    continue  # also in `staff`: not provisioning's
        return found

    # --- writing -----------------------------------------------------------------------

    async def import_students(
        self, accounts: Sequence[NewAccount], slots: asyncio.Semaphore | None = None
    ) -> dict[str, Imported]:
        """Create these users, members of `students`, one `POST /users` each, concurrently:
        as many at once as `slots` allows (shared by the caller's batches; none: all at
        once). Each creation is its own transaction; its id comes from the answer's
        Location: no read-back. By identifier, what happened: an identifier that exists is
        not created (409), whoever holds it; a representation Keycloak refuses (400) is
        reported, the others go on. Anything else (an outage, a refusal of the right to
        create: 403) fails the run: what was created is found by student number on the
        next one."""
        answers = await asyncio.gather(*(self._create(account, slots) for account in accounts))
        return {
            account.record.username: answer
            for account, answer in zip(accounts, answers, strict=True)
        }

    def _new_representation(self, account: NewAccount) -> Representation:
        return new_account_representation(account)

    async def _create(self, account: NewAccount, slots: asyncio.Semaphore | None) -> Imported:
        rep = self._new_representation(account)
        try:
            async with slots or contextlib.nullcontext():
                with self._call("user.create"):
                    user_id = await self._admin.a_create_user(rep, exist_ok=False)
        except Conflict:
            return Imported(created=False, user_id=None)
        except Rejected as error:
            if error.code == UNIVERSITY_ADDRESS_MESSAGE and account.record.rescue_email:
                # A university address is no rescue address (the realm's rule, `bridge
                # realm setup`): the account is created without one, as if none was given.
                log.info("university rescue address from the SIS not written (new account)")
                record = dataclasses.replace(account.record, rescue_email=None)
                return await self._create(dataclasses.replace(account, record=record), slots)
            return Imported(created=False, user_id=None, refused=error.detail or error.code)
        return Imported(created=True, user_id=str(user_id))

    async def apply_changes(
        self, user_id: str, changes: dict[str, tuple[object, object]]
    ) -> tuple[str, ...]:
        """Write a provisioning plan's changes (names, emails, enrollment, enabled), each
        only where the account still holds what the plan read; the others' names back.

        Two calls instead of three for a name the SIS changed, when this run read the account
        (its full listing, or the read by id after a search; its digest is kept): the names
        alone are written, then read back under the same turn and the account compared with
        that read. Unchanged since but for the names written: done. Anything else (a lost
        write, another writer since that read): the read-modify-write below, from what is
        there now."""
        listed = self._listed.pop(user_id, None)
        if (
            listed is not None
            and changes
            and set(changes) <= FROM_LISTING
            and await self._write_from_listing(user_id, changes, listed)
        ):
            return ()
        moved: tuple[str, ...] | None = None

        def mutate(rep: Representation) -> None:
            # Decided on the first read; the checks after the write find the rest done.
            nonlocal moved
            kept = moved or ()
            found = apply_changes(rep, {k: v for k, v in changes.items() if k not in kept})
            if moved is None:
                moved = found

        try:
            await self._update(user_id, mutate)
        except Rejected as error:
            if error.code != UNIVERSITY_ADDRESS_MESSAGE or "rescue_email" not in changes:
                raise
            # The offered rescue address is a university one (the realm's rule): the rest
            # is written, the address is not, as at creation.
            log.info("university rescue address from the SIS not written (%s)", user_id)
            return await self.apply_changes(
                user_id, {k: v for k, v in changes.items() if k != "rescue_email"}
            )
        return moved or ()

    async def _write_from_listing(
        self, user_id: str, changes: dict[str, tuple[object, object]], listed: bytes
    ) -> bool:
        payload: Representation = {}
        for name, (_, new) in changes.items():
            put(payload, name, new)
        async with self._turn(user_id):
            with self._call("user.update"):
                await self._admin.a_update_user(user_id, payload)
            with self._call("user.read"):
                rep: Representation = await self._admin.a_get_user(user_id)
        if all(rep.get(key) == value for key, value in payload.items()) and _digest(rep) == listed:
            return True
        log.warning("an account changed since the run's listing: read again before writing")
        return False

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

    async def disabled_with_valid_until(
        self, day: dt.date, page_size: int = 200, *, brief: bool = False
    ) -> list[Account]:
        """Disabled accounts whose validity ends on `day`: with their attributes for the
        retention list (whether each still holds an INE, names, a rescue address), in brief
        form for the expiry's check pass (their ids)."""
        found: list[Account] = []
        first = 0
        while True:
            page = await self._users(
                {
                    "q": f"{attribute('valid_until')}:{day.isoformat()}",
                    "exact": "true",
                    "enabled": "false",
                    "briefRepresentation": str(brief).lower(),
                    "first": first,
                    "max": page_size,
                }
            )
            found += [account_from_representation(rep) for rep in page]
            if len(page) < page_size:
                return found
            first += page_size

    async def disable_expired(self, account: Account) -> bool:
        """Disable an account the listing gave as enabled, and end its sessions: two calls,
        a PUT of `{"enabled": false}` alone (measured on 26.5.6: a representation without
        attributes keeps every attribute, the names, the addresses, the required actions
        and the credentials; tests/integration/test_disable_ends_sessions.py) and the
        logout. No read first: the listing said it was enabled, and disabling twice
        changes nothing. Disabling alone already refuses the refresh tokens, the userinfo
        and the introspection of an open session, but leaves the sessions listed (same
        test): a re-enrollment would bring them back, so they are ended.

        No read after it either: under the account's turn (serialize_writes, as deployed)
        no other write overlaps it; without turns, a concurrent write of another field can
        still put `enabled` back (Keycloak writes the whole row, docs/security.md), and
        the job's check pass (bridge.jobs.expire) lists again what is still enabled and
        disables it again. True: disabled. Deletes nothing."""
        try:
            async with self._turn(account.id):
                with self._call("user.update"):
                    await self._admin.a_update_user(account.id, {"enabled": False})
        except Rejected:
            # An attribute left multi-valued by an old concurrent write: Keycloak refuses
            # any update of such an account (measured: error-invalid-multivalued-size) until
            # it is repaired, which the read-modify-write does (it sends the repaired set).
            await self._update(account.id, lambda rep: put(rep, "enabled", False))
        with self._call("user.logout"):
            await self._admin.a_user_logout(account.id)
        return True

    async def reenable_if_still_valid(self, user_id: str, today: dt.date) -> bool:
        """Put back `enabled` on an account this expiry run disabled although it is valid
        today: provisioning re-enrolled it between the run's listing and its write. Read,
        checked, written (only `enabled`) under the account's turn; True when re-enabled."""
        wrote = False

        def mutate(rep: Representation) -> None:
            nonlocal wrote
            now = account_from_representation({"id": user_id, "username": "", **rep})
            if now.valid_until is not None and now.valid_until >= today and not now.enabled:
                put(rep, "enabled", True)
                wrote = True

        await self._update(user_id, mutate)
        return wrote

    async def reminder_state(self, account: Account) -> tuple[dt.date | None, str]:
        """The validity end a reminder was last sent for, and the student's language."""
        with self._call("user.read"):
            rep = await self._admin.a_get_user(account.id)
        return reminder_sent_for(rep), get(rep, "locale") or "fr"

    async def mark_reminder_sent(self, account: Account, valid_until_date: dt.date) -> None:
        await self._update(account.id, lambda rep: put(rep, "reminder_sent_for", valid_until_date))

    async def flag_rescue_bounced(self, address: str, when: dt.datetime) -> list[str]:
        """Mark every student whose rescue address is `address` (case-insensitive) as
        refused at `when` (`umRescueBounced`, admin-only); their identifiers. The address
        is checked again in the write: one changed meanwhile is not flagged."""
        address = address.lower()
        reps = await self._users(
            {"email": address, "exact": "true", "briefRepresentation": "true", "max": 20}
        )
        flagged: list[str] = []
        for rep in reps:
            if (get(rep, "rescue_email") or "").lower() != address:
                continue
            wrote = False

            def mutate(current: Representation) -> None:
                nonlocal wrote
                if (get(current, "rescue_email") or "").lower() == address:
                    put(current, "rescue_email_bounced", when)
                    wrote = True

            try:
                await self._update(rep["id"], mutate)
            except NotAllowed:
                continue  # listed, refused by id: also in staff, not the job's
            if wrote:
                flagged.append(rep["username"])
        return flagged


def _student(rep: Representation) -> Account:
    return dataclasses.replace(account_from_representation(rep), in_students=True)


def _digest(rep: Representation) -> bytes:
    kept = {key: rep.get(key) for key in CHECKED_FIELDS}
    kept["requiredActions"] = sorted(rep.get("requiredActions") or ())
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _token_claims(token: str) -> dict[str, Any]:
    """The claims of an access token this process just received from Keycloak (read, not
    verified: it is our own credential's, to know what it holds)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as error:
        raise ServiceUnavailable("Keycloak's access token could not be read") from error
    return claims if isinstance(claims, dict) else {}


def new_account_representation(account: NewAccount) -> Representation:
    rep = representation_from_record(account.record, enabled=account.enabled)
    rep["groups"] = [f"/{STUDENTS_GROUP}"]
    if account.key is not None:
        with_temporary_password(rep, account.key, account.key_actions)
    return rep
