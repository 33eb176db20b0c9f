"""The staff console's service account reading what is not the account itself: the
target's roles (to refuse staff and administrators), Keycloak's admin events (the staff
history, the last link sent) and its sign-in events. `view-events` is the one realm-wide,
read-only right a service account of ours holds (docs/security.md, "Least privilege")."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from keycloak.exceptions import KeycloakGetError, raise_error_from_response

from bridge.domain.console import StaffRecord
from bridge.domain.dashboard import FIRST_SIGN_INS, LINKS_OPENED, LOCKED, PASSWORDS_SET, paris_day
from bridge.domain.errors import AccountNotFound, NotAllowed
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.mapping import STAFF_ROLE, get

MANAGEMENT_CLIENT = "realm-management"

HISTORY_EVENTS = 500


@dataclass(frozen=True)
class HistoryEntry:
    record: StaffRecord
    actor_id: str
    actor: str | None  # the staff member's username; None once their account is gone


# The staff dashboard (docs/dashboard.md): counts of Keycloak's events.

EVENT_PAGE = 1000
EVENTS_MAX = 200_000  # per kind and period; beyond, the counts say they are partial
FIRST_LOGIN_CHECKS = 5_000  # accounts looked up for "first sign-in"; beyond, partial
LOOKUP_CONCURRENCY = 8
# Keycloak 26.5.6's words (found on the pinned version, tests/integration/test_dashboard.py):
# UPDATE_CREDENTIAL comes with it: counted once.
SAVED_PASSWORD_EVENT = "UPDATE_PASSWORD"  # noqa: S105 (an event type)
LINK_REFUSED = ("EXECUTE_ACTIONS_ERROR", "EXECUTE_ACTION_TOKEN_ERROR")  # used, expired
LINK_OPENED = "EXECUTE_ACTION_TOKEN"  # not recorded by 26.5.6 on success; counted if it is
LINK_ACTIONS = ("UPDATE_PASSWORD", "UPDATE_EMAIL", "CUSTOM_REQUIRED_ACTION")
LOCKOUTS = ("USER_DISABLED_BY_TEMPORARY_LOCKOUT", "USER_DISABLED_BY_PERMANENT_LOCKOUT")


@dataclass(frozen=True)
class EventCounts:
    """Paris day -> dashboard measure -> count; `partial` when a cap was reached."""

    days: dict[dt.date, dict[str, int]]
    partial: bool = False


class AuditReader(Gateway):
    async def is_staff_or_admin(self, user_id: str) -> bool:
        """Effective roles, groups and composites included: the staff role, or any
        realm-management role (an administrator). The console never acts on those,
        whatever Keycloak allows. Its service account may read members of `students` only
        (and no administrator, realm_setup.py): Keycloak refusing the read (403) says the
        account is none of them, so it counts as one."""
        try:
            with self._call("user.roles"):
                realm_roles = await self._admin.a_get_composite_realm_roles_of_user(user_id)
                if any(role.get("name") == STAFF_ROLE for role in realm_roles):
                    return True
                # The admin console's own listing of a user's effective client roles: the
                # one that needs no client id (a service account of ours may not look
                # clients up). Internal to Keycloak, so tested on the pinned version.
                connection = self._admin.connection
                answer = await connection.a_raw_get(
                    f"admin/realms/{connection.realm_name}/ui-ext/effective-roles/users/{user_id}",
                    first=0,
                    max=1000,
                )
                listed = raise_error_from_response(answer, KeycloakGetError)
                client_roles = listed if isinstance(listed, list) else []
        except NotAllowed:
            return True
        return any(role.get("client") == MANAGEMENT_CLIENT for role in client_roles)

    async def last_login(self, user_id: str) -> dt.datetime | None:
        with self._call("events.read"):
            events = await self._admin.a_get_events(
                {"user": user_id, "type": "LOGIN", "first": 0, "max": 1}
            )
        if not events:
            return None
        return dt.datetime.fromtimestamp(events[0]["time"] / 1000, tz=dt.UTC)

    async def previous_login(self, user_id: str, session_id: str) -> dt.datetime | None:
        """The student's account page: the latest sign-in of another Keycloak session than
        `session_id` (the one the student is reading with; its own LOGIN events, one per
        application it signed in to, are skipped)."""
        with self._call("events.read"):
            events = await self._admin.a_get_events(
                {"user": user_id, "type": "LOGIN", "first": 0, "max": 50}
            )
        earlier = [e["time"] for e in events if e.get("sessionId") != session_id]
        if not earlier:
            return None
        return dt.datetime.fromtimestamp(max(earlier) / 1000, tz=dt.UTC)

    async def last_action_mail(self, user_id: str) -> dt.datetime | None:
        """When Keycloak last sent the account an action link (activation, lost password,
        the console's): the admin event of the send, so that nothing is written on the
        account for it (a write per mail, and one more stale write to fear)."""
        with self._call("admin_events.read"):
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
        with self._call("admin_events.read"):
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
            with self._call("user.read"):
                return str((await self._admin.a_get_user(user_id))["username"])
        except (AccountNotFound, NotAllowed):
            return None

    # --- the staff dashboard: counts only; user ids never leave the call ---------------

    async def _events(
        self, types: tuple[str, ...], start: dt.datetime, end: dt.datetime
    ) -> tuple[list[dict[str, Any]], bool]:
        found: list[dict[str, Any]] = []
        query = {
            "type": list(types),
            "dateFrom": str(int(start.timestamp() * 1000)),
            "dateTo": str(int(end.timestamp() * 1000) - 1),
        }
        while len(found) < EVENTS_MAX:
            with self._call("events.read"):
                page = await self._admin.a_get_events(
                    {**query, "first": len(found), "max": EVENT_PAGE}
                )
            found += page
            if len(page) < EVENT_PAGE:
                return found, False
        return found, True

    async def dashboard_counts(
        self, start: dt.datetime, end: dt.datetime, *, skip_clients: frozenset[str]
    ) -> EventCounts:
        """Links used, passwords set, first sign-ins and lockouts between start and end.
        `skip_clients`: sign-ins that are not students' (the staff console's)."""
        days: dict[dt.date, dict[str, int]] = {}

        def count(event: dict[str, Any], measure: str) -> None:
            day = paris_day(dt.datetime.fromtimestamp(event["time"] / 1000, dt.UTC))
            days.setdefault(day, {})
            days[day][measure] = days[day].get(measure, 0) + 1

        wanted = (SAVED_PASSWORD_EVENT, LINK_OPENED, *LINK_REFUSED, *LINK_ACTIONS, *LOCKOUTS)
        events, partial = await self._events(tuple(dict.fromkeys(wanted)), start, end)
        link_sessions: set[str] = set()
        for event in events:
            kind, details = event.get("type"), event.get("details") or {}
            if kind == SAVED_PASSWORD_EVENT:
                count(event, PASSWORDS_SET)
            if kind in LOCKOUTS:
                count(event, LOCKED)
            if kind == LINK_OPENED or kind in LINK_REFUSED:
                count(event, LINKS_OPENED)
            # A required action done from a mailed link: its session, once (a sign-in's
            # required actions carry the sign-in's auth_type, a link's do not).
            elif kind in LINK_ACTIONS and "custom_required_action" in details:
                session = details.get("code_id") or str(event["time"])
                if "auth_type" not in details and session not in link_sessions:
                    link_sessions.add(session)
                    count(event, LINKS_OPENED)
        logins, logins_partial = await self._events(("LOGIN",), start, end)
        first_in_period: dict[str, dict[str, Any]] = {}
        for event in logins:
            user = event.get("userId")
            if not user or event.get("clientId") in skip_clients:
                continue
            if user not in first_in_period or event["time"] < first_in_period[user]["time"]:
                first_in_period[user] = event
        users = list(first_in_period)[:FIRST_LOGIN_CHECKS]
        gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

        async def signed_in_before(user: str) -> bool:
            async with gate:
                with self._call("events.read"):
                    earlier = await self._admin.a_get_events(
                        {
                            "user": user,
                            "type": "LOGIN",
                            "dateTo": str(int(start.timestamp() * 1000) - 1),
                            "first": 0,
                            "max": 1,
                        }
                    )
            return bool(earlier)

        before = await asyncio.gather(*(signed_in_before(user) for user in users))
        for user, known in zip(users, before, strict=True):
            if not known:
                count(first_in_period[user], FIRST_SIGN_INS)
        partial = partial or logins_partial or len(first_in_period) > FIRST_LOGIN_CHECKS
        return EventCounts(days, partial)
