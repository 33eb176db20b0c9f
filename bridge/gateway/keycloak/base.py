"""What every credential's gateway shares: the connection to the admin API and the reads
and writes that more than one of them makes (finding an account, mailing an action link,
setting an activation key). Each subclass is one credential (README of this package)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any, Self

from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.errors import Conflict, ServiceUnavailable
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import (
    Representation,
    account_from_representation,
    attribute,
    put,
    repair_single_values,
    required_action_names,
    required_actions_of,
)

# Sent with every update, as read just before (the declarative user profile requires them).
PROFILE_FIELDS = ("username", "email", "firstName", "lastName")


class Gateway:
    def __init__(self, admin: KeycloakAdmin, openid: KeycloakOpenID) -> None:
        self._admin = admin
        self._openid = openid

    @classmethod
    def service_account(
        cls, server_url: str, realm: str, client_id: str, client_secret: str, timeout: int = 10
    ) -> Self:
        """Act as a confidential client's service account (the web bridge, the jobs)."""
        options = {
            "server_url": server_url,
            "realm_name": realm,
            "client_id": client_id,
            "client_secret_key": client_secret,
            "timeout": timeout,
        }
        connection = KeycloakOpenIDConnection(**options)  # type: ignore[arg-type]
        return cls(KeycloakAdmin(connection=connection), KeycloakOpenID(**options))  # type: ignore[arg-type]

    @classmethod
    def administrator(
        cls, server_url: str, realm: str, username: str, password: str, user_realm: str = "master"
    ) -> Self:
        """Act as a realm administrator (the one-off set-up, the dev tooling)."""
        connection = KeycloakOpenIDConnection(
            server_url=server_url,
            realm_name=realm,
            user_realm_name=user_realm,
            client_id="admin-cli",
            username=username,
            password=password,
            timeout=30,
        )
        openid = KeycloakOpenID(server_url=server_url, realm_name=user_realm, client_id="admin-cli")
        return cls(KeycloakAdmin(connection=connection), openid)

    @property
    def realm_url(self) -> str:
        """Which realm this gateway speaks to (the provisioning state is bound to it)."""
        connection = self._admin.connection
        return f"{str(connection.server_url).rstrip('/')}/realms/{connection.realm_name}"

    # --- reads -------------------------------------------------------------------------

    async def _users(self, query: dict[str, Any]) -> list[Representation]:
        with domain_errors():
            users: list[Representation] = await self._admin.a_get_users(query)
        return users

    async def _by_username(self, username: str) -> Representation | None:
        users = await self._users({"username": username, "exact": "true", "first": 0, "max": 2})
        return users[0] if users else None

    async def _has_password(self, user_id: str) -> bool:
        with domain_errors():
            credentials = await self._admin.a_get_credentials(user_id)
        return any(c.get("type") == "password" for c in credentials)

    async def find_by_username(self, username: str) -> Account | None:
        rep = await self._by_username(username)
        return account_from_representation(rep) if rep else None

    async def find_student(self, username: str) -> Account | None:
        """The account with what activation needs to know: whether it has a password."""
        rep = await self._by_username(username)
        if rep is None:
            return None
        return account_from_representation(rep, has_password=await self._has_password(rep["id"]))

    async def get_account(self, user_id: str) -> Account:
        with domain_errors():
            rep = await self._admin.a_get_user(user_id)
        return account_from_representation(rep)

    async def _find_one_by(self, field: str, value: str) -> Representation | None:
        users = await self._users(
            {"q": f"{attribute(field)}:{value}", "exact": "true", "first": 0, "max": 2}
        )
        if len(users) > 1:
            # The SIS should never produce this; nobody gets to pick one of them.
            raise Conflict(f"several accounts share this {field}")
        return users[0] if users else None

    # --- writes ------------------------------------------------------------------------

    async def _update(self, user_id: str, mutate: Callable[[Representation], None]) -> None:
        """Read, change, and write back only what changed: `enabled`, `emailVerified`,
        `requiredActions` go only when they changed, so a stale read cannot re-enable an
        account `expire` just disabled. Attributes go as a whole set (Keycloak replaces it
        on PUT) and the profile's own fields as read just before the write."""
        with domain_errors():
            rep = await self._admin.a_get_user(user_id)
            before = copy.deepcopy(rep)
            rep.setdefault("attributes", {})
            mutate(rep)
            repair_single_values(rep)
            changed = {key: value for key, value in rep.items() if before.get(key) != value}
            if changed:
                # The user profile wants its own fields in every update (measured: without
                # them, 400 "error-user-attribute-required"): those go as just read.
                profile = {key: rep[key] for key in PROFILE_FIELDS if key in rep}
                await self._admin.a_update_user(user_id, {**profile, **changed})

    async def send_action_mail(
        self,
        account: Account,
        actions: tuple[RequiredAction, ...],
        *,
        lifespan: int,
        client_id: str,
        redirect_uri: str,
    ) -> None:
        """Keycloak mails a link to the rescue address, valid `lifespan` seconds; single use
        when a new password is among the actions. SMTP failure is ServiceUnavailable."""
        with domain_errors():
            await self._admin.a_send_update_account(
                user_id=account.id,
                payload=required_action_names(actions),
                client_id=client_id,
                lifespan=lifespan,
                redirect_uri=redirect_uri,
            )

    async def record_mail_sent(self, account: Account, now: dt.datetime) -> None:
        """When the last action mail left, for staff to see (the limits count elsewhere)."""
        await self._update(account.id, lambda rep: put(rep, "last_mail_at", now))

    async def set_activation_key(
        self, account: Account, key: str, actions: tuple[RequiredAction, ...]
    ) -> None:
        """The key becomes a temporary password; `actions` are added to what the first
        sign-in with it asks (bridge.flows.activation_keys decides which)."""
        with domain_errors():
            await self._admin.a_set_user_password(account.id, key, temporary=True)

        def mutate(rep: Representation) -> None:
            current = required_actions_of(rep.get("requiredActions") or ())
            names = list(rep.get("requiredActions") or [])
            rep["requiredActions"] = names + required_action_names(
                [a for a in actions if a not in current]
            )

        await self._update(account.id, mutate)

    async def _ping(self) -> None:
        with domain_errors():
            token = await self._openid.a_token(grant_type="client_credentials")
        if not token.get("access_token"):
            raise ServiceUnavailable("no access token in Keycloak's answer")
