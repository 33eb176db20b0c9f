"""The one place that speaks to Keycloak.

Speaks the product's language (find_by_username, provision_student, ...) and turns
python-keycloak's verb-typed exceptions into the domain errors of bridge.domain.errors,
so that pages and jobs never see an HTTP status.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import (
    KeycloakAuthenticationError,
    KeycloakConnectionError,
    KeycloakError,
)

from bridge.domain.accounts import Account, StudentRecord
from bridge.domain.console import StaffRecord
from bridge.domain.errors import (
    AccountNotFound,
    Conflict,
    NotAllowed,
    Rejected,
    ServiceUnavailable,
)
from bridge.domain.lifecycle import valid_until
from bridge.domain.ratelimits import DailyCount, incremented

# User-profile attribute names (declared in realm/um-realm.json).
ATTR_INE = "ine"
ATTR_STUDENT_NUMBER = "supannEtuId"
ATTR_INSTITUTIONAL_EMAIL = "institutionalEmail"
ATTR_AFFILIATION = "eduPersonAffiliation"
ATTR_LAST_ENROLLMENT_YEAR = "lastEnrollmentYear"
ATTR_VALID_UNTIL = "validUntil"
# Rate-limit counters, admin-only (bridge.domain.ratelimits)
ATTR_MAILS_SENT = "umMailsSent"
ATTR_LAST_MAIL_AT = "umLastMailAt"
ATTR_INE_FAILURES = "umIneFailures"
ATTR_REMINDER_SENT_FOR = "umReminderSentFor"
# The latest staff console action (bridge.domain.console.StaffRecord), admin-only
ATTR_STAFF_ACTION = "umStaffAction"
STUDENTS_GROUP = "/students"
STAFF_ROLE = "staff"
# The fine-grained admin permission that lets staff manage the members of `students`
CONSOLE_PERMISSION = "Staff manage students"
CONSOLE_POLICY = "Has the staff role"


def _error_body(error: KeycloakError) -> tuple[str | None, str]:
    """Keycloak's message key (e.g. invalidPasswordMinLengthMessage, error-invalid-date)
    and its human description, from an error response body."""
    body: Any = error.response_body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    with contextlib.suppress(ValueError, TypeError):
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            key = parsed.get("error") or parsed.get("errorMessage")
            description = parsed.get("error_description") or parsed.get("errorMessage") or ""
            return (str(key) if key else None), str(description)
    return None, str(body or error.error_message)


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Translate Keycloak failures into domain errors (and nothing else)."""
    try:
        yield
    except (KeycloakConnectionError, KeycloakAuthenticationError) as error:
        # A refused service-account secret is an outage for the student, not their fault.
        raise ServiceUnavailable("Keycloak unreachable or credentials refused") from error
    except KeycloakError as error:
        status = error.response_code
        key, description = _error_body(error)
        if status == 404:
            raise AccountNotFound(description) from error
        if status == 403:
            raise NotAllowed(description) from error
        if status == 409:
            raise Conflict(description) from error
        if status is not None and 400 <= status < 500:
            # The code is Keycloak's message key: pages map it to their own explanation.
            raise Rejected(description, code=key) from error
        raise ServiceUnavailable(f"Keycloak answered {status}") from error


def _first(attributes: dict[str, list[str]], name: str) -> str | None:
    values = attributes.get(name) or []
    return values[0] if values else None


def _instant(raw: str | None) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return value if value is None or value.tzinfo else None


def account_from_representation(rep: dict[str, Any], *, has_password: bool = False) -> Account:
    attributes: dict[str, list[str]] = rep.get("attributes") or {}
    year = _first(attributes, ATTR_LAST_ENROLLMENT_YEAR)
    until = _first(attributes, ATTR_VALID_UNTIL)
    return Account(
        id=rep["id"],
        username=rep["username"],
        enabled=bool(rep.get("enabled")),
        first_name=rep.get("firstName") or "",
        last_name=rep.get("lastName") or "",
        rescue_email=rep.get("email") or None,
        rescue_email_verified=bool(rep.get("emailVerified")),
        ine=_first(attributes, ATTR_INE),
        student_number=_first(attributes, ATTR_STUDENT_NUMBER),
        institutional_email=_first(attributes, ATTR_INSTITUTIONAL_EMAIL),
        last_enrollment_year=int(year) if year and year.isdigit() else None,
        valid_until=dt.date.fromisoformat(until) if until else None,
        required_actions=tuple(rep.get("requiredActions") or ()),
        has_password=has_password,
        mails_sent=DailyCount.parse(_first(attributes, ATTR_MAILS_SENT)),
        last_mail_at=_instant(_first(attributes, ATTR_LAST_MAIL_AT)),
        ine_failures=DailyCount.parse(_first(attributes, ATTR_INE_FAILURES)),
    )


def representation_from_record(record: StudentRecord, *, enabled: bool) -> dict[str, Any]:
    attributes: dict[str, list[str]] = {ATTR_AFFILIATION: list(record.affiliations)}
    if record.student_number:
        attributes[ATTR_STUDENT_NUMBER] = [record.student_number]
    if record.ine:
        attributes[ATTR_INE] = [record.ine]
    if record.institutional_email:
        attributes[ATTR_INSTITUTIONAL_EMAIL] = [record.institutional_email]
    if record.last_enrollment_year is not None:
        attributes[ATTR_LAST_ENROLLMENT_YEAR] = [str(record.last_enrollment_year)]
        attributes[ATTR_VALID_UNTIL] = [valid_until(record.last_enrollment_year).isoformat()]
    rep: dict[str, Any] = {
        "username": record.username,
        "firstName": record.first_name,
        "lastName": record.last_name,
        "enabled": enabled,
        "attributes": attributes,
    }
    if record.rescue_email:
        # Given by the student at enrollment; the activation link proves it.
        rep["email"] = record.rescue_email
        rep["emailVerified"] = False
    return rep


# StudentRecord field -> how a provisioning change is written into a representation
def _apply_change(rep: dict[str, Any], name: str, value: object) -> None:
    attributes = rep.setdefault("attributes", {})
    if name == "first_name":
        rep["firstName"] = value
    elif name == "last_name":
        rep["lastName"] = value
    elif name == "rescue_email":
        rep["email"] = value
        rep["emailVerified"] = False
    elif name == "enabled":
        rep["enabled"] = value
    else:
        attribute = {
            "institutional_email": ATTR_INSTITUTIONAL_EMAIL,
            "ine": ATTR_INE,
            "student_number": ATTR_STUDENT_NUMBER,
            "last_enrollment_year": ATTR_LAST_ENROLLMENT_YEAR,
            "valid_until": ATTR_VALID_UNTIL,
        }[name]
        text = value.isoformat() if isinstance(value, dt.date) else str(value)
        attributes[attribute] = [text]


class KeycloakGateway:
    def __init__(self, admin: KeycloakAdmin, openid: KeycloakOpenID) -> None:
        self._admin = admin
        self._openid = openid
        self._client_id = str(admin.connection.client_id)
        self._management_id: str | None = None

    @classmethod
    def for_client(
        cls, server_url: str, realm: str, client_id: str, client_secret: str, timeout: int = 10
    ) -> KeycloakGateway:
        """Act as a confidential client's service account (the web bridge, the jobs)."""
        connection = KeycloakOpenIDConnection(
            server_url=server_url,
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            timeout=timeout,
        )
        openid = KeycloakOpenID(
            server_url=server_url,
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            timeout=timeout,
        )
        return cls(KeycloakAdmin(connection=connection), openid)

    @classmethod
    def for_token(
        cls, server_url: str, realm: str, access_token: str, expires_in: int
    ) -> KeycloakGateway:
        """Act with a person's own access token (the staff console): Keycloak decides what
        they may do and names them in its admin events. The caller refreshes the token."""
        connection = KeycloakOpenIDConnection(
            server_url=server_url,
            realm_name=realm,
            user_realm_name=realm,
            client_id="bridge-console",
            token={"access_token": access_token, "expires_in": expires_in},
            timeout=10,
        )
        openid = KeycloakOpenID(server_url=server_url, realm_name=realm, client_id="bridge-console")
        return cls(KeycloakAdmin(connection=connection), openid)

    @classmethod
    def for_admin_user(
        cls, server_url: str, realm: str, username: str, password: str, user_realm: str = "master"
    ) -> KeycloakGateway:
        """Act as an administrator (dev tooling only: the demo loader)."""
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

    # --- health ------------------------------------------------------------------------

    async def ping(self) -> None:
        """Raise ServiceUnavailable unless Keycloak answers and grants our service token."""
        with domain_errors():
            token = await self._openid.a_token(grant_type="client_credentials")
        if not token.get("access_token"):
            raise ServiceUnavailable("no access token in Keycloak's answer")

    # --- accounts ----------------------------------------------------------------------

    async def find_by_username(self, username: str) -> Account | None:
        with domain_errors():
            users = await self._admin.a_get_users(
                {"username": username, "exact": "true", "first": 0, "max": 2}
            )
        return account_from_representation(users[0]) if users else None

    async def get_account(self, user_id: str) -> Account:
        with domain_errors():
            rep = await self._admin.a_get_user(user_id)
        return account_from_representation(rep)

    async def find_student(self, username: str) -> Account | None:
        """The account with what activation needs to know: whether it has a password."""
        with domain_errors():
            users = await self._admin.a_get_users(
                {"username": username, "exact": "true", "first": 0, "max": 2}
            )
            if not users:
                return None
            credentials = await self._admin.a_get_credentials(users[0]["id"])
        has_password = any(c.get("type") == "password" for c in credentials)
        return account_from_representation(users[0], has_password=has_password)

    async def find_by_ine(self, ine: str) -> Account | None:
        """The account whose INE this is (exact, case-insensitive); Conflict if several
        accounts share it, which the SIS should never produce."""
        with domain_errors():
            users = await self._admin.a_get_users(
                {"q": f"{ATTR_INE}:{ine}", "exact": "true", "first": 0, "max": 2}
            )
        if len(users) > 1:
            raise Conflict("several accounts share this INE")
        return await self.find_student(users[0]["username"]) if users else None

    async def issue_activation_key(self, account: Account, key: str) -> None:
        """The key becomes a temporary password: the first login with it forces a new
        password (UPDATE_PASSWORD) and the rescue-email check (UPDATE_EMAIL)."""
        with domain_errors():
            await self._admin.a_set_user_password(account.id, key, temporary=True)

        def mutate(rep: dict[str, Any]) -> None:
            actions = list(rep.get("requiredActions") or [])
            rep["requiredActions"] = actions + [
                a for a in ("UPDATE_PASSWORD", "UPDATE_EMAIL") if a not in actions
            ]

        await self._update(account.id, mutate)

    async def pending_students(self, page_size: int = 100) -> list[Account]:
        """Members of `students` who have no password yet (never activated, no key)."""
        found: list[Account] = []
        with domain_errors():
            group = await self._admin.a_get_group_by_path("/students")
            first = 0
            while True:
                members = await self._admin.a_get_group_members(
                    group["id"], {"first": first, "max": page_size}
                )
                for member in members:
                    credentials = await self._admin.a_get_credentials(member["id"])
                    if not any(c.get("type") == "password" for c in credentials):
                        found.append(account_from_representation(member))
                if len(members) < page_size:
                    return found
                first += page_size

    async def send_action_mail(
        self,
        account: Account,
        actions: Sequence[str],
        *,
        lifespan: int,
        client_id: str,
        redirect_uri: str,
    ) -> None:
        """Keycloak mails a link to the rescue address, valid `lifespan` seconds; single use
        when UPDATE_PASSWORD is among the actions. SMTP failure is ServiceUnavailable."""
        with domain_errors():
            await self._admin.a_send_update_account(
                user_id=account.id,
                payload=list(actions),
                client_id=client_id,
                lifespan=lifespan,
                redirect_uri=redirect_uri,
            )

    async def record_mail_sent(self, account: Account, now: dt.datetime, today: dt.date) -> None:
        def mutate(rep: dict[str, Any]) -> None:
            attributes = rep["attributes"]
            counter = DailyCount.parse(_first(attributes, ATTR_MAILS_SENT))
            attributes[ATTR_MAILS_SENT] = [str(incremented(counter, today))]
            attributes[ATTR_LAST_MAIL_AT] = [now.astimezone(dt.UTC).isoformat()]

        await self._update(account.id, mutate)

    async def record_ine_failure(self, account: Account, today: dt.date) -> None:
        def mutate(rep: dict[str, Any]) -> None:
            attributes = rep["attributes"]
            counter = DailyCount.parse(_first(attributes, ATTR_INE_FAILURES))
            attributes[ATTR_INE_FAILURES] = [str(incremented(counter, today))]

        await self._update(account.id, mutate)

    async def set_rescue_email(self, account: Account, address: str) -> None:
        """A new, unverified rescue address; opening the next action link verifies it."""

        def mutate(rep: dict[str, Any]) -> None:
            rep["email"] = address
            rep["emailVerified"] = False

        await self._update(account.id, mutate)

    async def _update(self, user_id: str, mutate: Callable[[dict[str, Any]], None]) -> None:
        """Read, change, write back the whole representation: Keycloak replaces the
        attribute set on PUT, so a partial one would drop the others."""
        with domain_errors():
            rep = await self._admin.a_get_user(user_id)
            rep.setdefault("attributes", {})
            mutate(rep)
            await self._admin.a_update_user(user_id, rep)

    async def provision_account(
        self, record: StudentRecord, *, enabled: bool = True, groups: Sequence[str] = ("students",)
    ) -> tuple[Account, bool]:
        """Create the account if absent; return (account, created). Never overwrites.

        Updates and re-enrollment belong to the provisioning job, not to this call.
        """
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

    # --- provisioning and lifecycle -------------------------------------------------------

    async def all_accounts(self, page_size: int = 1000) -> AsyncIterator[Account]:
        """Every account of the realm, page by page (for the provisioning index)."""
        first = 0
        while True:
            with domain_errors():
                page = await self._admin.a_get_users(
                    {"first": first, "max": page_size, "briefRepresentation": "false"}
                )
            for rep in page:
                yield account_from_representation(rep)
            if len(page) < page_size:
                return
            first += page_size

    async def find_by_student_number(self, student_number: str) -> Account | None:
        return await self._find_one_by(ATTR_STUDENT_NUMBER, student_number)

    async def find_account_by_ine(self, ine: str) -> Account | None:
        """Like find_by_ine, without the credential lookup that provisioning does not need."""
        return await self._find_one_by(ATTR_INE, ine)

    async def _find_one_by(self, attribute: str, value: str) -> Account | None:
        with domain_errors():
            users = await self._admin.a_get_users(
                {"q": f"{attribute}:{value}", "exact": "true", "first": 0, "max": 2}
            )
        if len(users) > 1:
            raise Conflict(f"several accounts share this {attribute}")
        return account_from_representation(users[0]) if users else None

    async def count_accounts(self) -> int:
        with domain_errors():
            return int(await self._admin.a_users_count())

    async def import_students(self, reps: Sequence[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        """Create users in one partial import (skipping usernames that exist); returns
        username -> (ADDED or SKIPPED, user id). One transaction per call in Keycloak."""
        with domain_errors():
            answer = await self._admin.a_partial_import_realm(
                str(self._admin.connection.realm_name),
                {"ifResourceExists": "SKIP", "users": list(reps)},
            )
        return {
            str(result.get("resourceName")): (str(result.get("action")), str(result.get("id")))
            for result in answer.get("results", [])
            if result.get("resourceType") == "USER"
        }

    async def create_student(self, rep: dict[str, Any]) -> None:
        """One user, one call: the naive path, kept as the benchmark's baseline."""
        with domain_errors():
            await self._admin.a_create_user(rep, exist_ok=False)

    async def apply_changes(self, user_id: str, changes: dict[str, tuple[object, object]]) -> None:
        """Write a provisioning plan's changes (names, emails, enrollment, enabled)."""

        def mutate(rep: dict[str, Any]) -> None:
            for name, (_, new) in changes.items():
                _apply_change(rep, name, new)

        await self._update(user_id, mutate)

    async def enabled_with_valid_until(self, day: dt.date, page_size: int = 500) -> list[Account]:
        """Enabled accounts whose validUntil is exactly `day` (an attribute search), in
        brief form: the callers re-read what they change, and loading every match's
        attributes in the listing would double the work."""
        found: list[Account] = []
        first = 0
        while True:
            with domain_errors():
                page = await self._admin.a_get_users(
                    {
                        "q": f"{ATTR_VALID_UNTIL}:{day.isoformat()}",
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
            if not rep.get("enabled"):
                return False
            rep["enabled"] = False
            await self._admin.a_update_user(account.id, rep)
            # Disabling does not end sessions: log out, so that refresh tokens die too.
            await self._admin.a_user_logout(account.id)
        return True

    async def reminder_state(self, account: Account) -> tuple[dt.date | None, str]:
        """The validUntil a reminder was last sent for, and the student's locale."""
        with domain_errors():
            rep = await self._admin.a_get_user(account.id)
        attributes = rep.get("attributes") or {}
        sent_for = _first(attributes, ATTR_REMINDER_SENT_FOR)
        try:
            day = dt.date.fromisoformat(sent_for) if sent_for else None
        except ValueError:
            day = None
        return day, _first(attributes, "locale") or "fr"

    async def mark_reminder_sent(self, account: Account, valid_until_date: dt.date) -> None:
        def mutate(rep: dict[str, Any]) -> None:
            rep["attributes"][ATTR_REMINDER_SENT_FOR] = [valid_until_date.isoformat()]

        await self._update(account.id, mutate)

    # --- staff console -------------------------------------------------------------------
    # Called with the staff member's own token (for_token) unless said otherwise.

    async def search_accounts(
        self, text: str, by: str, first: int = 0, count: int = 20
    ) -> list[Account]:
        """`by`: "name" (identifier, names: Keycloak's search), "ine", "student_number".
        Keycloak returns only the accounts the caller may view."""
        query: dict[str, Any] = {"first": first, "max": count, "briefRepresentation": "false"}
        if by == "ine":
            query.update(q=f"{ATTR_INE}:{text}", exact="true")
        elif by == "student_number":
            query.update(q=f"{ATTR_STUDENT_NUMBER}:{text}", exact="true")
        else:
            query["search"] = text
        with domain_errors():
            users = await self._admin.a_get_users(query)
        return [account_from_representation(rep) for rep in users]

    async def console_account(self, user_id: str) -> tuple[Account, StaffRecord | None]:
        """The account and the latest staff record on it (NotAllowed outside `students`)."""
        with domain_errors():
            rep = await self._admin.a_get_user(user_id)
            credentials = await self._admin.a_get_credentials(user_id)
        has_password = any(c.get("type") == "password" for c in credentials)
        record = StaffRecord.decode(_first(rep.get("attributes") or {}, ATTR_STAFF_ACTION))
        return account_from_representation(rep, has_password=has_password), record

    async def record_staff_action(
        self, user_id: str, record: StaffRecord, changes: dict[str, Any] | None = None
    ) -> None:
        """One write that carries the record (and the action's own changes to the user's
        top-level fields): Keycloak's admin event for it names the staff member."""

        def mutate(rep: dict[str, Any]) -> None:
            rep.update(changes or {})
            rep["attributes"][ATTR_STAFF_ACTION] = [record.encode()]

        await self._update(user_id, mutate)

    async def reset_account(self, user_id: str, record: StaffRecord) -> None:
        """Credentials and pending actions gone, sessions ended; the profile, groups,
        attributes and rescue email stay. The student activates again."""
        with domain_errors():
            for credential in await self._admin.a_get_credentials(user_id):
                await self._admin.a_delete_credential(user_id, credential["id"])
        await self.record_staff_action(user_id, record, {"requiredActions": []})
        with domain_errors():
            await self._admin.a_user_logout(user_id)

    # With the web bridge's service account (view-users, view-events): what a staff token
    # cannot see (the target's roles, the events), only for an account the staff member
    # could open.

    async def is_staff_or_admin(self, user_id: str) -> bool:
        """Effective roles, groups included: the staff role, or any realm-management role
        (an administrator). The console never acts on those, whatever Keycloak allows."""
        with domain_errors():
            realm_roles = await self._admin.a_get_composite_realm_roles_of_user(user_id)
            if any(role.get("name") == STAFF_ROLE for role in realm_roles):
                return True
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
            me = await self._admin.a_get_user_id(f"service-account-{self._client_id}")
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

    async def staff_history(self, user_id: str, limit: int = 50) -> list[tuple[StaffRecord, str]]:
        """(record, staff username), newest first: from Keycloak's admin events on the
        account, each record counted once, at the write that introduced it (later writes
        by anyone carry the same attribute along)."""
        with domain_errors():
            events = await self._admin.a_get_admin_events(
                {
                    "resourcePath": f"users/{user_id}",
                    "operationTypes": "UPDATE",
                    "first": 0,
                    "max": 500,
                }
            )
        first_seen: dict[str, tuple[int, StaffRecord, str]] = {}
        for event in events:
            try:
                rep = json.loads(event.get("representation") or "{}")
            except ValueError:
                continue
            record = StaffRecord.decode(_first(rep.get("attributes") or {}, ATTR_STAFF_ACTION))
            if record is None:
                continue
            key = record.encode()
            actor = (event.get("authDetails") or {}).get("userId") or ""
            if key not in first_seen or event["time"] < first_seen[key][0]:
                first_seen[key] = (event["time"], record, actor)
        entries = sorted(first_seen.values(), key=lambda item: item[0], reverse=True)[:limit]
        names: dict[str, str] = {}
        history = []
        for _, record, actor in entries:
            if actor not in names:
                names[actor] = await self._username_of(actor)
            history.append((record, names[actor]))
        return history

    async def _username_of(self, user_id: str) -> str:
        try:
            with domain_errors():
                return str((await self._admin.a_get_user(user_id))["username"])
        except AccountNotFound:
            return f"(compte supprimé {user_id[:8]})"

    # With an administrator's token (dev stack, tests, deployment step): the fine-grained
    # admin permission behind the console. Idempotent.

    async def ensure_console_permissions(self) -> None:
        with domain_errors():
            client = await self._admin.a_get_client_id("admin-permissions")
            if client is None:
                raise Rejected("admin permissions are not enabled on the realm")
            policies = {p["name"] for p in await self._admin.a_get_client_authz_policies(client)}
            if CONSOLE_POLICY not in policies:
                role = await self._admin.a_get_realm_role(STAFF_ROLE)
                await self._admin.a_create_client_authz_role_based_policy(
                    client,
                    {
                        "name": CONSOLE_POLICY,
                        "description": "Members of a group with the realm role staff",
                        "logic": "POSITIVE",
                        "roles": [{"id": role["id"], "required": True}],
                    },
                )
            permissions = {
                p["name"] for p in await self._admin.a_get_client_authz_permissions(client)
            }
            if CONSOLE_PERMISSION not in permissions:
                group = await self._admin.a_get_group_by_path(STUDENTS_GROUP)
                await self._admin.a_create_client_authz_scope_permission(
                    {
                        "name": CONSOLE_PERMISSION,
                        "description": "The staff console: view and manage students only",
                        "resourceType": "Groups",
                        "resources": [group["id"]],
                        "scopes": ["view-members", "manage-members"],
                        "policies": [CONSOLE_POLICY],
                        "decisionStrategy": "UNANIMOUS",
                    },
                    client,
                )
