"""The web bridge's service account (view-users, view-events) for the staff console: what
a staff token cannot see (the target's roles, the events), asked only for an account the
staff member could open with their own token."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from bridge.domain.console import StaffRecord
from bridge.domain.errors import AccountNotFound, NotAllowed
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import STAFF_ROLE, get

HISTORY_EVENTS = 500


@dataclass(frozen=True)
class HistoryEntry:
    record: StaffRecord
    actor_id: str
    actor: str | None  # the staff member's username; None once their account is gone


class AuditReader(Gateway):
    _management_id: str | None = None  # read once, then kept by the instance

    async def is_staff_or_admin(self, user_id: str) -> bool:
        """Effective roles, groups included: the staff role, or any realm-management role
        (an administrator). The console never acts on those, whatever Keycloak allows.
        The bridge's service account may read members of `students` only: Keycloak
        refusing the read (403) says the account is none of them, so it counts as one."""
        try:
            with domain_errors():
                realm_roles = await self._admin.a_get_composite_realm_roles_of_user(user_id)
        except NotAllowed:
            return True
        if any(role.get("name") == STAFF_ROLE for role in realm_roles):
            return True
        with domain_errors():
            management = await self._realm_management_id()
            if management is None:
                return False
            client_roles = await self._admin.a_get_composite_client_roles_of_user(
                user_id, management
            )
        return bool(client_roles)

    async def _realm_management_id(self) -> str | None:
        """The realm-management client's id, read from our own role mappings: looking the
        client up would need a clients role that the bridge has no other use for."""
        if self._management_id is None:
            client_id = self._admin.connection.client_id
            me = await self._admin.a_get_user_id(f"service-account-{client_id}")
            if me is None:
                return None
            mappings = await self._admin.a_get_all_roles_of_user(me)
            client = (mappings.get("clientMappings") or {}).get("realm-management") or {}
            self._management_id = client.get("id")
        return self._management_id

    async def last_login(self, user_id: str) -> dt.datetime | None:
        with domain_errors():
            events = await self._admin.a_get_events(
                {"user": user_id, "type": "LOGIN", "first": 0, "max": 1}
            )
        if not events:
            return None
        return dt.datetime.fromtimestamp(events[0]["time"] / 1000, tz=dt.UTC)

    async def last_action_mail(self, user_id: str) -> dt.datetime | None:
        """When Keycloak last sent the account an action link (activation, lost password,
        the console's): the admin event of the send, so that nothing is written on the
        account for it (a write per mail, and one more stale write to fear)."""
        with domain_errors():
            events = await self._admin.a_get_admin_events(
                {
                    "resourcePath": f"users/{user_id}/execute-actions-email",
                    "operationTypes": "ACTION",
                    "first": 0,
                    "max": 1,
                }
            )
        if not events:
            return None
        return dt.datetime.fromtimestamp(events[0]["time"] / 1000, tz=dt.UTC)

    async def staff_history(self, user_id: str, limit: int = 50) -> list[HistoryEntry]:
        """Newest first: from
        Keycloak's admin events on the account, each record counted once, at the write that
        introduced it (later writes by anyone carry the same attribute along)."""
        with domain_errors():
            events = await self._admin.a_get_admin_events(
                {
                    "resourcePath": f"users/{user_id}",
                    "operationTypes": "UPDATE",
                    "first": 0,
                    "max": HISTORY_EVENTS,
                }
            )
        first_seen: dict[str, tuple[int, StaffRecord, str]] = {}
        for event in events:
            try:
                rep = json.loads(event.get("representation") or "{}")
            except ValueError:
                continue
            record = StaffRecord.decode(get(rep, "staff_action"))
            if record is None:
                continue
            key = record.encode()
            actor = (event.get("authDetails") or {}).get("userId") or ""
            if key not in first_seen or event["time"] < first_seen[key][0]:
                first_seen[key] = (event["time"], record, actor)
        entries = sorted(first_seen.values(), key=lambda item: item[0], reverse=True)[:limit]
        names: dict[str, str | None] = {}
        history = []
        for _, record, actor in entries:
            if record.by:
                history.append(HistoryEntry(record, actor, record.by))
                continue
            if actor not in names:  # a record written before it carried its author
                names[actor] = await self._username_of(actor)
            history.append(HistoryEntry(record, actor, names[actor]))
        return history

    async def _username_of(self, user_id: str) -> str | None:
        """None when gone, or out of the bridge's reach (a staff account)."""
        try:
            with domain_errors():
                return str((await self._admin.a_get_user(user_id))["username"])
        except (AccountNotFound, NotAllowed):
            return None
