"""Administrator-only writes the dev tooling, the benchmarks and a few tests need, and the
product never does: create an account outright, set a password, enrol an authenticator
app, the naive one-user-a-call import kept as the benchmark's baseline."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bridge.domain.accounts import Account, StudentRecord
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import Representation, representation_from_record
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
