"""Administrator-only writes the dev tooling, the benchmarks and a few tests need, and the
product never does: create an account outright, set a password, enrol an authenticator
app, the naive one-user-a-call import kept as the benchmark's baseline, and the benchmark's
references: the partial import the provisioning job made until its client lost
`manage-realm`, activation keys hashed by Keycloak and the expiry's per-account path as
they were until issue 19."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from bridge.domain.accounts import Account, StudentRecord
from bridge.domain.errors import Conflict, Rejected
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import (
    STUDENTS_GROUP,
    Representation,
    get,
    put,
    representation_from_record,
)
from bridge.gateway.keycloak.provisioning import (
    Imported,
    NewAccount,
    ProvisioningGateway,
    new_account_representation,
)
from bridge.gateway.keycloak.realm_setup import RealmSetup
from devstack.totp import keycloak_credential

# The label of the OTP credential the dev stack enrols, followed by a fingerprint of its
# secret: a credential of an earlier secret is recognised and replaced.
ENROLLED_LABEL = "make dev"


class DevAdmin(RealmSetup):
    async def provision_account(
        self, record: StudentRecord, *, enabled: bool = True, groups: Sequence[str] = ("students",)
    ) -> tuple[Account, bool]:
        """Create the account if absent; return (account, created). Never overwrites."""
        existing = await self.find_by_username(record.username)
        if existing:
            return existing, False
        with domain_errors():
            user_id = await self._admin.a_create_user(
                representation_from_record(record, enabled=enabled), exist_ok=False
            )
            for group in groups:
                found = await self._admin.a_get_group_by_path(f"/{group}")
                await self._admin.a_group_user_add(user_id, found["id"])
        return await self.get_account(user_id), True

    async def grant_realm_role(self, user_id: str, role: str) -> None:
        """Idempotent (Keycloak ignores a role the user already holds)."""
        with domain_errors():
            found = await self._admin.a_get_realm_role(role)
            await self._admin.a_assign_realm_roles(user_id, [found])

    async def set_password(self, user_id: str, password: str, *, temporary: bool) -> None:
        """Policy violations come back as Rejected with Keycloak's message key."""
        with domain_errors():
            await self._admin.a_set_user_password(user_id, password, temporary=temporary)

    async def enroll_totp(self, user_id: str, secret: str) -> bool:
        """Give the account an authenticator app with this base32 secret, as if the person
        had set it up (CONFIGURE_TOTP) with that key; returns whether it wrote anything.
        Keycloak takes an OTP credential in `credentials` of `PUT /users/{id}` (and of
        `POST /users`), with the realm's TOTP parameters (devstack.totp). Idempotent: a
        credential of this secret is kept, one of another secret enrolled here replaced."""
        fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:8]
        label = f"{ENROLLED_LABEL} {fingerprint}"
        with domain_errors():
            otps = [c for c in await self._admin.a_get_credentials(user_id) if c["type"] == "otp"]
            if any(c.get("userLabel") == label for c in otps):
                return False
            for old in otps:
                if str(old.get("userLabel", "")).startswith(ENROLLED_LABEL):
                    await self._admin.a_delete_credential(user_id, old["id"])
            await self._admin.a_update_user(
                user_id, {"credentials": [keycloak_credential(secret, label)]}
            )
        return True

    async def create_student(self, rep: Representation) -> None:
        """One user, one call: the naive path, kept as the benchmark's baseline."""
        with domain_errors():
            await self._admin.a_create_user(rep, exist_ok=False)


class PartialImportProvisioning(ProvisioningGateway):
    """The first import as the job made it until issue 15: the same run (bridge.flows.
    provisioning), new students sent in partial imports (`POST /partialImport`, one
    transaction per batch), which Keycloak grants to `manage-realm` only, so with an
    administrator's token. The benchmark's reference (bench/lifecycle.py), never the
    product's: the provisioning client may not do this (docs/lifecycle.md)."""

    async def ensure_scoped(self) -> None:
        """An administrator by design: nothing to check."""

    async def import_students(
        self, accounts: Sequence[NewAccount], slots: asyncio.Semaphore | None = None
    ) -> dict[str, Imported]:
        """One partial import for the batch (`slots` unused: the run's `concurrency` bounds
        the batches in flight)."""
        reps = [new_account_representation(account) for account in accounts]
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

    async def _student_rep(self, user_id: str) -> Representation | None:
        """An administrator reads every account: a student is a member of the group."""
        rep = await super()._student_rep(user_id)
        if rep is None:
            return None
        with domain_errors():
            groups = await self._admin.a_get_user_groups(user_id, brief_representation=True)
        return rep if any(g.get("path") == f"/{STUDENTS_GROUP}" for g in groups) else None


class KeycloakHashedKeys(ProvisioningGateway):
    """Activation keys as provisioning gave them until issue 19: the key itself in the
    `POST /users`, which Keycloak hashes under the realm's policy (Argon2), for every new
    student, whether or not the key is ever used. The benchmark's reference (bench/
    lifecycle.py); the product sends the key already hashed (bridge.gateway.keycloak.
    mapping.hashed_password_credential)."""

    def _new_representation(self, account: NewAccount) -> Representation:
        rep = new_account_representation(account)
        if account.key is not None:
            rep["credentials"] = [{"type": "password", "value": account.key, "temporary": True}]
        return rep


class PerAccountReadExpiry(ProvisioningGateway):
    """An expiring account as `bridge expire` disabled it until issue 19, four at a time:
    a read-modify-write of `enabled` (read, write, read back), the logout, a read again to
    catch a concurrent write that put `enabled` back. The benchmark's reference (bench/
    lifecycle.py); the product writes `enabled` alone, logs out and checks in one pass at
    the end (bridge.jobs.expire)."""

    concurrency = 4
    attempts = 3

    async def disable_expired(self, account: Account) -> bool:
        already: bool | None = None

        def mutate(rep: Representation) -> None:
            nonlocal already
            if already is None:
                already = not get(rep, "enabled")
            put(rep, "enabled", False)

        for attempt in range(self.attempts):
            try:
                await self._update(account.id, mutate)
            except Rejected:
                await self._update(account.id, mutate)
            if already and attempt == 0:
                return False
            with self._call("user.logout"):
                await self._admin.a_user_logout(account.id)
            with self._call("user.read"):
                again = await self._admin.a_get_user(account.id)
            if not get(again, "enabled"):
                return True
        raise Conflict("the account kept being re-enabled by concurrent writes")


class ReadModifyWriteChanges(ProvisioningGateway):
    """A row the SIS changed as provisioning wrote it until issue 19: read, write, read
    back, even when the run's full listing had just read the account. The benchmark's
    reference (bench/lifecycle.py); the product writes a changed name from the listing."""

    async def apply_changes(
        self, user_id: str, changes: dict[str, tuple[object, object]]
    ) -> tuple[str, ...]:
        self._listed.pop(user_id, None)
        return await super().apply_changes(user_id, changes)
