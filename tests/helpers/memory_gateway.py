"""An in-memory stand-in for the gateway, honouring the protocols bridge.flows declare:
for unit tests of the flows' logic only. It proves nothing about Keycloak; the
integration tests do that against a real server."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.console import StaffRecord
from bridge.domain.errors import Conflict, NotAllowed, Rejected, ServiceUnavailable
from bridge.flows.lost_password import Notice
from bridge.gateway.keycloak import Imported, NewAccount


@dataclass
class MemoryGateway:
    accounts: dict[str, Account] = field(default_factory=dict)
    mails: list[tuple[str, tuple[RequiredAction, ...], int, str, str]] = field(default_factory=list)
    records: list[tuple[str, StaffRecord]] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    smtp_down: bool = False
    refuse_sends: bool = False  # the identity provider refuses (a 400): not an outage
    lookups_down: bool = False  # the identity provider does not answer a search
    calls: list[str] = field(default_factory=list)
    changes: list[tuple[str, dict[str, tuple[object, object]]]] = field(default_factory=list)
    # Provisioning: identifiers whose creation the identity provider refuses (a 400, with
    # its reason), and accounts it lists but refuses to the jobs (a 403: also in staff).
    refused_creations: dict[str, str] = field(default_factory=dict)
    out_of_reach: set[str] = field(default_factory=set)

    def add(self, account: Account) -> Account:
        self.accounts[account.id] = account
        return account

    def _change(self, user_id: str, **changes: Any) -> None:
        self.accounts[user_id] = dataclasses.replace(self.accounts[user_id], **changes)

    # LinkSender
    async def send_action_mail(
        self,
        account: Account,
        actions: tuple[RequiredAction, ...],
        *,
        lifespan: int,
        client_id: str,
        redirect_uri: str,
    ) -> None:
        self.calls.append("send_action_mail")
        if self.smtp_down:
            raise ServiceUnavailable("SMTP down")
        if self.refuse_sends:
            raise Rejected("User is disabled")
        self.mails.append((account.id, actions, lifespan, client_id, redirect_uri))

    async def set_locale(self, account: Account, locale: str) -> None:
        self.calls.append("set_locale")
        self._change(account.id, locale=locale)

    # RescueEmailWriter
    async def set_rescue_email(self, account: Account, address: str) -> None:
        self.calls.append("set_rescue_email")
        self._change(account.id, rescue_email=address, rescue_email_verified=False)

    async def restore_rescue_email(
        self, account: Account, address: str | None, *, verified: bool
    ) -> None:
        self.calls.append("restore_rescue_email")
        self._change(account.id, rescue_email=address or None, rescue_email_verified=verified)

    async def reload(self, account: Account) -> Account | None:
        return self.accounts.get(account.id)

    # KeySetter
    async def set_activation_key(
        self, account: Account, key: str, actions: tuple[RequiredAction, ...]
    ) -> None:
        self.calls.append("set_activation_key")
        self.keys[account.id] = key
        current = self.accounts[account.id]
        pending = current.required_actions + tuple(
            a for a in actions if a not in current.required_actions
        )
        self._change(account.id, has_password=True, required_actions=pending)

    # StaffAuthority
    async def record(self, user_id: str, record: StaffRecord) -> None:
        self.records.append((user_id, record))

    async def set_verified_rescue_email(
        self, user_id: str, address: str, record: StaffRecord
    ) -> None:
        self._change(user_id, rescue_email=address, rescue_email_verified=True)
        await self.record(user_id, record)

    async def reenable(self, user_id: str, record: StaffRecord) -> None:
        self._change(user_id, enabled=True)
        await self.record(user_id, record)

    async def reset_account(self, user_id: str, record: StaffRecord) -> None:
        self._change(user_id, has_password=False, required_actions=())
        await self.record(user_id, record)

    # what bridge.flows.provisioning writes with
    async def import_students(
        self, accounts: list[NewAccount], slots: object = None
    ) -> dict[str, Imported]:
        results = {}
        for new in accounts:
            if new.record.username in self.refused_creations:
                reason = self.refused_creations[new.record.username]
                results[new.record.username] = Imported(False, None, refused=reason)
                continue
            taken = next(
                (a for a in self.accounts.values() if a.username == new.record.username), None
            )
            if taken is not None:
                # As Keycloak's 409: who holds it is identifier_holder's to say.
                results[new.record.username] = Imported(created=False, user_id=None)
                continue
            user_id = f"u{len(self.accounts) + 1}"
            record = new.record
            self.add(
                Account(
                    user_id,
                    record.username,
                    new.enabled,
                    first_name=record.first_name,
                    last_name=record.last_name,
                    student_number=record.student_number,
                    ine=record.ine,
                    has_password=new.key is not None,
                    required_actions=new.key_actions,
                )
            )
            if new.key is not None:
                self.keys[user_id] = new.key
            results[record.username] = Imported(created=True, user_id=user_id)
        return results

    async def apply_changes(
        self, user_id: str, changes: dict[str, tuple[object, object]]
    ) -> tuple[str, ...]:
        if user_id in self.out_of_reach:
            raise NotAllowed("HTTP 403 Forbidden")
        self.changes.append((user_id, changes))
        return ()

    async def find_student(self, username: str) -> Account | None:
        if self.lookups_down:
            raise ServiceUnavailable("Keycloak down")
        return next((a for a in self.accounts.values() if a.username == username), None)

    async def identifier_holder(self, username: str) -> Account | None:
        self.calls.append("identifier_holder")
        return await self.find_student(username)

    async def has_password(self, user_id: str) -> bool:
        self.calls.append("has_password")
        if user_id in self.out_of_reach:
            raise NotAllowed("HTTP 403 Forbidden")
        return self.accounts[user_id].has_password

    async def find_by_ine(self, ine: str) -> Account | None:
        if self.lookups_down:
            raise ServiceUnavailable("Keycloak down")
        found = [a for a in self.accounts.values() if (a.ine or "").upper() == ine.upper()]
        if len(found) > 1:
            raise Conflict("several accounts share this ine")
        return found[0] if found else None


@dataclass
class MemoryNotices:
    """bridge.flows.lost_password's NoticeSender: what the SMTP relay would have sent."""

    sent: list[tuple[str, Notice]] = field(default_factory=list)
    smtp_down: bool = False

    async def send_notice(self, account: Account, notice: Notice) -> None:
        if self.smtp_down:
            raise ServiceUnavailable("SMTP relay down")
        self.sent.append((account.rescue_email or "", notice))


@dataclass
class MemoryChangeNotices:
    """bridge.flows.rescue_email.ChangeNotices: what would have been mailed, or a relay
    that is down."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (username, to, new)
    down: bool = False

    async def rescue_email_replaced(self, account: Account, previous: str, new: str) -> None:
        if self.down:
            raise ServiceUnavailable("SMTP relay down")
        self.sent.append((account.username, previous, new))
