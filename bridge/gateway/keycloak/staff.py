"""The staff console's service account (client `bridge-console`): every read and write of
a student goes out with it, and Keycloak's fine-grained admin permissions confine it to
the members of `students`. Each write carries a StaffRecord naming the staff member, so
Keycloak's admin event of it says who acted. Also the staff member's sign-in: the token's
verified claims, and the end of their Keycloak session; that token has no admin right."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jwcrypto.common import JWException
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from bridge.domain.accounts import Account
from bridge.domain.console import StaffRecord
from bridge.domain.errors import NotAllowed
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import (
    STAFF_ADMIN_ROLE,
    STAFF_ROLE,
    Representation,
    account_from_representation,
    anonymised,
    attribute,
    changed_rescue_email,
    get,
    put,
)


@dataclass(frozen=True)
class StaffIdentity:
    user_id: str
    username: str
    is_staff: bool
    # Holds `staff-admin` (docs/console.md, "Administrators"): may anonymise.
    is_admin: bool = False


class StaffSignIn:
    """The console's OpenID Connect client, for what is Keycloak's to say about a sign-in."""

    def __init__(self, server_url: str, realm: str, client_id: str, client_secret: str) -> None:
        self._openid = KeycloakOpenID(
            server_url=server_url,
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            timeout=10,
        )

    async def identity(self, access_token: str) -> StaffIdentity:
        """From the access token, its signature checked against the realm's keys (never
        decoded by hand): who signed in, and whether they hold the staff role. NotAllowed
        for a token that does not verify."""
        try:
            with domain_errors():
                claims: dict[str, Any] = await self._openid.a_decode_token(access_token)
        except (JWException, ValueError) as error:
            raise NotAllowed("the access token does not verify") from error
        roles = (claims.get("realm_access") or {}).get("roles") or []
        return StaffIdentity(
            user_id=str(claims.get("sub") or ""),
            username=str(claims.get("preferred_username") or ""),
            is_staff=STAFF_ROLE in roles,
            is_admin=STAFF_ROLE in roles and STAFF_ADMIN_ROLE in roles,
        )

    async def end_session(self, refresh_token: str) -> bool:
        """Back-channel logout: the staff member's Keycloak session ends with the console's.
        False when Keycloak could not be told (the session then ends at its own timeout)."""
        try:
            await self._openid.a_logout(refresh_token)
        except KeycloakError:
            return False
        return True


class StaffGateway(Gateway):
    async def search_accounts(
        self, text: str, by: str, first: int = 0, count: int = 20
    ) -> list[Account]:
        """`by`: "name" (identifier, names: Keycloak's search), "ine", "student_number".
        Keycloak returns only the accounts the caller may view."""
        query: dict[str, Any] = {"first": first, "max": count, "briefRepresentation": "false"}
        if by in ("ine", "student_number"):
            query.update(q=f"{attribute(by)}:{text}", exact="true")
        else:
            query["search"] = text
        return [account_from_representation(rep) for rep in await self._users(query)]

    async def console_account(self, user_id: str) -> tuple[Account, StaffRecord | None]:
        """The account and the latest staff record on it (NotAllowed outside `students`)."""
        with self._call("user.read"):
            rep = await self._admin.a_get_user(user_id)
        has_password = await self._has_password(user_id)
        record = StaffRecord.decode(get(rep, "staff_action"))
        return account_from_representation(rep, has_password=has_password), record

    async def record(self, user_id: str, record: StaffRecord) -> None:
        """One write that carries the record: Keycloak's admin event names the staff member."""
        await self._update(user_id, lambda rep: put(rep, "staff_action", record.encode()))

    async def set_verified_rescue_email(
        self, user_id: str, address: str, record: StaffRecord
    ) -> None:
        """Seen in person with an identity document: the address counts as verified."""

        def mutate(rep: Representation) -> None:
            changed_rescue_email(rep, address, verified=True)
            put(rep, "staff_action", record.encode())

        await self._update(user_id, mutate)

    async def reenable(self, user_id: str, record: StaffRecord) -> None:
        def mutate(rep: Representation) -> None:
            put(rep, "enabled", True)
            put(rep, "staff_action", record.encode())

        await self._update(user_id, mutate)

    async def reset_account(self, user_id: str, record: StaffRecord) -> None:
        """Credentials and pending actions gone, sessions ended; the profile, groups,
        attributes and rescue email stay. The student activates again."""
        with self._call("user.credentials"):
            credentials = await self._admin.a_get_credentials(user_id)
        for credential in credentials:
            with self._call("credential.delete"):
                await self._admin.a_delete_credential(user_id, credential["id"])

        def mutate(rep: Representation) -> None:
            rep["requiredActions"] = []
            put(rep, "staff_action", record.encode())

        await self._update(user_id, mutate)
        with self._call("user.logout"):
            await self._admin.a_user_logout(user_id)

    async def anonymise(self, user_id: str, record: StaffRecord) -> None:
        """Retention: INE, student number, institutional address, rescue address and its
        verification, names and credentials removed, the record written; the account, its
        identifier and eduPersonPrincipalName stay, disabled. Idempotent: a second run finds
        nothing to change but the record."""

        def mutate(rep: Representation) -> None:
            anonymised(rep)
            put(rep, "staff_action", record.encode())

        await self._update(user_id, mutate)
        with self._call("user.credentials"):
            credentials = await self._admin.a_get_credentials(user_id)
        for credential in credentials:
            with self._call("credential.delete"):
                await self._admin.a_delete_credential(user_id, credential["id"])
        with self._call("user.logout"):
            await self._admin.a_user_logout(user_id)
