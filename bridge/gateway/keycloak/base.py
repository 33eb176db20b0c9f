"""What every credential's gateway shares: the connection to the admin API and the reads
and writes that more than one of them makes (finding an account, mailing an action link,
setting an activation key). Each subclass is one credential (README of this package)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol, Self

from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.errors import Conflict, ServiceUnavailable
from bridge.gateway.keycloak.errors import domain_errors, error_kind
from bridge.gateway.keycloak.mapping import (
    Representation,
    account_from_representation,
    attribute,
    put,
    repair_single_values,
    required_action_names,
    required_actions_of,
)

log = logging.getLogger("bridge.gateway.keycloak")

# Sent, as read just before, with every update of the attributes (the user profile wants them).
PROFILE_FIELDS = ("username", "email", "firstName", "lastName")
# A write, checked and made again while concurrent writes undo it (Gateway._update).
WRITE_ATTEMPTS = 3
# An account's write lock: how long a holder keeps it at most, how long a writer waits.
LOCK_TTL, LOCK_WAIT = 10, 5.0


class WriteLocks(Protocol):
    """The shared store's locks (bridge.gateway.redis_counters, or the in-process one)."""

    async def acquire(self, key: str, value: str, ttl: int) -> bool: ...

    async def spend(self, key: str, value: str) -> bool: ...


class CallObserver(Protocol):
    """Told of every call to Keycloak once it ends: the operation (a name from a small
    fixed vocabulary, never a URL), how long it took, and the kind of its failure
    (errors.ERROR_KINDS) or None. The web bridge's metrics are one (bridge/web/metrics.py):
    the gateway knows no metrics library."""

    def __call__(self, operation: str, seconds: float, error: str | None) -> None: ...


class Gateway:
    def __init__(self, admin: KeycloakAdmin, openid: KeycloakOpenID) -> None:
        self._admin = admin
        self._openid = openid
        self._locks: WriteLocks | None = None
        self._observer: CallObserver | None = None

    def observe(self, observer: CallObserver) -> Self:
        """Report each call to `observer` (its latency and failures)."""
        self._observer = observer
        return self

    @contextlib.contextmanager
    def _call(self, operation: str) -> Iterator[None]:
        """One call to Keycloak: its failures as the domain's errors, timed for the
        observer if there is one."""
        started = time.perf_counter()
        failure: str | None = None
        try:
            with domain_errors():
                yield
        except Exception as error:
            failure = error_kind(error)
            raise
        finally:
            if self._observer is not None:
                self._observer(operation, time.perf_counter() - started, failure)

    def serialize_writes(self, locks: WriteLocks) -> Self:
        """Writes to one account take turns with every other gateway sharing `locks` (the
        bridge's replicas, the console, the jobs): Keycloak writes a user's whole row
        without a version check, so two overlapping writes lose one of them (measured)."""
        self._locks = locks
        return self

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
        with self._call("users.search"):
            users: list[Representation] = await self._admin.a_get_users(query)
        return users

    async def _by_username(self, username: str) -> Representation | None:
        users = await self._users({"username": username, "exact": "true", "first": 0, "max": 2})
        return users[0] if users else None

    async def _has_password(self, user_id: str) -> bool:
        with self._call("user.credentials"):
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
        with self._call("user.read"):
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
        """Read, change, and write back only what changed: `enabled`, `email`,
        `emailVerified`, `requiredActions` go only when they changed, so that a stale read
        can neither re-enable an account `expire` just disabled nor undo an address the
        student or staff just set. Attributes, when they changed, go as a whole set with
        the profile's own fields as read just before (measured on 26.5: with `attributes`,
        a missing first or last name is a 400 and a missing `email` is removed; without
        them, the rest of the account is kept): only those writes carry a stale email.

        Keycloak then writes the user's whole row, without a version check: a concurrent
        write of another field that read the row before ours committed puts our field back
        (measured). So the account is read again after the write, and what `mutate` still
        changes is written again: a lost write is noticed, and made again, unless it is lost
        again within those few milliseconds (docs/security.md)."""
        async with self._turn(user_id):
            for _ in range(WRITE_ATTEMPTS):
                changed = await self._changes(user_id, mutate)
                if not changed:
                    return
                with self._call("user.update"):
                    await self._admin.a_update_user(user_id, changed)
            if await self._changes(user_id, mutate):
                raise Conflict("concurrent writes kept undoing this one")

    @contextlib.asynccontextmanager
    async def _turn(self, user_id: str) -> AsyncIterator[None]:
        """This account's write lock, if the gateway shares one: waited for up to
        LOCK_WAIT seconds, then the write goes anyway (a stuck holder must not stop
        writes; its lock lapses after LOCK_TTL)."""
        if self._locks is None:
            yield
            return
        key, token = f"write:{user_id}", secrets.token_hex(16)
        deadline = time.monotonic() + LOCK_WAIT
        try:
            held = await self._locks.acquire(key, token, LOCK_TTL)
            while not held and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                held = await self._locks.acquire(key, token, LOCK_TTL)
        except ServiceUnavailable:
            # The store down must not stop the desk (an activation key needs no counter):
            # the write goes without its turn, read back as every write is.
            log.warning("the shared store is down: an account is written without its turn")
            yield
            return
        if not held:
            log.warning("an account's write lock was busy for %s s: writing anyway", LOCK_WAIT)
        try:
            yield
        finally:
            if held:
                with contextlib.suppress(ServiceUnavailable):
                    await self._locks.spend(key, token)

    async def _changes(
        self, user_id: str, mutate: Callable[[Representation], None]
    ) -> Representation:
        """What `mutate` changes in the account as it is now: the payload of its write."""
        with self._call("user.read"):
            rep = await self._admin.a_get_user(user_id)
        before = copy.deepcopy(rep)
        rep.setdefault("attributes", {})
        mutate(rep)
        repair_single_values(rep)
        changed = {key: value for key, value in rep.items() if not _same(before.get(key), value)}
        if "attributes" in changed:
            changed = {**{k: rep[k] for k in PROFILE_FIELDS if k in rep}, **changed}
        return changed

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
        with self._call("action_mail.send"):
            await self._admin.a_send_update_account(
                user_id=account.id,
                payload=required_action_names(actions),
                client_id=client_id,
                lifespan=lifespan,
                redirect_uri=redirect_uri,
            )

    async def set_locale(self, account: Account, locale: str) -> None:
        """The account's language (Keycloak's `locale`): its mails, its required-action
        pages and the reminder follow it."""
        await self._update(account.id, lambda rep: put(rep, "locale", locale))

    async def set_activation_key(
        self, account: Account, key: str, actions: tuple[RequiredAction, ...]
    ) -> None:
        """The key becomes a temporary password; `actions` are added to what the first
        sign-in with it asks (bridge.flows.activation_keys decides which)."""
        with self._call("password.set"):
            await self._admin.a_set_user_password(account.id, key, temporary=True)

        def mutate(rep: Representation) -> None:
            current = required_actions_of(rep.get("requiredActions") or ())
            names = list(rep.get("requiredActions") or [])
            rep["requiredActions"] = names + required_action_names(
                [a for a in actions if a not in current]
            )

        await self._update(account.id, mutate)

    async def _ping(self) -> None:
        with self._call("token"):
            token = await self._openid.a_token(grant_type="client_credentials")
        if not token.get("access_token"):
            raise ServiceUnavailable("no access token in Keycloak's answer")


def _same(stored: object, wanted: object) -> bool:
    """Keycloak clears a field written empty, and reads it back absent: the same thing."""
    return stored == wanted or (stored in (None, "") and wanted in (None, ""))
